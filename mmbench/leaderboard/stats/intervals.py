"""Intervals over seeds: Student-t confidence intervals, kept inside a metric's range.

- Interval: mean ± t_{0.975, n−1} · s/√n (``scipy.stats.t.interval`` with the standard error of the mean).
- The leaderboard's rule (:func:`bounded_interval`): an interval needs at least :data:`MIN_N` = 3 values — with
  two seeds t_{0.975, 1} = 12.7 and the interval says nothing (``0.769 ± 1.348`` on an accuracy); fewer values
  give the mean with ``(n=2)`` and no bounds. With three or more, the bounds are clipped to the metric's range
  (accuracy, F1, recall, MRR in [0, 1]; MAE, RMSE ≥ 0) and the interval is marked ``clipped``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
#: the fewest values an interval on a leaderboard is computed from
MIN_N = 3
#: metrics that live in [0, 1]; :data:`NON_NEGATIVE` live in [0, ∞)
UNIT_RANGE = ("accuracy", "macro_f1", "micro_f1", "mrr", "recall", "precision", "f1")
NON_NEGATIVE = ("mae", "rmse", "mse")


@dataclass(frozen=True)
class Interval:
    """A mean over seeds and its confidence interval (``nan`` bounds when there are too few values)."""

    mean: float
    low: float
    high: float
    n: int
    #: True when a bound was moved to the edge of the metric's range
    clipped: bool = False

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    @property
    def width(self) -> float:
        return self.high - self.low

    @property
    def has_bounds(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)


NO_INTERVAL = Interval(math.nan, math.nan, math.nan, 0)


def t_interval(values: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE, min_n: int = 2) -> Interval:
    """Mean and Student-t interval with n−1 degrees of freedom; ``nan`` values are ignored; bounds are ``nan``
    with fewer than ``min_n`` values."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n < max(2, min_n):
        return Interval(mean, math.nan, math.nan, n)
    sem = float(stats.sem(x))
    if sem == 0.0:  # every seed identical: scipy would return nan for a zero scale
        return Interval(mean, mean, mean, n)
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=sem)
    return Interval(mean, float(low), float(high), n)


def metric_range(metric: str) -> tuple[float, float]:
    """The values a metric can take: ``(0, 1)`` for accuracy/F1/recall/MRR, ``(0, inf)`` for MAE/RMSE, else unbounded."""
    name = metric.split("@")[0]
    if name in UNIT_RANGE or name.split("_")[-1] in UNIT_RANGE:
        return 0.0, 1.0
    if metric in NON_NEGATIVE:
        return 0.0, math.inf
    return -math.inf, math.inf


def clip(iv: Interval, low: float, high: float) -> Interval:
    """``iv`` with its bounds moved inside ``[low, high]`` (``clipped`` set when one moved)."""
    if not iv.has_bounds:
        return iv
    lo, hi = max(iv.low, low), min(iv.high, high)
    return replace(iv, low=lo, high=hi, clipped=iv.clipped or lo != iv.low or hi != iv.high)


def bounded_interval(values: Sequence[float] | np.ndarray, metric: str | None = None,
                     confidence: float = CONFIDENCE) -> Interval:
    """The leaderboard's interval: none below :data:`MIN_N` values, clipped to ``metric``'s range."""
    iv = t_interval(values, confidence, min_n=MIN_N)
    return clip(iv, *metric_range(metric)) if metric else iv
