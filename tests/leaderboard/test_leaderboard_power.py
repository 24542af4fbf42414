"""The statistics of the declared-family protocol, checked: goldens against scipy (t-test, TOST, BH) and statsmodels
(power, MDE); a null simulation (symmetric per-seed differences, n = 10, a family of 20) bounding the type-I error
of the difference test and of TOST at the margin; a power simulation matching the analytic t-test power."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import TTestPower

from mmbench.leaderboard.stats.equivalence import detectable_d, mde, pooled_sd, t_test_power, tost_p
from mmbench.leaderboard.stats.multiplicity import adjust
from mmbench.leaderboard.stats.paired import paired_test, t_test_p

ALPHA = 0.05
N, FAMILY, REPS = 10, 20, 4000  # 80,000 tests per simulation: the standard error of a 5% rate is 0.08 points


def test_t_test_and_tost_goldens_against_scipy():
    v = np.array([0.4, -0.2, 0.9, 0.1, 0.3, 0.6, -0.1, 0.2, 0.5, 0.0])
    assert t_test_p(v) == pytest.approx(stats.ttest_1samp(v, 0.0).pvalue)
    assert paired_test(v + 1.0, np.ones(10)).p_value == pytest.approx(stats.ttest_rel(v + 1.0, np.ones(10)).pvalue)
    lower = stats.ttest_1samp(v, -1.0, alternative="greater").pvalue
    upper = stats.ttest_1samp(v, 1.0, alternative="less").pvalue
    assert tost_p(v, 1.0) == pytest.approx(max(lower, upper))
    assert tost_p(v, 1.0) < ALPHA < tost_p(v, 0.3)  # within ±1, not shown within ±0.3


def test_constant_differences_are_decided_exactly():
    # an exact clone: every per-seed difference 0 → equivalent at any margin, no difference; never nan
    assert tost_p(np.zeros(10), 1.0) == 0.0 and t_test_p(np.zeros(10)) == 1.0
    assert tost_p(np.full(10, 0.5), 1.0) == 0.0 and tost_p(np.full(10, 2.0), 1.0) == 1.0
    assert t_test_p(np.full(10, -3.0)) == 0.0 and t_test_p(np.full(10, -3.0), 0.0, "greater") == 1.0
    assert math.isnan(tost_p(np.array([0.2]), 1.0)) and math.isnan(t_test_p(np.array([0.2])))


def test_mde_and_power_goldens_against_statsmodels():
    power = TTestPower()
    for n, alpha in ((6, 0.05), (10, 0.05 / 20), (20, 0.001)):
        d = power.solve_power(effect_size=None, nobs=n, alpha=alpha, power=0.8, alternative="two-sided")
        assert detectable_d(n, alpha) == pytest.approx(d)
        assert mde(n, 2.5, alpha) == pytest.approx(2.5 * d)
        assert t_test_power(d, n, alpha) == pytest.approx(0.8, abs=1e-4)
    assert mde(10, 0.0, 0.05) == 0.0 and math.isnan(mde(1, 1.0, 0.05))
    a, b = np.array([1.0, 2.0, 4.0]), np.array([0.0, 1.0, 0.0, 3.0])
    expected = math.sqrt((2 * np.var(a, ddof=1) + 3 * np.var(b, ddof=1)) / 5)
    assert pooled_sd([a, b, np.array([7.0])]) == pytest.approx(expected)


def _bh_rejects(p: np.ndarray) -> np.ndarray:
    """BH inside each family (rows of ``p``), through the leaderboard's adjustment."""
    return np.array([adjust(row) <= ALPHA for row in p])


def test_null_simulation_keeps_the_type_one_error_of_both_tests():
    rng = np.random.default_rng(20260101)
    # symmetric, heavier-tailed than normal per-seed differences (Laplace), mean 0: H0 of the difference test
    v = rng.laplace(0.0, 1.0, size=(REPS, FAMILY, N))
    p = t_test_p(v)
    assert p.shape == (REPS, FAMILY)
    assert np.mean(p <= ALPHA) <= 0.06  # per comparison
    assert np.mean(_bh_rejects(p[:1000]).any(axis=1)) <= 0.06  # complete null: P(any BH rejection in a family)
    # TOST at the margin: a true mean of exactly +δ is not equivalent; the test must claim it at most α of the time
    margin = 1.0
    w = margin + rng.laplace(0.0, 1.0, size=(REPS, FAMILY, N))
    q = tost_p(w, margin)
    assert np.mean(q <= ALPHA) <= 0.06
    assert np.mean(_bh_rejects(q[:1000]).any(axis=1)) <= 0.06


def test_power_simulation_matches_the_analytic_power():
    rng = np.random.default_rng(7)
    d, alpha = 1.0, ALPHA
    v = rng.normal(d, 1.0, size=(REPS * FAMILY // 4, N))
    simulated = np.mean(t_test_p(v) <= alpha)
    analytic = t_test_power(d, N, alpha)
    assert analytic == pytest.approx(TTestPower().power(effect_size=d, nobs=N, alpha=alpha))
    assert abs(simulated - analytic) <= 0.05
    # the MDE is what it says: at d = detectable_d the simulated power is 80%
    level = alpha / FAMILY
    v = rng.normal(detectable_d(N, level), 1.0, size=(REPS * FAMILY // 4, N))
    assert abs(np.mean(t_test_p(v) <= level) - 0.8) <= 0.05
