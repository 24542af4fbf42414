"""Equivalence and power of the paired t-test: TOST against a margin, and the minimum detectable effect.

- **TOST** (two one-sided tests; Schuirmann 1987, J. Pharmacokinet. Biopharm. 15; Lakens 2017, "Equivalence
  tests", Soc. Psychol. Personal. Sci. 8): X is *equivalent* to its reference within ±δ when both
  H0⁻: μ ≤ −δ and H0⁺: μ ≥ +δ are rejected, μ the mean per-seed score. Each is a one-sided paired t-test
  (``scipy.stats.ttest_1samp(v, ∓δ, alternative="greater"/"less")``); the TOST p is the larger of the two. The
  margin plays the role of the ROPE of Benavoli et al. (2017), "Time for a change: a tutorial for comparing
  multiple classifiers through Bayesian analysis", JMLR 18. Per-seed scores that are all 0 (an exact clone)
  are equivalent with p = 0 (:func:`~mmbench.leaderboard.stats.paired.t_test_p` decides constant scores exactly).
- **Minimum detectable effect** (MDE): the smallest true mean per-seed score the two-sided paired t-test detects
  with 80% power at level α, ``d · σ`` with d from ``statsmodels.stats.power.TTestPower().solve_power`` (Cohen
  1988, *Statistical Power Analysis*) and σ the family's pooled per-seed SD (:func:`pooled_sd`).
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from mmbench.leaderboard.stats.paired import t_test_p

POWER = 0.8


def tost_p(v: np.ndarray, margin: float) -> Any:
    """The TOST p-value of the per-seed scores ``v`` (along the last axis: a float for 1-d ``v``) for equivalence
    within ±``margin``; ``nan`` below 2 values; 0 for a sample of zeros (an exact clone)."""
    v = np.asarray(v, dtype=float)
    p = np.maximum(np.asarray(t_test_p(v, -margin, "greater")), np.asarray(t_test_p(v, margin, "less")))
    return float(p) if p.ndim == 0 else p


def pooled_sd(samples: Iterable[np.ndarray]) -> float:
    """√(Σ (n_i − 1) s_i² / Σ (n_i − 1)) over the samples with at least two values (``nan`` when none)."""
    num = den = 0.0
    for v in samples:
        v = np.asarray(v, dtype=float)
        if len(v) >= 2:
            num += (len(v) - 1) * float(np.var(v, ddof=1))
            den += len(v) - 1
    return math.sqrt(num / den) if den else math.nan


def detectable_d(n: int, alpha: float, power: float = POWER) -> float:
    """The standardized effect d (mean / SD of the per-seed scores) the two-sided paired t-test with ``n``
    pairs detects with ``power`` at level ``alpha`` (statsmodels ``TTestPower``); ``nan`` below 2 pairs."""
    if n < 2 or not 0 < alpha < 1:
        return math.nan
    from statsmodels.stats.power import TTestPower

    return float(TTestPower().solve_power(effect_size=None, nobs=n, alpha=alpha, power=power,
                                          alternative="two-sided"))


def t_test_power(d: float, n: int, alpha: float) -> float:
    """The power of the two-sided paired t-test at standardized effect ``d`` with ``n`` pairs (statsmodels)."""
    from statsmodels.stats.power import TTestPower

    return float(TTestPower().power(effect_size=d, nobs=n, alpha=alpha, alternative="two-sided"))


def mde(n: int, sd: float, alpha: float, power: float = POWER) -> float:
    """The minimum detectable effect in the score's units: :func:`detectable_d` · ``sd`` (0 when ``sd`` is 0)."""
    if not math.isfinite(sd):
        return math.nan
    return detectable_d(n, alpha, power) * sd
