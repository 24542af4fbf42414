"""Statistically tied tiers: in a table column, the rows whose difference from the column's best row is not
established (the ≈ mark; MTEB users ask for exactly this, embeddings-benchmark/mteb#5208).

Each row's per-seed values are paired with the best row's on the seeds both ran (same seed, same split); the
paired t-test (:func:`~mmbench.leaderboard.stats.paired.t_test_p`) of the differences is adjusted by
Benjamini–Hochberg over the column's rows; a row whose adjusted p exceeds α is tied with the best. Rows sharing
fewer than two seeds with the best cannot be tested and are not marked.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from mmbench.leaderboard.stats.comparisons import Comparison
from mmbench.leaderboard.stats.multiplicity import adjust
from mmbench.leaderboard.stats.paired import ALPHA, t_test_p


def tied_with_best(samples: Sequence[pd.Series | None], best: int, alpha: float = ALPHA) -> list[bool]:
    """Per row, whether it is tied with row ``best`` (its per-seed ``samples``, indexed by seed); ``best`` itself
    and untestable rows are ``False``."""
    ref = samples[best]
    p = np.full(len(samples), np.nan)
    if ref is not None:
        for i, s in enumerate(samples):
            if i == best or s is None:
                continue
            common = ref.index.intersection(s.index)
            d = (s.loc[common] - ref.loc[common]).dropna().to_numpy(dtype=float)
            if len(d) >= 2:
                p[i] = t_test_p(d)
    adjusted = adjust(p)
    return [bool(np.isfinite(q) and q > alpha) for q in adjusted]


def per_seed(c: Comparison | None) -> pd.Series | None:
    """A comparison's per-seed scores indexed by seed (what the tied-tier test pairs), or ``None``."""
    if c is None or c.result is None:
        return None
    return pd.Series(c.result.per_pair, index=c.seeds, dtype=float)


def tiers(values: Sequence[float], comparisons: Sequence[Comparison | None], alpha: float = ALPHA) -> list[float]:
    """Per row, ``1.0`` for the best row by ``values`` (higher is better) and the rows tied with it, ``2.0`` for
    rows established below it, ``nan`` for rows that cannot be placed (no value or no per-seed scores) — the
    same test as the markdown tables' ≈ mark (:func:`tied_with_best`), as a column the site shades."""
    v = np.asarray(values, dtype=float)
    samples = [per_seed(c) for c in comparisons]
    out = [math.nan] * len(v)
    finite = np.isfinite(v)
    if not finite.any():
        return out
    best = int(np.nanargmax(np.where(finite, v, -np.inf)))
    for i, tied in enumerate(tied_with_best(samples, best, alpha)):
        if i == best or tied:
            out[i] = 1.0
        elif finite[i] and samples[i] is not None:
            out[i] = 2.0
    return out
