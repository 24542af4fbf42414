"""The "What the results show" prose: picks by validation, claims only what passes the adjusted test (citing
the adjusted p), says plainly when nothing is significant, names chance-level tasks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmbench.leaderboard import build
from mmbench.leaderboard.prose import findings, headline
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
    assert "Picked on validation Δm%: **[mt-sm] a | c+d | mlp | uw**" in text
    assert "dwa" not in text.split("Picked on validation Δm%")[1].split("\n")[0]


def test_claims_cite_the_adjusted_p_value(six_seeds):
    text = "\n".join(findings(six_seeds))
    comps = {c.label: c for c in six_seeds.comparisons if c.kind == "vs_ew"}
    uw = comps["[mt-sm] a | c+d | mlp | uw"]
    assert uw.testable and uw.significant()
    assert f"uw on [mt-sm] a beats EW by {uw.result.effect.mean:+.2f} Δm% points (adjusted p = {uw.p_adjusted:.3f})" in text
    assert "better than its single-task baselines (adjusted p = " in text
    assert "significant at adjusted p ≤ 0.05" in text


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
    assert "Nothing on this page is significant." in text
    m = sum(c.result is not None for c in board.comparisons)
    assert (f"With 6 paired seeds the exact test's smallest possible p is 0.031; one comparison at that floor, "
            f"adjusted over {m}, would get p = {min(1.0, m / 32):.3f} if it were alone there") in text  # 2/2^6 = 1/32
    assert "no weighting differs significantly from EW (smallest adjusted p = " in text
    assert "is not established (adjusted p = " in text
    assert headline(board).startswith("0 of ")


def test_three_seeds_make_no_claim_and_say_why(tmp_path: Path):
    from leaderboard_helpers import full_grid  # type: ignore[import-not-found]

    board = build(full_grid(tmp_path))
    text = "\n".join(findings(board))
    assert "no paired test can reach p < 0.05 (the smallest possible two-sided p is 0.250)" in text
    assert "cannot be tested with 3 seeds" in text and "beats EW" not in text
    assert "too few seeds to test" in headline(board)


def test_chance_level_tasks_are_named(tmp_path: Path):
    chance = {"validation": {"c": 0.5, "d": 0.5}, "test": {"c": 0.5, "d": 0.5}}
    with ResultStore(tmp_path) as store:
        for s in range(3):
            put(store, config("st-sm", ["a"], ["c"], seed=s), result({"c": acc(0.50 + 0.005 * s)}, chance=chance))
            put(store, config("st-sm", ["a"], ["d"], seed=s), result({"d": acc(0.80)}, chance=chance))
            put(store, config("mt-sm", ["a"], ["c", "d"], weighting="ew", seed=s),
                result({"c": acc(0.70), "d": acc(0.80)}, chance=chance))
    text = "\n".join(findings(build(tmp_path), {"c": "from neither modality alone"}))
    assert "Its baseline is at chance on `c` (⚠); without that task: Δm% = +0.00" in text
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
    assert "cross-modal picked on validation: concat, test accuracy 0.995 [0.986, 1.000]" in line, line
