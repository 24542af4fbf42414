"""Chance that is tested: a single-task baseline is at chance when its validation accuracy is not significantly above
the majority-class rate (one-sided exact binomial test, correct predictions pooled over seeds); Δm% against it is
shown and kept out of the families, picks and verdicts; the metric set is the main metric by default."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from scipy import stats

from mmbench.grid.claims_spec import ClaimsSpec
from mmbench.leaderboard.board import build
from mmbench.leaderboard.report.prose import findings
from mmbench.store import ResultStore

from leaderboard_helpers import cls, config, put, result  # type: ignore[import-not-found]

CHANCE = {"validation": {"c": 0.10, "d": 0.10}, "test": {"c": 0.10, "d": 0.10}}
SIZES = {"train": 400, "validation": 100, "test": 100}


def _store(path: Path, c_acc: float) -> Path:
    with ResultStore(path) as store:
        for s in range(4):
            put(store, config("st-sm", ["a"], ["c"], seed=s), result({"c": cls(c_acc, 0.5)}, chance=CHANCE, sizes=SIZES))
            put(store, config("st-sm", ["a"], ["d"], seed=s), result({"d": cls(0.80, 0.7)}, chance=CHANCE, sizes=SIZES))
            put(store, config("mt-sm", ["a"], ["c", "d"], weighting="ew", seed=s),
                result({"c": cls(0.20 + 0.01 * s, 0.9), "d": cls(0.80, 0.7)}, chance=CHANCE, sizes=SIZES))
    return path


def test_the_binomial_test_decides_not_a_margin(tmp_path: Path):
    # 0.12 vs 0.10 over 4 × 100 validation examples: 2 points above chance, yet not significant (the old 2-point
    # margin passed it); 0.16: significant
    low = build(_store(tmp_path / "low", 0.1225))
    check = next(a.chance for a in low.analyses if a.config.tasks == ("c",))
    assert check.trials == 400 and check.p_value == pytest.approx(stats.binomtest(48, 400, 0.10, alternative="greater").pvalue)
    assert check.p_value > 0.05 and check.flagged and check.accuracy - check.chance >= 0.02
    high = build(_store(tmp_path / "high", 0.16))
    assert not next(a.chance for a in high.analyses if a.config.tasks == ("c",)).flagged
    frame = low.to_frame().set_index("label")
    assert frame.loc["[st-sm] a | c | mlp", "chance.p_value"] == pytest.approx(check.p_value)


def test_a_chance_reference_is_shown_but_kept_out_of_claims(tmp_path: Path):
    board = build(_store(tmp_path, 0.1225))
    delta = next(c for c in board.comparisons if c.kind == "delta_m")
    assert delta.result is not None and delta.excluded and delta.verdict == "excluded"
    assert math.isnan(delta.p_adjusted) and math.isfinite(delta.p_value)
    text = "\n".join(findings(board))
    assert "Picked on validation" not in text and "kept out of the families, the picks and the verdicts" in text
    assert "one-sided exact binomial test at 0.05" in text


def test_one_metric_set_main_by_default(tmp_path: Path):
    # item 3 of issue #23: Δm% averaged accuracy and macro-F1 while the tables used accuracy alone
    run = _store(tmp_path, 0.40)
    main = build(run).to_frame().set_index("family").loc["mt-sm", "delta_m"]
    every = build(run, claims=ClaimsSpec(metrics="all")).to_frame().set_index("family").loc["mt-sm", "delta_m"]
    accuracy_only = sum(100 * ((0.20 + 0.01 * s) - 0.40) / 0.40 / 2 for s in range(4)) / 4
    assert main == pytest.approx(accuracy_only) and every != pytest.approx(main)
    assert "- metric set (Δm%, gains, picks): each task's main metric" in build(run).to_markdown()


def test_a_gain_over_a_chance_level_reference_is_not_a_finding(tmp_path: Path):
    # item 4 of issue #23: "+113% gain" of a synergy task over a single modality at chance
    chance = {"validation": {"s": 0.5}, "test": {"s": 0.5}}
    with ResultStore(tmp_path) as store:
        for seed in range(4):
            for m in ("a", "b"):
                put(store, config("st-sm", [m], ["s"], seed=seed), result({"s": {"accuracy": 0.50}}, chance=chance,
                                                                          sizes=SIZES))
            put(store, config("st-cm", ["a", "b"], ["s"], aligner="none", fuser="concat", seed=seed),
                result({"s": {"accuracy": 0.95 + 0.01 * seed}}, chance=chance, sizes=SIZES))
    board = build(tmp_path)
    gain = next(c for c in board.comparisons if c.kind == "cross_modal_gain")
    assert gain.excluded and gain.verdict == "excluded" and gain.result.effect.mean > 80
    text = "\n".join(findings(board))
    assert "Picked on validation gain" not in text and "1 excluded" in text
    assert "kept out of the families, the picks and the verdicts" in text
