"""Closed-form goldens for the paired tests: the exact sign-flip p-values (every sign pattern written out; the
``p_signflip`` robustness column), the smallest p a number of seeds allows, the paired t-test (the difference test:
``p_value``) and the effect."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from mmbench.leaderboard.stats.paired import ALPHA, min_p_value, paired_test, reachable


def test_three_seeds_every_sign_pattern_by_hand():
    d = np.array([1.0, 2.0, 3.0])
    # the 8 sign patterns and the mean of the signed differences (observed: +2)
    means = {(+1, +1, +1): 6 / 3, (+1, +1, -1): 0 / 3, (+1, -1, +1): 2 / 3, (+1, -1, -1): -4 / 3,
             (-1, +1, +1): 4 / 3, (-1, +1, -1): -2 / 3, (-1, -1, +1): 0 / 3, (-1, -1, -1): -6 / 3}
    assert all(np.isclose(np.mean(np.array(s) * d), m) for s, m in means.items())
    # two-sided: 2 · min(#{T ≥ 2}, #{T ≤ 2}) / 8 = 2 · 1/8
    r = paired_test(d, np.zeros(3))
    assert r.p_signflip == pytest.approx(0.25) and r.min_p == pytest.approx(0.25) and r.exact
    assert not reachable(3) and r.testable and r.n_pairs == 3  # the sign-flip floor; the t-test needs only 2 pairs
    # one seed going the other way: T_obs = (1 + 2 − 3)/3 = 0 → every pattern is at least as extreme on one side
    assert paired_test(np.array([1.0, 2.0, -3.0]), np.zeros(3)).p_signflip == pytest.approx(1.0)
    # d = (1, −2, 3): T_obs = 2/3; #{T ≥ 2/3} = {(+,+,+)=2, (+,−,+)=2/3, (−,+,+)=4/3, (−,−,+)=0 no, ...}
    signed = {s: np.mean(np.array(s) * np.array([1.0, 2.0, 3.0])) for s in itertools.product((1, -1), repeat=3)}
    upper = sum(1 for v in signed.values() if v >= 2 / 3 - 1e-12)
    assert upper == 3
    assert paired_test(np.array([1.0, -2.0, 3.0]), np.zeros(3)).p_signflip == pytest.approx(2 * 3 / 8)


def test_two_and_one_seeds():
    # n = 2, d = (1, 3): sums ±1 ± 3 = {4, −2, 2, −4}; T_obs = 4 is the unique maximum → p = 2 · 1/4
    assert paired_test(np.array([1.0, 3.0]), np.zeros(2)).p_signflip == pytest.approx(0.5)
    # n = 1: both orders are equally extreme
    one = paired_test(np.array([0.9]), np.array([0.1]))
    assert one.p_signflip == 1.0 and one.min_p == 1.0 and math.isnan(one.p_value) and not one.effect.has_bounds


@pytest.mark.parametrize("d", [[0.5, -1.0, 2.0, 0.25], [1.0, 2.0, 3.0, 4.0, -0.5], [3.0, 1.0, 4.0, 1.5, 5.0, 9.0]])
def test_exact_p_equals_full_enumeration(d):
    d = np.asarray(d)
    null = np.array([np.mean(np.array(s) * d) for s in itertools.product((1, -1), repeat=len(d))])
    obs = d.mean()
    tol = 1e-12
    expected = min(1.0, 2 * min(np.mean(null >= obs - tol), np.mean(null <= obs + tol)))
    assert paired_test(d, np.zeros(len(d))).p_signflip == pytest.approx(expected)


def test_min_p_and_the_too_few_seeds_rule():
    assert [min_p_value(n) for n in range(1, 8)] == pytest.approx([1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625])
    assert [reachable(n) for n in range(1, 8)] == [False] * 5 + [True, True]
    assert min_p_value(0) == 1.0
    assert min_p_value(20) == pytest.approx(2 / 10_000)  # randomised beyond 2^13 swaps
    # six seeds all improving reach exactly the minimum, and it is below α
    r = paired_test(np.arange(1.0, 7.0), np.zeros(6))
    assert r.p_signflip == pytest.approx(1 / 32) and r.testable and r.p_signflip <= ALPHA


def test_swapping_metric_vectors_within_pairs_uses_the_partner_as_denominator():
    # Δm%-style per-pair score: v = 100 (x − y)/y; swapping x and y gives 100 (y − x)/x (not −v)
    x = np.array([[0.9], [0.8], [0.85]])
    y = np.array([[0.6], [0.7], [0.5]])
    r = paired_test(x, y, np.array([100.0]))
    null = []
    for swap in itertools.product((False, True), repeat=3):
        a = np.where(np.array(swap)[:, None], y, x)
        b = np.where(np.array(swap)[:, None], x, y)
        null.append(np.mean(100 * (a - b) / b))
    obs = np.mean(100 * (x - y) / y)
    null = np.array(null)
    assert obs == pytest.approx(r.effect.mean)
    assert r.p_signflip == pytest.approx(2 * min(np.mean(null >= obs - 1e-9), np.mean(null <= obs + 1e-9)))
    assert r.p_signflip == pytest.approx(0.25)  # the observed is the largest of the 8


def test_fixed_denominators_make_it_the_sign_flip_of_the_differences():
    x = np.array([[0.80, 1.0], [0.75, 1.2], [0.90, 0.9], [0.70, 1.1]])
    y = np.array([[0.78, 1.1], [0.76, 1.1], [0.85, 1.0], [0.69, 1.0]])
    base = np.array([0.7, 1.0])
    coef = np.array([50.0, -50.0])  # accuracy ↑, MAE ↓
    r = paired_test(x, y, coef, base)
    v = ((x - y) / base) @ coef
    assert r.per_pair == pytest.approx(tuple(v))
    assert r.p_signflip == pytest.approx(paired_test(v, np.zeros(4)).p_signflip)


def test_t_test_effect_and_standardised_effect():
    x, y = np.array([0.81, 0.79, 0.90, 0.84]), np.array([0.80, 0.70, 0.85, 0.80])
    r = paired_test(x, y)
    d = x - y
    assert r.p_value == pytest.approx(stats.ttest_rel(x, y).pvalue)
    assert r.effect.mean == pytest.approx(d.mean())
    low, high = stats.t.interval(0.95, 3, loc=d.mean(), scale=stats.sem(d))
    assert (r.effect.low, r.effect.high) == (pytest.approx(low), pytest.approx(high))
    assert r.effect_size == pytest.approx(d.mean() / d.std(ddof=1))
    same = paired_test(np.ones(3), np.ones(3))
    assert same.p_signflip == 1.0 and same.p_value == 1.0 and same.effect.mean == 0.0


def test_rejects_unpaired_or_missing_input():
    with pytest.raises(ValueError):
        paired_test(np.array([1.0, 2.0]), np.array([1.0]))
    with pytest.raises(ValueError):
        paired_test(np.array([1.0, math.nan]), np.array([0.0, 0.0]))
