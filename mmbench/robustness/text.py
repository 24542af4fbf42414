"""Text perturbations on decoded text (``list[str]``).

- :class:`WordDropout`: every whitespace-separated word is dropped with probability ``level`` (word
  dropout, Iyyer et al. 2015, ACL; "drop words" in MultiBench's text imperfections, Liang et al. 2021).
- :class:`Typos`: every non-whitespace character is hit with probability ``level``; a hit is either a
  swap with the next character or a replacement by a different random lowercase letter (synthetic
  character noise after Belinkov & Bisk 2018, ICLR; "typos" in MultiBench).

Random numbers are drawn for all texts at once, in order, so the output is a function of the texts,
the level and the generator's seed only.
"""

from __future__ import annotations

import string

import torch

from mmbench.robustness.perturbations import Perturbation, as_texts

LETTERS = string.ascii_lowercase


class WordDropout(Perturbation):
    """Drop each word with probability ``level``; the kept words are joined by single spaces (so a perturbed
    text's whitespace is normalised), and a text whose every word is dropped becomes ``""``."""

    modality = "text"

    def apply(self, values: list[str], level: float, generator: torch.Generator) -> list[str]:
        texts = as_texts(values, "text-word-dropout")
        words = [t.split() for t in texts]
        keep = (torch.rand(sum(len(w) for w in words), generator=generator) >= level).tolist()
        out, i = [], 0
        for ws in words:
            out.append(" ".join(w for w, k in zip(ws, keep[i:i + len(ws)]) if k))
            i += len(ws)
        return out


class Typos(Perturbation):
    """Hit each non-whitespace character with probability ``level``. A hit is a swap with the next character
    with probability ``swap`` (when that character exists and is not whitespace; the pair then counts as
    one typo and the next character is not hit again), otherwise a replacement by one of the 25 lowercase
    letters that differ from it (26 for non-letters). So with ``swap=0`` exactly the hit characters change."""

    modality = "text"

    def __init__(self, swap: float = 0.5):
        if not 0.0 <= float(swap) <= 1.0:
            raise ValueError(f"text-typos: swap must lie in [0, 1], got {swap}")
        self.swap = float(swap)

    def _one(self, text: str, draws: list[list[float]], level: float) -> str:
        chars = list(text)
        i = 0
        while i < len(chars):
            hit, kind, pick = draws[i]
            if chars[i].isspace() or hit >= level:
                i += 1
                continue
            nxt = i + 1 < len(chars) and not chars[i + 1].isspace()
            if kind < self.swap and nxt:
                chars[i], chars[i + 1] = chars[i + 1], chars[i]
                i += 2
                continue
            choices = LETTERS.replace(chars[i].lower(), "") if chars[i].lower() in LETTERS else LETTERS
            chars[i] = choices[min(int(pick * len(choices)), len(choices) - 1)]
            i += 1
        return "".join(chars)

    def apply(self, values: list[str], level: float, generator: torch.Generator) -> list[str]:
        texts = as_texts(values, "text-typos")
        draws = torch.rand(sum(len(t) for t in texts), 3, generator=generator).tolist()
        out, i = [], 0
        for t in texts:
            out.append(self._one(t, draws[i:i + len(t)], level))
            i += len(t)
        return out
