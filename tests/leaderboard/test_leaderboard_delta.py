"""Δm% golden values (incl. lower-is-better metrics), the references it is taken against, ranks, EW."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mmbench.grid.claims_spec import ClaimsSpec
from mmbench.leaderboard.board import build
from mmbench.leaderboard.stats.delta import delta_m
from mmbench.store import ResultStore

from leaderboard_helpers import cls, config, full_grid, put, reg, result  # type: ignore[import-not-found]

COLS = pd.MultiIndex.from_tuples([("c", "accuracy"), ("c", "macro_f1"), ("r", "mae"), ("r", "rmse")], names=["task", "metric"])
BASE = pd.Series([0.8, 0.5, 2.0, 4.0], index=COLS)


def libmtl_count_improvement(base_result: dict, new_result: dict, weight: dict) -> float:
    """LibMTL/utils.py::count_improvement, transcribed (weight 1 = higher is better)."""
    improvement, count = 0.0, 0
    for task in list(base_result.keys()):
        improvement += (((-1) ** np.array(weight[task])) * (np.array(base_result[task]) - np.array(new_result[task]))
                        / np.array(base_result[task])).mean()
        count += 1
    return improvement / count


def test_delta_m_golden_value_with_lower_is_better_metrics():
    # c: accuracy +10%, macro-F1 +20% -> +15; r: MAE 2.0 -> 1.5 is +25% (lower is better), RMSE 4.0 -> 4.4 is -10%
    # -> +7.5; Δm = (15 + 7.5) / 2 = 11.25
    new = pd.DataFrame([[0.88, 0.6, 1.5, 4.4]], columns=COLS, index=pd.Index([0], name="seed"))
    assert delta_m(new, BASE).iloc[0] == pytest.approx(11.25)
    reference = 100 * libmtl_count_improvement({"c": [0.8, 0.5], "r": [2.0, 4.0]}, {"c": [0.88, 0.6], "r": [1.5, 4.4]},
                                               {"c": [1, 1], "r": [0, 0]})
    assert reference == pytest.approx(11.25)


def test_delta_m_per_seed_and_its_mean_equals_delta_m_of_the_mean():
    new = pd.DataFrame([[0.88, 0.6, 1.5, 4.4], [0.72, 0.5, 2.5, 4.0]], columns=COLS, index=pd.Index([0, 1], name="seed"))
    per_seed = delta_m(new, BASE)
    # seed 1: c (-10 + 0)/2 = -5; r (-25 + 0)/2 = -12.5 -> -8.75
    assert per_seed.tolist() == pytest.approx([11.25, -8.75])
    assert delta_m(new.mean().to_frame().T, BASE).iloc[0] == pytest.approx(per_seed.mean())


def test_delta_m_skips_zero_baselines_and_is_undefined_without_a_task_baseline():
    new = pd.DataFrame([[0.88, 0.6, 1.5, 4.4]], columns=COLS)
    zero = BASE.copy()
    zero[("c", "macro_f1")] = 0.0
    assert delta_m(new, zero).iloc[0] == pytest.approx((10 + 7.5) / 2)
    assert math.isnan(delta_m(new, BASE.drop([("r", "mae"), ("r", "rmse")])).iloc[0])


def _dm(c: tuple[float, float], r: tuple[float, float], bc: tuple[float, float], br: tuple[float, float]) -> float:
    """Δm% of (accuracy, macro-F1) on c and (MAE, RMSE) on r against the baseline's, by hand."""
    return 100 * ((c[0] / bc[0] - 1 + c[1] / bc[1] - 1) / 2 + (1 - r[0] / br[0] + 1 - r[1] / br[1]) / 2) / 2


def test_full_grid_deltas_match_hand_computation(tmp_path: Path):
    board = build(full_grid(tmp_path), claims=ClaimsSpec(metrics="all"))  # LibMTL's Δm%: every stored metric
    frame = board.to_frame().set_index("label")
    # mt-cm ew vs st-cm (exact baseline), per seed s (j = 0.01 s on every score): Δm% against the baseline's
    # same seed, then the mean over seeds
    per_seed = [_dm((0.76 + j, 0.66 + j), (1.15 + j, 2.15 + j), (0.75 + j, 0.65 + j), (1.2 + j, 2.2 + j))
                for j in (0.0, 0.01, 0.02)]
    row = frame.loc["[mt-cm] a+b | c+r | mlp/mlp | none | concat | ew"]
    assert row["delta_m"] == pytest.approx(np.mean(per_seed))
    low, high = stats.t.interval(0.95, 2, loc=np.mean(per_seed), scale=stats.sem(per_seed))
    assert (row["delta_m.ci_low"], row["delta_m.ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert row["delta_m_baseline"] == "exact" and row["delta_m.method"] == "paired"
    assert math.isnan(frame.loc["[st-sm] a | c | mlp", "delta_m"])  # baselines have no Δm
    # cross-modal gain: against the best single-modal multitask configuration (a, uw: best on validation), same seed
    assert row["cross_modal_reference"] == "[mt-sm] a | c+r | mlp | uw"
    gains = [_dm((0.76 + j, 0.66 + j), (1.15 + j, 2.15 + j), (0.73 + j, 0.63 + j), (1.23 + j, 2.23 + j))
             for j in (0.0, 0.01, 0.02)]
    assert row["cross_modal_gain"] == pytest.approx(np.mean(gains))
    assert row["cross_modal_gain.method"] == "paired"


def test_fallback_baseline_when_no_single_task_cell_shares_aligner_and_fuser(tmp_path: Path):
    with ResultStore(tmp_path) as store:
        for task, good, bad in (("c", 0.8, 0.7), ("r", 1.0, 1.5)):
            metric = cls(good, good) if task == "c" else reg(good, good)
            worse = cls(bad, bad) if task == "c" else reg(bad, bad)
            put(store, config("st-cm", ["a", "b"], [task], aligner="none", fuser="concat"), result({task: metric}))
            put(store, config("st-cm", ["a", "b"], [task], aligner="none", fuser="sum"), result({task: worse}))
        put(store, config("mt-cm", ["a", "b"], ["c", "r"], aligner="infonce", fuser="gated", weighting="ew"),
            result({"c": cls(0.88, 0.88), "r": reg(0.9, 0.9)}))
    board = build(tmp_path)
    row = board.to_frame().set_index("family").loc["mt-cm"]
    assert row["delta_m_baseline"] == "fallback"
    assert "concat" in row["delta_m_baseline_labels"] and "sum" not in row["delta_m_baseline_labels"]
    assert row["delta_m"] == pytest.approx(100 * (0.1 + 0.1) / 2)
    assert "†" in board.to_markdown()


def test_reference_is_chosen_on_validation_not_test(tmp_path: Path):
    with ResultStore(tmp_path) as store:
        # a is better on validation, b on test: the reference is a
        put(store, config("st-sm", ["a"], ["c"]), result({"c": cls(0.60, 0.60)}, validation={"c": cls(0.9, 0.9)}))
        put(store, config("st-sm", ["b"], ["c"]), result({"c": cls(0.70, 0.70)}, validation={"c": cls(0.5, 0.5)}))
        put(store, config("st-cm", ["a", "b"], ["c"], aligner="none", fuser="concat"), result({"c": cls(0.75, 0.75)}))
    row = build(tmp_path).to_frame().set_index("family").loc["st-cm"]
    assert row["cross_modal_reference"] == "[st-sm] a | c | mlp"
    assert row["cross_modal_gain"] == pytest.approx(25.0)


def test_mean_rank_within_family_averages_task_ranks(tmp_path: Path):
    with ResultStore(tmp_path) as store:
        scores = {"ew": (0.80, 1.0), "uw": (0.70, 0.8), "dwa": (0.75, 1.2)}  # accuracy ↑, MAE ↓
        for w, (acc, mae) in scores.items():
            put(store, config("mt-sm", ["a"], ["c", "r"], weighting=w), result({"c": cls(acc, acc), "r": reg(mae, mae)}))
    ranks = build(tmp_path).to_frame().set_index("weighting")["mean_rank"]
    # c ranks: ew 1, dwa 2, uw 3; r ranks: uw 1, ew 2, dwa 3
    assert ranks.to_dict() == {"dwa": 2.5, "ew": 1.5, "uw": 2.0}


def test_ew_comparison_pairs_by_seed(tmp_path: Path):
    with ResultStore(tmp_path) as store:
        for s, (ew, uw) in enumerate([(0.70, 0.75), (0.72, 0.74), (0.74, 0.73)]):
            put(store, config("st-sm", ["a"], ["c"], seed=s), result({"c": cls(0.7, 0.7)}))
            put(store, config("st-sm", ["a"], ["r"], seed=s), result({"r": reg(1.0, 1.0)}))
            for w, acc in (("ew", ew), ("uw", uw)):
                put(store, config("mt-sm", ["a"], ["c", "r"], weighting=w, seed=s), result({"c": cls(acc, acc), "r": reg(1.0, 1.0)}))
        put(store, config("mt-sm", ["a"], ["c", "r"], weighting="uw", seed=3), result({"c": cls(0.9, 0.9), "r": reg(1.0, 1.0)}))
    first = build(tmp_path).to_frame().set_index("weighting")
    second = build(tmp_path).to_frame().set_index("weighting")
    uw = first.loc["uw"]
    assert uw["vs_ew.n_pairs"] == 3  # seed 3 has no EW partner
    # per-seed Δm difference = 100 * (uw - ew) / 0.7 / 2 (task c's two metrics move together, r is unchanged)
    d = 100 * np.array([0.05, 0.02, -0.01]) / 0.7 / 2
    assert uw["vs_ew.effect"] == pytest.approx(d.mean())
    # sign flips of (+a, +b, -c), a=5, b=2, c=1 (units): |sum| >= 6 for (+,+,-), (+,+,+) and their negations: 4 of 8
    assert uw["vs_ew.p_signflip"] == pytest.approx(0.5) and uw["vs_ew.min_p"] == pytest.approx(0.25)
    assert uw["vs_ew.p_value"] == pytest.approx(stats.ttest_1samp(d, 0.0).pvalue)  # the difference test
    assert uw["vs_ew.test"] == "paired t-test; sign-flip permutation (exact)"
    assert uw["vs_ew.p_value"] == second.loc["uw", "vs_ew.p_value"]
    assert math.isnan(first.loc["ew", "vs_ew.p_value"])
