"""``multidigits``: MultiMNIST (Sabour et al. 2017; the multitask version of Sener & Koltun 2018, NeurIPS)
built on the UCI digits, plus a noisy text modality.

- The 1,797 digit scans are split 70/15/15 first (seeded), then paired *within* each split, so no
  scan appears in two splits: a seeded order of the split's scans gives the left digits, the same
  order shifted by one gives the right digits (every scan is used once on each side, never with itself).
- image: a 12x12 canvas; the left digit's 8x8 scan is placed at the top-left corner, the right digit's
  at the bottom-right (a 4-pixel shift each way), overlapping in the middle; pixel-wise maximum.
  :func:`pair_within` and :func:`overlay` are the MultiMNIST construction, shared with ``multifashion``
  (:mod:`mmbench.data.real.multifashion`: 28x28 items on a 36x36 canvas).
- text: names the left digit's parity and the right digit's range (below five / five or more), each
  correct with probability ``1 - noise`` and otherwise random; it never names either digit.
- tasks: ``left`` and ``right`` (10 classes each).
- size: 1,257 / 270 / 270 pairs.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from mmbench.data.digits import N_DIGITS, check_noise, digit_images, noisy_words
from mmbench.data.splits import split_sizes, stratified_split
from mmbench.data.spec import DatasetSpec, ModalitySpec, TaskSpec

CANVAS = 12
_PARITY = ("even", "odd")
_RANGE = ("below five", "five or more")


def pair_within(idx: Any, rng: Any) -> tuple[Any, Any]:
    """MultiMNIST pairing within one split's items ``idx``: a seeded order gives the left items and the same
    order shifted by one the right items (each item once on each side, never with itself)."""
    import numpy as np

    order = idx[rng.permutation(len(idx))]
    return order, np.roll(order, 1)


def overlay(left: Any, right: Any, canvas: int = CANVAS) -> Any:
    """``uint8 [N, canvas, canvas]``: the ``[N, h, w]`` items ``left`` at the top-left corner and ``right`` at the
    bottom-right corner, overlapping in the middle (pixel-wise maximum)."""
    import numpy as np

    h, w = left.shape[1:]
    out = np.zeros((len(left), canvas, canvas), dtype=np.uint8)
    out[:, :h, :w] = left
    out[:, canvas - h:, canvas - w:] = np.maximum(out[:, canvas - h:, canvas - w:], right)
    return out


def build_multidigits(seed: int = 0, noise: float = 0.3, split_seed: int | None = None) -> Any:
    """The ``multidigits`` DatasetDict (deterministic from ``seed``; the scans' split from ``split_seed``,
    default ``seed``)."""
    import datasets
    import numpy as np
    from PIL import Image

    images, labels = digit_images()
    rng = np.random.default_rng([seed, 2])
    features = datasets.Features({
        "image": datasets.Image(),
        "text": datasets.Value("string"),
        "left": datasets.ClassLabel(names=[str(d) for d in range(10)]),
        "right": datasets.ClassLabel(names=[str(d) for d in range(10)]),
    })
    out = {}
    for role, idx in stratified_split(labels, seed if split_seed is None else split_seed, test_seed=seed).items():
        left, right = pair_within(idx, rng)
        canvases = overlay(images[left], images[right])
        parity = noisy_words(labels[left] % 2, noise, rng)
        large = noisy_words((labels[right] >= 5).astype(np.int64), noise, rng)
        texts = [f"the left digit is {_PARITY[p]}, the right one is {_RANGE[r]}" for p, r in zip(parity.tolist(), large.tolist())]
        out[role] = datasets.Dataset.from_dict({
            "image": [Image.fromarray(c) for c in canvases],
            "text": texts,
            "left": labels[left].tolist(),
            "right": labels[right].tolist(),
        }, features=features, split=role)
    return datasets.DatasetDict(out)


def multidigits_spec(seed: int = 0, noise: float = 0.3, split_seed: int | None = None) -> DatasetSpec:
    """The built-in ``multidigits`` dataset (MultiMNIST, Sener & Koltun 2018, on the UCI digits)."""
    from mmbench.data.builtin import INFO

    noise = check_noise(noise)
    n_train, n_val, n_test = split_sizes(N_DIGITS)
    return DatasetSpec(
        name="multidigits",
        modalities={"image": ModalitySpec(("image",), "image"), "text": ModalitySpec(("text",), "text")},
        tasks={"left": TaskSpec("left", "classification"), "right": TaskSpec("right", "classification")},
        builder=partial(build_multidigits, seed=int(seed), noise=noise, split_seed=split_seed),
        metadata={
            "description": INFO["multidigits"]["description"],
            "reference": INFO["multidigits"]["reference"],
            "size": {"total": N_DIGITS, "train": n_train, "validation": n_val, "test": n_test},
            "splits": f"digit scans split 70/15/15 stratified by digit (test split of seed={seed}, train/validation drawn with "
                      f"split_seed={seed if split_seed is None else split_seed}) "
                      "before pairing; pairs never cross splits",
            "ground_truth": {
                "left": f"image (top-left digit, partly occluded); text gives its parity, correct with probability "
                        f"{1 - noise / 2:.2f}",
                "right": f"image (bottom-right digit, partly occluded); text gives its range, correct with "
                         f"probability {1 - noise / 2:.2f}",
            },
            "options": {"seed": int(seed), "noise": noise, "split_seed": split_seed},
        },
    )
