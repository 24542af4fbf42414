"""Intervals against a hand computation, and the paired bootstrap probability of improvement."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmbench.leaderboard.stats import probability_of_improvement, t_interval


def test_t_interval_matches_hand_computation_with_closed_form_quantile():
    values = [0.70, 0.72, 0.75]
    # Student t with 2 dof has CDF 1/2 + t / (2 sqrt(2 + t^2)); solving for 0.975 gives t^2 = 1.805 / 0.0975.
    t_975 = math.sqrt(1.805 / 0.0975)
    mean = sum(values) / 3
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / 2)
    half = t_975 * sd / math.sqrt(3)
    iv = t_interval(values)
    assert iv.n == 3
    assert iv.mean == pytest.approx(mean, abs=1e-12)
    assert iv.low == pytest.approx(mean - half, abs=1e-9)
    assert iv.high == pytest.approx(mean + half, abs=1e-9)
    assert iv.half_width == pytest.approx(half, abs=1e-9)


def test_t_interval_one_seed_has_no_interval_and_constant_seeds_have_zero_width():
    one = t_interval([0.5])
    assert one.n == 1 and one.mean == 0.5 and math.isnan(one.low) and math.isnan(one.high)
    same = t_interval([0.3, 0.3, 0.3])
    assert (same.low, same.high) == (0.3, 0.3)
    empty = t_interval([math.nan])
    assert empty.n == 0 and math.isnan(empty.mean)


def test_probability_is_one_when_every_seed_improves_and_zero_when_every_seed_is_worse():
    x, y = [0.81, 0.79, 0.90], [0.80, 0.70, 0.85]
    assert probability_of_improvement(x, y) == 1.0
    assert probability_of_improvement(y, x) == 0.0
    assert probability_of_improvement([1.0], [0.5]) == 1.0
    assert probability_of_improvement([0.5, 0.5], [0.5, 0.5]) == 0.5


def test_probability_is_deterministic_under_its_seed_and_symmetric():
    x, y = [1.0, 0.2, 0.9, 0.4], [0.5, 0.6, 0.3, 0.45]
    p = probability_of_improvement(x, y)
    assert p == probability_of_improvement(x, y)
    assert 0.0 < p < 1.0
    assert p + probability_of_improvement(y, x) == pytest.approx(1.0)
    assert probability_of_improvement(x, y, seed=1) == probability_of_improvement(x, y, seed=1)


def test_probability_estimates_the_bootstrap_distribution():
    # d = [1, -3]: the mean of a resample is positive only when both draws pick the first seed (p = 1/4).
    assert probability_of_improvement([1.0, 0.0], [0.0, 3.0]) == pytest.approx(0.25, abs=0.03)


def test_probability_rejects_unpaired_input():
    with pytest.raises(ValueError):
        probability_of_improvement([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        probability_of_improvement(np.array([]), np.array([]))
