"""Robustness scores (torch-free, so leaderboards can use them), after MultiBench (Liang et al. 2021,
"MultiBench: Multiscale Benchmarks for Multimodal Representation Learning", NeurIPS Datasets and Benchmarks;
``eval_scripts/robustness.py``).

For a curve of a task's main metric ``m(l)`` over perturbation levels ``l_0 < … < l_K`` with clean
(unperturbed) score ``c``:

- **relative robustness** — the area under the curve of the clean-relative score, normalised by the level
  range: ``R = ∫ r(l) dl / (l_K − l_0)`` (trapezoidal rule), with ``r(l) = m(l) / c`` when higher is better
  and ``r(l) = c / m(l)`` when lower is better (MAE, RMSE). ``R = 1``: no loss under the perturbation;
  smaller is less robust. For higher-is-better metrics this is MultiBench's area under the curve divided by
  ``c · (l_K − l_0)``; the inverted ratio keeps the same reading for errors. One level: ``R = r(l_0)``.
- **missing-modality drop** — ``c − m_missing`` (higher is better) or ``m_missing − c`` (lower is better), in
  the metric's units: positive = worse without the modality.
- **effective robustness** — ``R − R_ref``, against a reference configuration's relative robustness on the
  same curves (the leaderboard takes the late-fusion configuration of the same run). MultiBench measures
  against late fusion too, as ``Σ_l (m(l) − m(l_0)) − (m_LF(l) − m_LF(l_0))``; normalising by clean
  performance plays the role of its shift to a common start.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np


def relative_ratio(values: Sequence[float], clean: float, lower_is_better: bool) -> np.ndarray:
    """``m / c`` (higher is better) or ``c / m`` (lower is better) per level; ``nan`` where undefined."""
    v = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = clean / v if lower_is_better else v / clean
    return np.where(np.isfinite(r), r, np.nan)


def relative_robustness(levels: Sequence[float], values: Sequence[float], clean: float, lower_is_better: bool) -> float:
    """Normalised area under the clean-relative metric-vs-level curve (see the module docstring)."""
    x = np.asarray(levels, dtype=float)
    if len(x) != len(values) or len(x) == 0:
        raise ValueError(f"relative_robustness: {len(x)} levels but {len(values)} values")
    r = relative_ratio(values, clean, lower_is_better)
    if np.isnan(r).any():
        return math.nan
    if len(x) == 1:
        return float(r[0])
    return float(np.trapezoid(r, x) / (x[-1] - x[0]))


def missing_drop(clean: float, missing: float, lower_is_better: bool) -> float:
    """How much worse the metric gets without a modality (positive = worse)."""
    return float(missing - clean) if lower_is_better else float(clean - missing)


def effective_robustness(relative: Mapping[str, float], reference: Mapping[str, float]) -> float:
    """Mean over the curves both have of ``R − R_ref`` (``nan`` when they share none)."""
    shared = [k for k in relative if k in reference and math.isfinite(relative[k]) and math.isfinite(reference[k])]
    if not shared:
        return math.nan
    return float(np.mean([relative[k] - reference[k] for k in shared]))


def mean_finite(values: Sequence[float]) -> float:
    """Mean of the finite values (``nan`` when there are none)."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else math.nan
