"""The "What the results show" prose: picks by validation among comparable values, one verdict per comparison
inside its declared family (citing the adjusted p), the power of each family when nothing is established, named
chance-level tasks, unambiguous labels."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mmbench.leaderboard.board import build
from mmbench.leaderboard.report.format import fmt_p
from mmbench.leaderboard.report.prose import findings, headline
from mmbench.store import ResultStore

from leaderboard_helpers import config, put, result  # type: ignore[import-not-found]


def acc(v: float) -> dict[str, float]:
    return {"accuracy": v}


@pytest.fixture(scope="module")
def six_seeds(tmp_path_factory: pytest.TempPathFactory):
    """Six seeds. uw beats EW on every seed (test and validation); dwa is best on test but worst on validation."""
    path = tmp_path_factory.mktemp("prose")
    rng = np.random.default_rng(0)
    with ResultStore(path) as store:
        for s in range(6):
            noise = rng.normal(0, 0.003, size=4)
            for task in ("c", "d"):
                put(store, config("st-sm", ["a"], [task], seed=s), result({task: acc(0.70 + noise[0])},
                                                                         chance={"validation": {task: 0.5}, "test": {task: 0.5}}))
            rows = {"ew": (0.72, 0.72), "uw": (0.75, 0.75), "dwa": (0.78, 0.65)}  # (test, validation)
            for w, (test, val) in rows.items():
                t = test + noise[1] + (0.002 * s if w == "ew" else 0.0)
                put(store, config("mt-sm", ["a"], ["c", "d"], weighting=w, seed=s),
                    result({"c": acc(t), "d": acc(0.70 + noise[2])}, {"c": acc(val), "d": acc(0.70)}))
    return build(path)


def test_the_configuration_is_picked_on_validation_not_test(six_seeds):
    text = "\n".join(findings(six_seeds))
    head = "Picked on validation (lowest mean rank of the main metric among the `mt-sm` configurations): "
    assert head + "**[mt-sm] a | c+d | mlp | uw**" in text
    assert "dwa" not in text.split(head)[1].split("\n")[0]


def test_claims_cite_the_adjusted_p_value(six_seeds):
    text = "\n".join(findings(six_seeds))
    comps = {c.label: c for c in six_seeds.comparisons if c.kind == "vs_ew"}
    uw = comps["[mt-sm] a | c+d | mlp | uw"]
    assert uw.testable and uw.significant()
    assert uw.verdict == "better"
    assert f"{uw.label} beats EW by {uw.result.effect.mean:+.2f} Δm% points (adjusted p = {fmt_p(uw.p_adjusted)})" in text
    assert "better than its single-task baselines (adjusted p = " in text
    assert "Family weighting vs EW (primary, margin ±1; 2 tested comparisons at 6 seeds): 2 better" in text


def test_says_plainly_when_nothing_is_significant(tmp_path: Path):
    with ResultStore(tmp_path) as store:
        for s, d in enumerate([0.01, -0.02, 0.015, -0.01, 0.02, -0.015]):  # signs alternate: no effect
            for task in ("c", "d"):
                put(store, config("st-sm", ["a"], [task], seed=s), result({task: acc(0.70)}))
            for w, bonus in (("ew", 0.0), ("uw", d)):
                put(store, config("mt-sm", ["a"], ["c", "d"], weighting=w, seed=s),
                    result({"c": acc(0.70 + bonus + d), "d": acc(0.70 - d)}))
    board = build(tmp_path)
    text = "\n".join(findings(board))
    # item 1 of issue #23: no Bonferroni arithmetic (m·p) passed off as BH, no "fewer comparisons" advice
    assert "would get p =" not in text and "fewer comparisons" not in text
    # item 2: "nothing established" comes with the family's power, in Δm% points, and what 20 seeds would buy
    vs_ew = next(c for c in board.comparisons if c.kind == "vs_ew")
    assert vs_ew.verdict == "inconclusive" and vs_ew.mde > 0
    assert "Power: with 6 seeds the paired t-test detects, with 80% power at the family's adjusted level" in text
    assert f"a true effect of {vs_ew.mde:.2f} Δm% points (its MDE" in text and "20 seeds would bring that to" in text
    assert "is not evidence of no difference" in text
    assert "inconclusive — a difference from its single-task baselines is not established (adjusted p = " in text
    assert "weighting vs EW: " in headline(board) and "inconclusive" in headline(board)


def test_three_seeds_are_tested_by_the_t_test(tmp_path: Path):
    from leaderboard_helpers import full_grid  # type: ignore[import-not-found]

    board = build(full_grid(tmp_path))
    text = "\n".join(findings(board))
    # the sign-flip floor (0.25 at 3 seeds) no longer forbids a claim: these differences barely vary across seeds
    assert "beats EW by" in text and "Power: with 3 seeds" in text
    assert "better" in headline(board)


def test_chance_level_tasks_are_named(tmp_path: Path):
    chance = {"validation": {"c": 0.5, "d": 0.5}, "test": {"c": 0.5, "d": 0.5}}
    with ResultStore(tmp_path) as store:
        for s in range(3):
            put(store, config("st-sm", ["a"], ["c"], seed=s), result({"c": acc(0.50 + 0.005 * s)}, chance=chance))
            put(store, config("st-sm", ["a"], ["d"], seed=s), result({"d": acc(0.80)}, chance=chance))
            put(store, config("mt-sm", ["a"], ["c", "d"], weighting="ew", seed=s),
                result({"c": acc(0.70), "d": acc(0.80)}, chance=chance))
    board = build(tmp_path)
    text = "\n".join(findings(board, {"c": "from neither modality alone"}))
    delta = next(c for c in board.comparisons if c.kind == "delta_m")
    assert delta.excluded and delta.verdict == "excluded" and math.isnan(delta.p_adjusted)
    assert "Picked on validation" not in text  # a Δm% against a chance-level baseline is never picked
    assert "1 comparisons against a reference at chance are shown in the tables but kept out" in text
    assert "Task `c` (single-task)" in text and "⚠ At chance" in text and "Ground truth: from neither modality alone." in text
    assert "Chance level (majority class, validation): 0.500" in text


def test_a_task_line_keeps_an_interval_clipped_to_the_metrics_range(tmp_path: Path):
    """Near 1.0 the Student-t interval leaves [0, 1]: the line shows it clipped, not no interval at all."""
    chance = {"validation": {"c": 0.5}, "test": {"c": 0.5}}
    with ResultStore(tmp_path) as store:
        for s, v in enumerate([1.0, 0.99, 1.0, 0.98, 1.0, 1.0]):
            put(store, config("st-sm", ["a"], ["c"], seed=s), result({"c": acc(v)}, chance=chance))
            put(store, config("st-sm", ["b"], ["c"], seed=s), result({"c": acc(v - 0.2)}, chance=chance))
            put(store, config("st-cm", ["a", "b"], ["c"], fuser="concat", seed=s), result({"c": acc(v)}, chance=chance))
    line = next(t for t in findings(build(tmp_path)) if t.startswith("Task `c`"))
    assert "single-modal picked on validation: a, test accuracy 0.995 [0.986, 1.000]" in line, line
    # item 7 of issue #23: the aligner is part of the name (`none|concat` and `infonce|concat` differ)
    assert "cross-modal picked on validation: none|concat, test accuracy 0.995 [0.986, 1.000]" in line, line


def test_a_pooled_verdict_says_what_it_compares_and_when_a_difference_is_also_within_the_margin():
    import numpy as np

    from mmbench.leaderboard.report.prose import _pooled_phrase
    from mmbench.leaderboard.stats.pooled import PooledVerdict

    late = PooledVerdict("fuser", "late", 12, {"toy": np.array([-0.6, -0.7])}, margin=1.0, p_value=0.001,
                         p_equivalence=0.001, p_adjusted=0.003, p_equivalence_adjusted=0.006, verdict="worse")
    text = _pooled_phrase(late)
    assert text.startswith("fuser late, cross-modal gain vs the best single-modal reference: worse (mean -0.65")
    assert "also within ±1 (TOST adjusted p = 0.006)" in text
    uw = PooledVerdict("weighting", "uw", 8, {"toy": np.array([-1.0])}, margin=1.0, p_adjusted=0.002,
                       p_equivalence_adjusted=0.9, verdict="worse")
    assert _pooled_phrase(uw).startswith("weighting uw, vs EW: worse") and "within" not in _pooled_phrase(uw)
