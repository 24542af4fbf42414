"""Statistics over seeds: Student-t confidence intervals and a paired bootstrap probability of improvement.

- Interval: mean ± t_{0.975, n−1} · s/√n (``scipy.stats.t.interval`` with the standard error of the mean).
- Probability of improvement: after Agarwal et al. (2021), "Deep Reinforcement Learning at the Edge of
  the Statistical Precipice", NeurIPS (the ``rliable`` library) — here paired by seed: the fraction of
  seeded bootstrap resamples of the seeds in which the mean per-seed difference X − Y is positive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
N_BOOTSTRAP = 10_000
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class Interval:
    """A mean over seeds and its confidence interval (``nan`` bounds when ``n < 2``)."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def t_interval(values: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE) -> Interval:
    """Mean and Student-t interval with n−1 degrees of freedom; ``nan`` values are ignored."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan, 1)
    sem = float(stats.sem(x))
    if sem == 0.0:  # every seed identical: scipy would return nan for a zero scale
        return Interval(mean, mean, mean, n)
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=sem)
    return Interval(mean, float(low), float(high), n)


def probability_of_improvement(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray,
                               n_bootstrap: int = N_BOOTSTRAP, seed: int = BOOTSTRAP_SEED) -> float:
    """Bootstrap probability that X beats Y, paired: ``x[i]`` and ``y[i]`` come from the same seed.

    Resamples the seeds with replacement ``n_bootstrap`` times (a seeded generator: deterministic) and
    returns the fraction of resamples whose mean difference is positive, ties counted half. Every seed
    improving gives 1.0; every seed worse gives 0.0.
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xs.ndim != 1 or xs.shape != ys.shape or len(xs) == 0 or np.isnan(xs - ys).any():
        raise ValueError("probability_of_improvement needs two equally long, non-empty, nan-free score vectors")
    d = xs - ys
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(n_bootstrap, len(d)))].mean(axis=1)
    return float(np.mean(means > 0) + 0.5 * np.mean(means == 0))
