"""The scoring conventions have one home: every relative score (Δm% point and intervals, the paired tests'
statistics, rliable normalised scores, the tuning objective) goes through ``mmbench.scoring.relative_change``,
so replacing that kernel changes all of them; and each shared constant is defined once."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mmbench import scoring, vocabulary
from mmbench.data.spec import TaskInfo
from mmbench.grid.objective import objective
from mmbench.leaderboard.analysis import Analysis
from mmbench.leaderboard.load import Configuration
from mmbench.leaderboard.references import Reference
from mmbench.leaderboard.stats.aggregates import normalised_scores, summarise_kind
from mmbench.leaderboard.stats.delta import delta_m
from mmbench.leaderboard.stats.intervals import Interval
from mmbench.leaderboard.stats.paired import paired_test
from mmbench.leaderboard.stats.relative import relative_score, welch_interval

COLUMNS = pd.MultiIndex.from_tuples([("c", "accuracy"), ("r", "mae")], names=["task", "metric"])


def _frame(rows: list[tuple[float, float]], seeds: list[int]) -> pd.DataFrame:
    return pd.DataFrame(rows, index=pd.Index(seeds, name="seed"), columns=COLUMNS)


def _config(key: str, tasks: tuple[str, ...], test: pd.DataFrame, weighting: str | None = None) -> Configuration:
    family = "mt-sm" if len(tasks) > 1 else "st-sm"
    return Configuration(key=key, dataset="toy", family=family, modalities=("a",), tasks=tasks,
                         encoders=(("a", "mlp"),), aligner=None, fuser=None, weighting=weighting, training="{}",
                         seeds=list(test.index), test=test)


def _baseline(seeds: list[int]) -> Reference:
    """Single-task baselines on c (accuracy) and r (mae), one configuration each, on ``seeds``."""
    frame = _frame([(0.70 + 0.01 * s, 1.00 + 0.02 * s) for s in seeds], seeds)
    parts = [(("c",), _config("st-c", ("c",), frame[["c"]])), (("r",), _config("st-r", ("r",), frame[["r"]]))]
    return Reference(frame.mean(axis=0), "exact", [c for _, c in parts], parts)


def _row(seeds: list[int], bonus: float = 0.0) -> pd.DataFrame:
    return _frame([(0.74 + bonus + 0.013 * s, 0.95 - bonus + 0.017 * s) for s in seeds], seeds)


def consumers() -> dict[str, Any]:
    """The output of every consumer of the kernel on small fixed data."""
    seeds = [0, 1, 2, 3, 4, 5]
    base = _baseline(seeds)
    row = _row(seeds)
    mt = _config("mt", ("c", "r"), row, "ew")
    unpaired = _row([0, 1, 2, 3, 7, 8])
    ew, uw = Analysis(mt, baseline=base), Analysis(_config("mt-uw", ("c", "r"), _row(seeds, 0.01), "uw"), baseline=base)
    scores = normalised_scores([ew, uw], "weighting")
    x, y = row.to_numpy(), base.frame("test").to_numpy()
    coef = np.array([50.0, -50.0])
    return {
        "delta_m": delta_m(row, base.values).to_numpy(),
        "paired interval": relative_score(row, mt, base).interval,
        "welch interval": welch_interval(unpaired, base),
        "test statistic": paired_test(x, y, coef).effect,
        "permutation statistic": paired_test(x, y, coef, den=y).p_signflip,
        "normalised scores": np.concatenate([scores[v][c] for v in sorted(scores) for c in sorted(scores[v])]),
        "rliable aggregate": summarise_kind(scores, "weighting", "toy", n_resamples=50).values[1].iqm.value,
        "tuning objective": objective({"c": 0.8, "r": 0.9}, {"c": "accuracy", "r": "mae"}, {"c": 0.7, "r": 1.0}),
    }


def _numbers(value: Any) -> np.ndarray:
    """An interval as (mean, low, high); anything else as an array."""
    if isinstance(value, Interval):
        return np.array([value.mean, value.low, value.high])
    return np.asarray(value, dtype=float)


def test_every_consumer_goes_through_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    before = consumers()
    original = scoring.relative_change
    # |kernel| + 1: changes every value, and makes swapping a pair (which flips the kernel's sign against a fixed
    # denominator) leave the permutation statistic unchanged, so the permutation p-value moves to 1
    monkeypatch.setattr(scoring, "relative_change", lambda *a, **k: np.abs(original(*a, **k)) + 1.0)
    after = consumers()
    assert before["permutation statistic"] < 0.05 and after["permutation statistic"] == 1.0
    for name, value in before.items():
        assert not np.allclose(_numbers(after[name]), _numbers(value), equal_nan=True), f"{name} ignores the kernel"


def test_kernel_and_its_slopes() -> None:
    assert scoring.relative_change(0.8, 0.5) == pytest.approx(0.6)
    assert scoring.relative_change(0.8, 1.0, scoring.direction("mae")) == pytest.approx(0.2)  # lower is better
    assert scoring.relative_change(0.8, 0.5, 2.0, denominator=0.25) == pytest.approx(2.4)
    new, base, h = 0.8, 0.5, 1e-6
    d_new, d_base = scoring.relative_change_slopes(new, base, -3.0)
    def r(n: float, b: float) -> float:
        return scoring.relative_change(n, b, -3.0)

    assert d_new == pytest.approx((r(new + h, base) - r(new - h, base)) / (2 * h))
    assert d_base == pytest.approx((r(new, base + h) - r(new, base - h)) / (2 * h))
    assert scoring.normalised_score(np.array([0.9, 1.1]), 1.0, "mae") == pytest.approx([10.0, -10.0])


def test_directions_and_main_metrics_have_one_home() -> None:
    assert set(scoring.MAIN_METRIC) == set(vocabulary.TASK_TYPES)
    assert {t: TaskInfo("x", t, 1).main_metric for t in vocabulary.TASK_TYPES} == scoring.MAIN_METRIC
    assert scoring.direction("mae") == scoring.direction("rmse") == -1 and scoring.direction("accuracy") == 1
    assert scoring.main_metric(["macro_f1", "accuracy"]) == "accuracy" and scoring.main_metric(["rmse", "mae"]) == "mae"
    assert scoring.main_metric(["zeta", "alpha"]) == "alpha"
    with pytest.raises(ValueError):
        scoring.main_metric([])
    assert set(vocabulary.FAMILY_TITLES) == set(vocabulary.FAMILIES)


def test_tuning_objective_is_delta_m_of_the_main_metrics() -> None:
    value = objective({"c": 0.8, "r": 0.9}, {"c": "accuracy", "r": "mae"}, {"c": 0.7, "r": 1.0})
    assert value == pytest.approx(100 * ((0.8 - 0.7) / 0.7 + (1.0 - 0.9) / 1.0) / 2)
    assert objective({"r": 0.9}, {"r": "mae"}) == pytest.approx(-0.9)
    assert math.isnan(objective({}, {}))
