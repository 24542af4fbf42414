"""Intervals: none below three seeds, clipped to the metric's range, and Δm% intervals that include the
baseline's variance (paired by seed, or the delta-method Welch interval) — with and without that variance."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from mmbench.leaderboard.board import build
from mmbench.leaderboard.report.format import fmt_interval
from mmbench.leaderboard.stats.intervals import bounded_interval, metric_range, t_interval
from mmbench.store import ResultStore

from leaderboard_helpers import config, put, result  # type: ignore[import-not-found]


def acc(v: float) -> dict[str, float]:
    return {"accuracy": v}


def test_two_seeds_give_no_interval_instead_of_one_wider_than_the_metric():
    old = t_interval([0.663, 0.8752])
    assert fmt_interval(old) == "0.769 ± 1.348"  # what the review saw
    iv = bounded_interval([0.663, 0.8752], "accuracy")
    assert fmt_interval(iv) == "0.769 (n=2)" and not iv.has_bounds


def test_intervals_are_clipped_to_the_metric_range():
    iv = bounded_interval([0.99, 1.0, 0.96], "accuracy")
    assert iv.high == 1.0 and iv.clipped and iv.low == pytest.approx(t_interval([0.99, 1.0, 0.96]).low)
    assert fmt_interval(iv) == "0.983 [0.932, 1.000]"
    mae = bounded_interval([0.01, 0.2, 0.02], "mae")
    assert mae.low == 0.0 and mae.clipped
    inside = bounded_interval([0.5, 0.52, 0.51], "macro_f1")
    assert not inside.clipped and "±" in fmt_interval(inside)
    assert metric_range("a2b_recall@5") == (0.0, 1.0) and metric_range("mrr") == (0.0, 1.0)
    assert metric_range("rmse") == (0.0, math.inf) and metric_range("delta") == (-math.inf, math.inf)


def _store(path: Path, row: list[tuple[float, float]], base: dict[str, list[float]], seeds_base: int = 3) -> Path:
    """mt-sm a on tasks c, d (accuracy only): ``row`` per seed; single-task baselines per task per seed."""
    with ResultStore(path) as store:
        for s, (c, d) in enumerate(row):
            put(store, config("mt-sm", ["a"], ["c", "d"], weighting="ew", seed=s), result({"c": acc(c), "d": acc(d)}))
        for task, values in base.items():
            for s, v in enumerate(values[:seeds_base]):
                put(store, config("st-sm", ["a"], [task], seed=s), result({task: acc(v)}))
    return path


ROW = [(0.80, 0.62), (0.84, 0.60), (0.79, 0.65)]


def _dm(row: tuple[float, float], base: tuple[float, float]) -> float:
    return 100 * ((row[0] - base[0]) / base[0] + (row[1] - base[1]) / base[1]) / 2


def test_paired_zero_variance_baseline_reproduces_the_old_width_and_a_noisy_one_widens_it(tmp_path: Path):
    flat = build(_store(tmp_path / "flat", ROW, {"c": [0.7] * 3, "d": [0.6] * 3})).analyses[-1]
    old = t_interval([_dm(r, (0.7, 0.6)) for r in ROW])  # the baseline's mean treated as exact
    assert flat.delta.method == "paired"
    assert (flat.delta_m.low, flat.delta_m.high) == (pytest.approx(old.low), pytest.approx(old.high))
    noisy_c, noisy_d = [0.74, 0.66, 0.70], [0.57, 0.63, 0.60]  # same means, seed-to-seed noise
    noisy = build(_store(tmp_path / "noisy", ROW, {"c": noisy_c, "d": noisy_d})).analyses[-1]
    per_seed = [_dm(r, b) for r, b in zip(ROW, zip(noisy_c, noisy_d))]
    expected = t_interval(per_seed)
    assert noisy.delta.method == "paired"
    assert noisy.delta_m.mean == pytest.approx(np.mean(per_seed))
    assert (noisy.delta_m.low, noisy.delta_m.high) == (pytest.approx(expected.low), pytest.approx(expected.high))
    assert noisy.delta_m.width > 1.5 * flat.delta_m.width


def _welch_by_hand(row: list[tuple[float, float]], base: dict[str, list[float]]) -> tuple[float, float, float]:
    n = np.array(row)
    nbar = n.mean(axis=0)
    bbar = np.array([np.mean(base["c"]), np.mean(base["d"])])
    point = 100 * np.mean((nbar - bbar) / bbar)
    u = 50 * (n / bbar).sum(axis=1)
    parts = [(np.var(u, ddof=1) / len(u), len(u))]
    for k, task in enumerate(("c", "d")):
        v = -50 * nbar[k] * np.array(base[task]) / bbar[k] ** 2
        parts.append((np.var(v, ddof=1) / len(v), len(v)))
    var = sum(p for p, _ in parts)
    df = var ** 2 / sum(p ** 2 / (k - 1) for p, k in parts if p > 0)
    half = stats.t.ppf(0.975, df) * math.sqrt(var)
    return point, point - half, point + half


def test_welch_interval_when_the_row_has_seeds_the_baseline_lacks(tmp_path: Path):
    row = ROW + [(0.82, 0.61)]  # seed 3: no baseline cell
    flat = build(_store(tmp_path / "flat", row, {"c": [0.7] * 3, "d": [0.6] * 3})).analyses[-1]
    assert flat.delta.method == "welch"
    old = t_interval([_dm(r, (0.7, 0.6)) for r in row])  # zero baseline variance: df = n − 1, the old width
    assert (flat.delta_m.mean, flat.delta_m.low, flat.delta_m.high) == (
        pytest.approx(old.mean), pytest.approx(old.low), pytest.approx(old.high))
    base = {"c": [0.66, 0.74, 0.70], "d": [0.63, 0.57, 0.60]}
    noisy = build(_store(tmp_path / "noisy", row, base)).analyses[-1]
    point, low, high = _welch_by_hand(row, base)
    assert noisy.delta.method == "welch"
    assert (noisy.delta_m.mean, noisy.delta_m.low, noisy.delta_m.high) == (
        pytest.approx(point), pytest.approx(low), pytest.approx(high))
    assert noisy.delta_m.width > flat.delta_m.width
    assert "(Welch)" in build(tmp_path / "noisy").to_markdown()


def test_a_baseline_with_too_few_seeds_gives_no_welch_interval(tmp_path: Path):
    row = ROW + [(0.82, 0.61)]
    a = build(_store(tmp_path, row, {"c": [0.66, 0.74], "d": [0.63, 0.57]}, seeds_base=2)).analyses[-1]
    assert a.delta.method == "welch" and math.isfinite(a.delta_m.mean) and not a.delta_m.has_bounds
