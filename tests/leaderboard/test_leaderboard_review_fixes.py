"""Review of the published pages (round 2): a multitask single-modal reference at chance, a configuration identical
to EW, equivalence stated with its TOST p, and a task no single modality learns."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from mmbench.leaderboard.board import build
from mmbench.leaderboard.report.format import escape
from mmbench.leaderboard.report.prose import _pooled_phrase, findings
from mmbench.leaderboard.stats.equivalence import mde, pooled_sd
from mmbench.leaderboard.stats.pooled import PooledVerdict
from mmbench.scoring import retrieval_chance
from mmbench.store import ResultStore

from leaderboard_helpers import cls, config, put, result  # type: ignore[import-not-found]

SIZES = {"train": 400, "validation": 300, "test": 300}
CHANCE = {"validation": {"u": 0.5, "s": 0.5}, "test": {"u": 0.5, "s": 0.5}}


def _pid_like(path: Path) -> Path:
    """Task `u` is learnable from modality a only, `s` from neither alone (synergy); the cross-modal row learns both."""
    with ResultStore(path) as store:
        for seed in range(6):
            j = 0.002 * seed
            for m, u in (("a", 0.90), ("b", 0.50)):
                put(store, config("st-sm", [m], ["u"], seed=seed), result({"u": cls(u + j, u)}, chance=CHANCE, sizes=SIZES))
                put(store, config("st-sm", [m], ["s"], seed=seed), result({"s": cls(0.50 + j / 4, 0.5)}, chance=CHANCE,
                                                                          sizes=SIZES))
                put(store, config("mt-sm", [m], ["u", "s"], weighting="ew", seed=seed),
                    result({"u": cls(u + j, u), "s": cls(0.50, 0.5)}, chance=CHANCE, sizes=SIZES))
            put(store, config("mt-cm", ["a", "b"], ["u", "s"], aligner="none", fuser="concat", weighting="ew", seed=seed),
                result({"u": cls(0.91 + j, 0.9), "s": cls(0.95 + j, 0.9)}, chance=CHANCE, sizes=SIZES))
    return path


def test_a_multitask_reference_is_at_chance_where_its_modality_is(tmp_path: Path):
    # stamps / pid-synthetic: "+247% gain" over a multitask single-modal reference at chance on one task
    board = build(_pid_like(tmp_path))
    gain = next(c for c in board.comparisons if c.kind == "cross_modal_gain" and c.config.family == "mt-cm")
    assert gain.result.effect.mean > 40  # the synergy task's ~90% relative gain dominates the mean
    assert gain.excluded == "reference at chance on s" and gain.verdict == "excluded"
    text = "\n".join(findings(board))
    assert "Picked on validation gain" not in text


def test_a_task_no_single_modality_learns_is_said_so(tmp_path: Path):
    text = "\n".join(findings(build(_pid_like(tmp_path))))
    line = next(x for x in text.splitlines() if x.startswith("Task `s`"))
    assert "no single modality is above chance (all 2 ⚠" in line and "single-modal picked on validation" not in line


def _with_clone(path: Path) -> Path:
    """EW, an LS identical to it on every seed and metric, and UW (different): mt-sm on modality a."""
    rng = np.random.default_rng(0)
    with ResultStore(path) as store:
        for seed in range(8):
            put(store, config("st-sm", ["a"], ["c"], seed=seed), result({"c": cls(0.70 + 0.01 * rng.standard_normal(), 0.6)}))
            put(store, config("st-sm", ["a"], ["d"], seed=seed), result({"d": cls(0.60 + 0.01 * rng.standard_normal(), 0.5)}))
            ew = {"c": cls(0.72 + 0.01 * rng.standard_normal(), 0.6), "d": cls(0.61 + 0.01 * rng.standard_normal(), 0.5)}
            for w, scores in (("ew", ew), ("ls", ew),
                              ("uw", {k: cls(v["accuracy"] + 0.01 * rng.standard_normal(), 0.5) for k, v in ew.items()})):
                put(store, config("mt-sm", ["a"], ["c", "d"], weighting=w, seed=seed), result(scores))
    return path


def test_a_configuration_identical_to_ew_is_not_counted_twice(tmp_path: Path):
    board = build(_with_clone(tmp_path))
    by = {(c.kind, c.config.weighting): c for c in board.comparisons}
    clone, uw = by[("vs_ew", "ls")], by[("vs_ew", "uw")]
    assert clone.identical_to and clone.verdict == "equivalent" and clone.p_equivalence_adjusted == 0.0
    assert by[("delta_m", "ls")].verdict == "identical" and by[("delta_m", "ew")].verdict != "identical"
    # the family's power comes from the non-clones alone: its zero differences do not shrink the pooled SD
    assert uw.pooled_sd == clone.pooled_sd == np.std(uw.result.per_pair, ddof=1)
    assert uw.mde == mde(8, pooled_sd([np.asarray(uw.result.per_pair)]), 0.05 / 1)
    # Δm% family: EW's comparison alone (LS's is the same model again)
    delta = [c for c in board.comparisons if c.kind == "delta_m" and not c.identical_to]
    assert sorted(c.config.weighting for c in delta) == ["ew", "uw"]
    text = "\n".join(findings(board))
    assert "1 configuration is the same model as another of the same context" in text
    assert "[mt-sm] a | c+d | mlp | ls = [mt-sm] a | c+d | mlp | ew" in text
    assert "(identical to EW: the same model)" in text
    # the family's m (its adjustment, MDE level) counts UW alone; the tally says the equivalence is a clone
    family = next(x for x in text.splitlines() if x.startswith("Family weighting vs EW"))
    assert "1 tested comparisons" in family and "(α/m, m = 1:" in family
    # the tally adds up to m; the twin is named apart
    assert "1 equivalent; twins not counted: 1 = EW (equivalent)" in family
    frame = board.to_frame().set_index("weighting")
    assert frame.loc["ls", "vs_ew.verdict"] == "equivalent" and frame.loc["ls", "delta_m.verdict"] == "identical"


def test_a_pooled_equivalence_cites_its_tost_p_not_the_difference_p():
    row = PooledVerdict("weighting", "ls", 3, {"d": np.array([0.1, 0.1, 0.1])}, 1.0)
    row.verdict, row.p_adjusted, row.p_equivalence_adjusted = "equivalent", 0.895, 0.044
    text = _pooled_phrase(row)
    assert "adjusted TOST p = 0.044 within ±1" in text and "0.895" not in text


def test_retrieval_tables_print_the_chance_level(tmp_path: Path):
    # pid-synthetic's projection rows showed R@1 0.002-0.005 and MRR 0.02 on 300 test items: chance, unsaid
    with ResultStore(tmp_path) as store:
        for seed in range(3):
            scores = {"c": cls(0.8, 0.7)}
            res = result(scores) | {"sizes": SIZES}
            res["metrics"]["retrieval"] = {"a-b": retrieval_chance(300)}
            put(store, config("st-cm", ["a", "b"], ["c"], aligner="infonce", fuser="concat", seed=seed), res)
    md = build(tmp_path).to_markdown()
    section = md.split("Cross-modal retrieval (test)", 1)[1]
    line = next(x for x in section.splitlines() if "chance (random ranking of 300 test items)" in x)
    assert [c.strip() for c in line.strip("|").split("|")][1:] == ["—", "0.003", "0.003", "0.017", "0.017", "0.021"]


def test_vs_ew_leaves_out_the_tasks_whose_baseline_is_at_chance(tmp_path: Path):
    # pid-synthetic: 12 vs-EW comparisons differenced Δm% values whose own test was excluded (baseline at chance)
    chance = {"validation": {"c": 0.10, "d": 0.10}, "test": {"c": 0.10, "d": 0.10}}
    sizes = {"train": 400, "validation": 100, "test": 100}
    with ResultStore(tmp_path) as store:
        for s in range(6):
            put(store, config("st-sm", ["a"], ["c"], seed=s), result({"c": cls(0.11, 0.1)}, chance=chance, sizes=sizes))
            put(store, config("st-sm", ["a"], ["d"], seed=s), result({"d": cls(0.80, 0.7)}, chance=chance, sizes=sizes))
            for w, c_acc, d_acc in (("ew", 0.11, 0.80 + 0.001 * s), ("uw", 0.20 + 0.01 * s, 0.80 + 0.001 * s)):
                put(store, config("mt-sm", ["a"], ["c", "d"], weighting=w, seed=s),
                    result({"c": cls(c_acc, 0.1), "d": cls(d_acc, 0.7)}, chance=chance, sizes=sizes))
    uw = next(c for c in build(tmp_path).comparisons if c.kind == "vs_ew")
    # with `c` (at chance) UW would be ~+45 Δm% points better; on `d` alone the rows are the same
    assert "w/o the tasks whose baseline is at chance: c" in uw.score
    assert uw.result.effect.mean == 0.0 and not uw.excluded


def test_a_pick_made_by_the_tie_break_says_so(tmp_path: Path):
    # digits' mt-cm EW and PCGrad tied at 1.50; stamps' text EW, LS and UW at 3.50: the tie-break was silent
    with ResultStore(tmp_path) as store:
        for s in range(4):
            j = 0.001 * s
            put(store, config("st-sm", ["a"], ["c"], seed=s), result({"c": cls(0.70 + j, 0.6)}))
            put(store, config("st-sm", ["a"], ["d"], seed=s), result({"d": cls(0.60 + j, 0.5)}))
            for w, c_acc, d_acc in (("ew", 0.75, 0.61), ("uw", 0.72, 0.62)):  # each wins one task: ranks 1.5 / 1.5
                put(store, config("mt-sm", ["a"], ["c", "d"], weighting=w, seed=s),
                    result({"c": cls(c_acc + j, 0.6), "d": cls(d_acc + j, 0.5)}))
    line = next(x for x in findings(build(tmp_path)) if x.startswith("Picked on validation"))
    # EW's mean validation score (0.68) is the higher: it wins the tie, and the line names UW as tied
    assert "| ew**" in line
    assert "(validation mean rank 1.50 among 2; tied with [mt-sm]" in line and "uw, the higher mean validation score" in line


def test_two_methods_that_coincide_are_one_model_and_an_equivalence_cites_tost(tmp_path: Path):
    # multidigits: PCGrad and UPGrad on the text rows gave the same scores on every seed (with two tasks UPGrad's
    # projection is PCGrad's up to a scale, which Adam removes)
    rng = np.random.default_rng(1)
    with ResultStore(tmp_path) as store:
        for seed in range(8):
            put(store, config("st-sm", ["a"], ["c"], seed=seed), result({"c": cls(0.70 + 0.01 * rng.standard_normal(), 0.6)}))
            put(store, config("st-sm", ["a"], ["d"], seed=seed), result({"d": cls(0.60 + 0.01 * rng.standard_normal(), 0.5)}))
            ew = {"c": cls(0.72 + 0.01 * rng.standard_normal(), 0.6), "d": cls(0.61 + 0.01 * rng.standard_normal(), 0.5)}
            grad = {k: cls(v["accuracy"] + 0.002 * rng.standard_normal(), 0.5) for k, v in ew.items()}
            for w, scores in (("ew", ew), ("pcgrad", grad), ("upgrad", grad)):
                put(store, config("mt-sm", ["a"], ["c", "d"], weighting=w, seed=seed), result(scores))
    board = build(tmp_path)
    by = {(c.kind, c.config.weighting): c for c in board.comparisons}
    up, pc = by[("vs_ew", "upgrad")], by[("vs_ew", "pcgrad")]
    assert up.identical_to == pc.label and up.verdict == "identical" and math.isnan(up.p_adjusted)
    assert pc.identical_to is None and pc.p_adjusted == pc.p_value  # alone in its family (m = 1)
    md = board.to_markdown()
    assert f"identical to {escape(pc.label)} (its test stands; not counted)" in md and "| nan " not in md
    if pc.verdict == "equivalent":
        assert "equivalent (±1): TOST p=" in md


def test_exports_name_the_twin_and_count_only_adjusted_comparisons(tmp_path: Path):
    board = build(_with_clone(tmp_path))
    frame = board.to_frame().set_index("weighting")
    assert frame.loc["ls", "vs_ew.identical_to"] == frame.loc["ew", "label"] and pd.isna(frame.loc["uw", "vs_ew.identical_to"])
    doc = json.loads(board.to_json())
    adjusted = [c for c in board.comparisons if c.result is not None and not c.excluded and not c.identical_to]
    assert doc["adjustment"]["comparisons"] == len(adjusted) < len(board.comparisons)
    cell = next(x for x in board.to_markdown().splitlines() if "| ls " in x and "EW's twin" in x)
    assert "equivalent (±1), EW's twin: TOST p=<0.001 (not adjusted, n=8" in cell
