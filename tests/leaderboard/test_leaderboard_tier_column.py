"""The ``tier`` column the site shades is the markdown ≈ mark's test, per (dataset, family) table."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from mmbench.leaderboard.stats.tiers import tiers


def _cmp(values: list[float]) -> SimpleNamespace:
    return SimpleNamespace(result=SimpleNamespace(per_pair=np.array(values)), seeds=list(range(len(values))))


def test_best_and_tied_rows_are_tier_one_and_clear_losers_tier_two() -> None:
    best = [5.0, 5.2, 4.9, 5.1, 5.0, 5.3, 4.8, 5.0]
    tied = [5.1, 4.9, 5.0, 5.2, 4.8, 5.2, 5.0, 4.9]  # noisy around the same mean: not established below
    worse = [1.0, 1.1, 0.9, 1.2, 1.0, 0.8, 1.1, 1.0]  # every seed far below
    values = [float(np.mean(best)), float(np.mean(tied)), float(np.mean(worse)), math.nan]
    out = tiers(values, [_cmp(best), _cmp(tied), _cmp(worse), None])
    assert out[:3] == [1.0, 1.0, 2.0]
    assert math.isnan(out[3])


def test_rows_without_values_are_not_placed() -> None:
    assert all(math.isnan(t) for t in tiers([math.nan, math.nan], [None, None]))
