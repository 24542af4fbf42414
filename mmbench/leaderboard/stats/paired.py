"""Paired tests on per-seed pairs: the paired t-test (the difference test) and the exact sign-flip permutation test.

Each comparison the leaderboard makes pairs a configuration X with a reference Y seed by seed (the same seed,
and the same data split when the grid redraws it). Per pair s a score is computed from the two metric vectors,

    v_s = Σ_k c_k · (x_{s,k} − y_{s,k}) / b_{s,k},

Δm%'s formula (``c_k = 100 · (−1)^{l_k} / (T · M_t)``; each term the kernel :func:`mmbench.scoring.relative_change`)
with denominators ``b`` = the reference itself (Δm% of X against Y) or a fixed baseline (the difference of two
Δm% against the same single-task baseline).

- **Paired t-test** (the difference test; ``scipy.stats.ttest_1samp`` of v against 0, which equals
  ``ttest_rel`` when v is a difference; Student 1908): assumes the v_s are independent and, under H0,
  symmetric about 0 and close enough to normal for the t distribution (at n = 10 the t-test keeps its level for
  symmetric per-seed differences; ``tests/leaderboard/test_leaderboard_power.py`` simulates it). It can reach
  any p from n = 2, unlike the exact sign-flip test. A constant v gives p = 1 when it is 0 (an exact clone) and
  p = 0 otherwise (a difference without noise).
- **Sign-flip permutation test** (robustness column ``p_signflip``; Fisher 1935, *The Design of Experiments*;
  Good 2005, *Permutation, Parametric and Bootstrap Tests of Hypotheses*): under H0 the two members of every pair
  are exchangeable, so each of the 2^n ways of swapping X and Y within pairs is equally likely. The statistic is
  the mean of v_s; ``scipy.stats.permutation_test(..., permutation_type="samples")`` enumerates every swap when
  2^n ≤ 9,999 (exact; n ≤ 13), else draws 9,999 with a seeded generator. Two-sided. With n pairs the smallest p
  it can give is 2/2^n (6 seeds: 0.031, 10: 0.002): no normality assumed, but too coarse to survive a
  multiplicity adjustment at the seed counts a benchmark affords (docs/leaderboards.md). When b is fixed,
  swapping a pair flips v_s's sign: this is the classic sign-flip test on the differences.
- **Effect**: the mean of v with its 95% Student-t interval (:func:`~mmbench.leaderboard.stats.intervals.bounded_interval`:
  none below three pairs), and the standardized effect d_z = mean / sd (Cohen's d for paired data).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from mmbench import scoring
from mmbench.leaderboard.stats.intervals import Interval, bounded_interval

ALPHA = 0.05
N_RESAMPLES = 9_999
PERMUTATION_SEED = 0
TEST_NAME = "paired t-test"
SIGNFLIP_NAME = "sign-flip permutation"


def min_p_value(n: int, n_resamples: int = N_RESAMPLES) -> float:
    """The smallest two-sided p-value the sign-flip test can give with ``n`` pairs: 2/2^n when exact (all
    2^n swaps enumerated), 2/(n_resamples + 1) when randomised; 1 for n = 0."""
    if n <= 0:
        return 1.0
    if 2 ** n <= n_resamples:
        return min(1.0, 2.0 / 2 ** n)
    return min(1.0, 2.0 / (n_resamples + 1))


def reachable(n: int, alpha: float = ALPHA) -> bool:
    """Whether the sign-flip test with ``n`` pairs can reach p ≤ ``alpha`` at all."""
    return min_p_value(n) <= alpha


def t_test_p(v: np.ndarray, popmean: float = 0.0, alternative: str = "two-sided") -> Any:
    """The one-sample t-test p of ``v`` against ``popmean`` along its last axis (``scipy.stats.ttest_1samp``; a
    float for 1-d ``v``, an array for a stack of samples); ``nan`` below two values. A constant sample (zero
    variance) is decided exactly: no evidence (p = 1) when it sits on ``popmean`` or on the null's side of it,
    p = 0 when it lies strictly on the alternative's side."""
    v = np.asarray(v, dtype=float)
    if v.shape[-1] < 2:
        out = np.full(v.shape[:-1], math.nan)
        return float(out) if out.ndim == 0 else out
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant samples: decided exactly below
        p = np.asarray(stats.ttest_1samp(v, popmean, axis=-1, alternative=alternative).pvalue, dtype=float)
    flat = np.ptp(v, axis=-1) == 0
    if flat.any():
        diff = v[..., 0] - popmean
        side = {"greater": diff > 0, "less": diff < 0}.get(alternative, diff != 0)
        p = np.where(flat, np.where(side, 0.0, 1.0), p)
    return float(p) if p.ndim == 0 else p


@dataclass(frozen=True)
class PairedTest:
    """The result of :func:`paired_test` (also stored on a leaderboard comparison)."""

    test: str
    n_pairs: int
    effect: Interval
    effect_size: float
    #: the paired t-test's two-sided p (the difference test)
    p_value: float
    #: the exact sign-flip permutation p (robustness column), and the smallest value it can take at n pairs
    p_signflip: float
    min_p: float
    exact: bool
    per_pair: tuple[float, ...] = field(default=())

    @property
    def testable(self) -> bool:
        """Whether the t-test is defined (at least two pairs)."""
        return self.n_pairs >= 2

    @property
    def sd(self) -> float:
        """The standard deviation of the per-pair scores (``nan`` below two pairs)."""
        return float(np.std(self.per_pair, ddof=1)) if self.n_pairs >= 2 else math.nan


def per_pair_scores(x: np.ndarray, y: np.ndarray, coef: np.ndarray, den: np.ndarray | None = None) -> np.ndarray:
    """v_s = Σ_k coef_k (x_{s,k} − y_{s,k}) / b_{s,k}, with b = ``den`` or, without it, y."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    d = y if den is None else np.broadcast_to(np.asarray(den, dtype=float), x.shape)
    return scoring.relative_change(x, y, denominator=d) @ np.asarray(coef, dtype=float)


def paired_test(x: np.ndarray, y: np.ndarray, coef: np.ndarray | None = None, den: np.ndarray | None = None,
                n_resamples: int = N_RESAMPLES, seed: int = PERMUTATION_SEED) -> PairedTest:
    """Test H0 "X and Y are exchangeable within each pair" on ``x``, ``y`` (``[n, k]`` metric vectors, or ``[n]``
    scores; row s of both is pair s). ``coef`` weights the k columns (default: 1 each, so v = x − y for
    scalar scores with ``den`` = 1); ``den`` (``[n, k]`` or ``[k]``) fixes the denominators, else y is used."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim == 1:
        x, y = x[:, None], y[:, None]
        if coef is None and den is None:
            den = np.ones(1)
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"paired_test needs two equally shaped [n, k] arrays, got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("paired_test needs finite scores (drop the pairs with a missing value first)")
    n, k = x.shape
    coef = np.ones(k) if coef is None else np.asarray(coef, dtype=float)
    fixed = None if den is None else np.broadcast_to(np.asarray(den, dtype=float), x.shape)
    v = per_pair_scores(x, y, coef, fixed)
    effect = bounded_interval(v)
    sd = float(np.std(v, ddof=1)) if n >= 2 else math.nan
    effect_size = float(np.mean(v)) / sd if n >= 2 and sd > 0 else math.nan
    exact = 2 ** n <= n_resamples
    if n == 0:
        return PairedTest(TEST_NAME, 0, effect, math.nan, math.nan, math.nan, 1.0, True)
    table = np.concatenate([x, y])

    def statistic(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        # a, b: which row of ``table`` is X's and which is Y's in each pair (swapped by the permutations)
        a, b = np.moveaxis(a, axis, -1), np.moveaxis(b, axis, -1)
        xa, yb = table[a], table[b]
        d = yb if fixed is None else fixed[a % n]
        return (scoring.relative_change(xa, yb, denominator=d) @ coef).mean(axis=-1)

    if np.all(v == 0) or n == 1:  # nothing to permute / one pair: both orders equally extreme
        p = 1.0
    else:
        res = stats.permutation_test((np.arange(n), np.arange(n) + n), statistic, permutation_type="samples",
                                     vectorized=True, n_resamples=n_resamples, alternative="two-sided",
                                     rng=np.random.default_rng(seed))
        p = float(min(1.0, res.pvalue))
    name = TEST_NAME + "; " + SIGNFLIP_NAME + (" (exact)" if exact else f" ({n_resamples} random swaps)")
    return PairedTest(name, n, effect, effect_size, t_test_p(v), p, min_p_value(n, n_resamples), exact,
                      tuple(float(s) for s in v))
