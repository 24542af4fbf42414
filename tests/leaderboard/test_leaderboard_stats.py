"""Intervals against a hand computation, the n ≥ 3 rule and clipping to the metric's range."""

from __future__ import annotations

import math

import pytest

from mmbench.leaderboard.stats.intervals import t_interval


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


