"""Multiple comparisons: p-values adjusted over a family of comparisons (:mod:`.families` declares them).

- ``bh`` (the default): Benjamini & Hochberg (1995), "Controlling the false discovery rate", JRSS B 57 —
  controls the expected share of false claims among the claims made (valid for independent or positively
  dependent tests); ``scipy.stats.false_discovery_control(p, method="bh")``.
- ``holm``: Holm (1979), "A simple sequentially rejective multiple test procedure", Scand. J. Statist. 6 —
  controls the probability of any false claim, under any dependence. SciPy has no Holm; it takes a few lines,
  written here: sort the m p-values, p_(i) ↦ max_{j ≤ i} min(1, (m − j + 1) p_(j)).

``nan`` entries (comparisons that could not be made) are left out of m and stay ``nan``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import stats

METHODS = {"bh": "Benjamini–Hochberg (false discovery rate)", "holm": "Holm (family-wise error rate)"}
DEFAULT = "bh"


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (same order as the input; finite values only)."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.maximum.accumulate(stepped)
    return out


def adjust(pvalues: Sequence[float] | np.ndarray, method: str = DEFAULT) -> np.ndarray:
    """Adjusted p-values by ``method`` (``bh`` or ``holm``), over the finite entries of ``pvalues``."""
    if method not in METHODS:
        raise ValueError(f"unknown adjustment {method!r}; choose one of {', '.join(METHODS)}")
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh") if method == "bh" else holm(p[ok])
    return out
