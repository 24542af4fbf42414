"""rliable aggregates on fixed score matrices (against rliable's own functions and hand computation), the
stratified bootstrap, performance profiles, and the per-kind tables of a store."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from mmbench.leaderboard.board import build
from mmbench.leaderboard.stats.aggregates import (iqm_statistic, poi_statistic, profile_statistic, iqm, normalised_scores,
                                            probability_of_improvement, stratified_bootstrap)

from leaderboard_helpers import full_grid  # type: ignore[import-not-found]

# runs × tasks
X = np.array([[1.0, 5.0], [2.0, 6.0], [3.0, 7.0], [10.0, 8.0]])
Y = np.array([[0.5, 5.0], [2.0, 9.0], [2.5, 4.0], [1.0, 4.5]])


def test_iqm_by_hand_and_against_rliable():
    # 8 scores sorted: 1 2 3 5 6 7 8 10; drop the lowest and highest 2: mean(3, 5, 6, 7) = 5.25
    assert iqm(X) == pytest.approx(5.25)
    rliable = pytest.importorskip("rliable.metrics")
    assert iqm(X) == pytest.approx(rliable.aggregate_iqm(X))
    assert iqm(Y) == pytest.approx(rliable.aggregate_iqm(Y))


def test_probability_of_improvement_by_hand_and_against_rliable():
    # task 0, 16 pairs: x=1 > 0.5 (= 1: half); x=2 > 0.5, 1 (= 2: half); x=3 > all 4; x=10 > all 4 → 1.5 + 2.5 + 4 + 4
    # task 1: x=5 > 4, 4.5 (= 5: half); x=6, 7, 8 > 5, 4, 4.5 → 2.5 + 3 + 3 + 3
    by_hand = ((1.5 + 2.5 + 4 + 4) / 16 + (2.5 + 3 + 3 + 3) / 16) / 2
    assert probability_of_improvement(X, Y) == pytest.approx(by_hand)
    rliable = pytest.importorskip("rliable.metrics")
    assert probability_of_improvement(X, Y) == pytest.approx(rliable.probability_of_improvement(X, Y))
    assert probability_of_improvement(Y, Y) == pytest.approx(0.5)
    # the batched statistic the bootstrap uses gives the same point value
    cols = [X[:, 0], X[:, 1], Y[:, 0], Y[:, 1]]
    assert poi_statistic(2)(*cols) == pytest.approx(by_hand)
    assert iqm_statistic(X[:, 0], X[:, 1]) == pytest.approx(5.25)


def test_stratified_bootstrap_resamples_within_columns():
    cols = [X[:, 0], X[:, 1]]
    point, low, high = stratified_bootstrap(cols, iqm_statistic, n_resamples=500)
    assert point == pytest.approx(5.25) and low <= point <= high
    # every resample keeps each column's runs inside that column: the IQM of any resample lies between the
    # IQMs of the most extreme resamples (all-lowest / all-highest run in each column)
    assert iqm_statistic(np.full(4, 1.0), np.full(4, 5.0)) <= low and high <= iqm_statistic(np.full(4, 10.0), np.full(4, 8.0))
    again = stratified_bootstrap(cols, iqm_statistic, n_resamples=500)
    assert (again[1], again[2]) == (low, high)  # seeded
    # constant columns: no spread; a one-run column is held fixed
    flat = stratified_bootstrap([np.full(3, 2.0), np.full(3, 4.0)], iqm_statistic, n_resamples=200)
    assert flat[1] == pytest.approx(3.0) and flat[2] == pytest.approx(3.0)
    fixed = stratified_bootstrap([np.array([100.0]), np.array([1.0, 1.0])], iqm_statistic, n_resamples=200)
    assert fixed[1] == pytest.approx(fixed[0]) == pytest.approx(iqm_statistic(np.array([100.0]), np.array([1.0, 1.0])))
    none = stratified_bootstrap([np.array([1.0]), np.array([2.0])], iqm_statistic)
    assert np.isnan(none[1]) and np.isnan(none[2])


def test_a_dominating_value_has_probability_one_with_no_spread():
    better, worse = [np.array([5.0, 6.0, 7.0]), np.array([3.0, 4.0])], [np.array([1.0, 2.0, 0.0]), np.array([2.0, 1.0])]
    p, low, high = stratified_bootstrap(better + worse, poi_statistic(2), n_resamples=300)
    assert (p, low, high) == (1.0, 1.0, 1.0)


def test_performance_profile_by_hand():
    taus = np.array([-1.0, 1.5, 2.5, 9.0, 11.0])
    prof = profile_statistic(taus)(X[:, 0], X[:, 1])
    # column 0 (1, 2, 3, 10) and column 1 (5, 6, 7, 8): fraction above τ, averaged over the two columns
    assert prof.tolist() == pytest.approx([1.0, (0.75 + 1) / 2, (0.5 + 1) / 2, (0.25 + 0) / 2, 0.0])
    point, low, high = stratified_bootstrap([X[:, 0], X[:, 1]], profile_statistic(taus), n_resamples=200)
    assert np.all(low <= point + 1e-12) and np.all(point <= high + 1e-12) and low[0] == high[0] == 1.0


def test_normalised_scores_and_the_weighting_table_of_a_store(tmp_path: Path):
    board = build(full_grid(tmp_path))
    scores = normalised_scores(board.analyses, "weighting")
    assert set(scores) == {"ew", "uw"}
    # one context per (family, modalities, ...); columns = contexts × tasks, the same for both weightings
    assert set(scores["ew"]) == set(scores["uw"]) and len(scores["ew"]) == 6
    # mt-sm a, task c (accuracy): uw runs 0.73 + j against the st-sm a baseline mean 0.71
    (col,) = [k for k in scores["uw"] if k[1] == "c" and "('a',)" in k[0] and "mt-sm" in k[0]]
    assert scores["uw"][col] == pytest.approx(100 * (np.array([0.73, 0.74, 0.75]) - 0.71) / 0.71)
    # task r (MAE, lower is better): uw 1.23 + j against 1.31 → positive
    (col,) = [k for k in scores["uw"] if k[1] == "r" and "('a',)" in k[0] and "mt-sm" in k[0]]
    assert scores["uw"][col] == pytest.approx(-100 * (np.array([1.23, 1.24, 1.25]) - 1.31) / 1.31)
    (kind,) = board.aggregates
    assert kind.kind == "weighting" and kind.reference == "ew" and [v.value for v in kind.values] == ["ew", "uw"]
    ew, uw = kind.values
    assert ew.poi is None and uw.poi is not None
    assert uw.iqm.value == pytest.approx(iqm(np.concatenate(list(scores["uw"].values()))))
    flat_uw = np.stack([scores["uw"][c] for c in sorted(scores["uw"])], axis=1)
    flat_ew = np.stack([scores["ew"][c] for c in sorted(scores["ew"])], axis=1)
    assert uw.poi.value == pytest.approx(probability_of_improvement(flat_uw, flat_ew))
    assert uw.iqm.low <= uw.iqm.value <= uw.iqm.high and uw.poi.low <= uw.poi.value <= uw.poi.high
    frame = board.aggregates_frame()
    assert frame.set_index("value").loc["uw", "poi"] == pytest.approx(uw.poi.value)


def test_fusers_are_normalised_against_the_single_modal_baseline(tmp_path: Path):
    from leaderboard_helpers import cls, config, put, result  # type: ignore[import-not-found]
    from mmbench.store import ResultStore

    with ResultStore(tmp_path) as store:
        for s, j in enumerate((0.0, 0.01, 0.02)):
            put(store, config("st-sm", ["a"], ["c"], seed=s), result({"c": cls(0.6 + j, 0.6)}))
            put(store, config("st-sm", ["b"], ["c"], seed=s), result({"c": cls(0.5 + j, 0.5)}))
            for fuser, v in (("concat", 0.66), ("sum", 0.63)):
                put(store, config("st-cm", ["a", "b"], ["c"], aligner="none", fuser=fuser, seed=s),
                    result({"c": cls(v + j, v)}))
    board = build(tmp_path)
    scores = normalised_scores(board.analyses, "fuser")
    # B = the best single-modal (a: 0.61 mean) for both fusers
    assert list(scores["concat"].values())[0] == pytest.approx(100 * (np.array([0.66, 0.67, 0.68]) - 0.61) / 0.61)
    fuser = next(k for k in board.aggregates if k.kind == "fuser")
    assert fuser.reference == "concat" and next(v for v in fuser.values if v.value == "sum").poi.value == pytest.approx(
        np.mean([float(a > b) + 0.5 * float(a == b) for a, b in itertools.product([0.63, 0.64, 0.65], [0.66, 0.67, 0.68])]))
