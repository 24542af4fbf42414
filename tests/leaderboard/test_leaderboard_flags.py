"""What newer rows store, read from the store: chance levels (⚠ chance, Δm% without flagged tasks),
convergence marks, stale cells, tuning (protocol, chosen hyperparameters, tuned beside untuned), the
architecture axis, and split seeds."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from mmbench.leaderboard.board import build
from mmbench.leaderboard.chance import MARGIN
from mmbench.store import ResultStore

from leaderboard_helpers import config, put, result  # type: ignore[import-not-found]

CHANCE = {"validation": {"c": 0.50, "d": 0.50}, "test": {"c": 0.48, "d": 0.52}}


def acc(v: float) -> dict[str, float]:
    return {"accuracy": v}


@pytest.fixture(scope="module")
def flagged(tmp_path_factory: pytest.TempPathFactory):
    """Task c's single-task baseline sits at chance (0.51 vs 0.50 on validation); d's beats it. One uw seed did
    not converge; one ew cell is stale."""
    path = tmp_path_factory.mktemp("flags")
    with ResultStore(path) as store:
        stale = []
        for s, j in enumerate((0.0, 0.01, 0.02)):
            put(store, config("st-sm", ["a"], ["c"], seed=s), result({"c": acc(0.51 + j)}, {"c": acc(0.51)},
                                                                     chance=CHANCE, converged=True))
            put(store, config("st-sm", ["a"], ["d"], seed=s), result({"d": acc(0.80 + j)}, chance=CHANCE, converged=True))
            cid = put(store, config("mt-sm", ["a"], ["c", "d"], weighting="ew", seed=s),
                      result({"c": acc(0.60 + j), "d": acc(0.82 + j)}, chance=CHANCE, converged=True))
            stale += [cid] if s == 0 else []
            put(store, config("mt-sm", ["a"], ["c", "d"], weighting="uw", seed=s),
                result({"c": acc(0.62 + j), "d": acc(0.81 + j)}, chance=CHANCE, converged=s != 1))
        store.set_meta("stale_kept", stale)
    return build(path)


def test_chance_level_is_shown_and_a_chance_level_baseline_is_flagged(flagged):
    md = flagged.to_markdown()
    assert "c accuracy ↑ (chance 0.48)" in md and "d accuracy ↑ (chance 0.52)" in md
    st = {a.config.tasks: a for a in flagged.analyses if a.config.single_task}
    assert st[("c",)].chance.flagged and not st[("d",)].chance.flagged
    assert st[("c",)].chance.split == "validation" and st[("c",)].chance.accuracy - st[("c",)].chance.chance < MARGIN
    assert "0.520 ± 0.025 ⚠ chance" in md
    frame = flagged.to_frame().set_index("label")
    assert bool(frame.loc["[st-sm] a | c | mlp", "chance.flagged"]) is True
    assert frame.loc["[st-sm] a | c | mlp", "chance.level"] == pytest.approx(0.50)


def test_delta_m_is_shown_with_and_without_the_flagged_task(flagged):
    frame = flagged.to_frame().set_index("label")
    ew = frame.loc["[mt-sm] a | c+d | mlp | ew"]
    per_seed_all = [100 * ((0.60 - 0.51) / (0.51 + j) + (0.82 - 0.80) / (0.80 + j)) / 2 for j in (0.0, 0.01, 0.02)]
    per_seed_d = [100 * (0.82 - 0.80) / (0.80 + j) for j in (0.0, 0.01, 0.02)]
    assert ew["delta_m"] == pytest.approx(sum(per_seed_all) / 3)
    assert ew["delta_m_excl_chance"] == pytest.approx(sum(per_seed_d) / 3)
    assert ew["delta_m_chance_tasks"] == "c"
    md = flagged.to_markdown()
    assert "Δm% w/o ⚠ ↑" in md and "(w/o c)" in md and "2 accuracy points" in md


def test_convergence_marks_and_count(flagged):
    md = flagged.to_markdown()
    table = md.split("## Multitask, single-modal (`mt-sm`)", 1)[1].split("\n\n", 2)[1]
    uw = next(line for line in table.splitlines() if "| uw " in line)
    assert "3 ⚠1" in uw
    assert "1 of 2 configurations had seeds still improving when training stopped" in md
    assert "0 of 2 configurations had seeds still improving" in md  # the single-task table
    frame = flagged.to_frame().set_index("weighting")
    assert frame.loc["uw", "nonconverged_seeds"] == 1 and frame.loc["ew", "nonconverged_seeds"] == 0


def test_stale_cells_are_marked_with_a_footnote(flagged):
    md = flagged.to_markdown()
    assert "3 ‡" in md and "stale_kept" in md and "- stale cells kept: 1 cells of 1 configurations" in md
    frame = flagged.to_frame().set_index("weighting")
    assert bool(frame.loc["ew", "stale"]) and not bool(frame.loc["uw", "stale"])


def test_old_rows_without_the_new_keys_still_render(tmp_path: Path):
    with ResultStore(tmp_path) as store:
        put(store, config("st-sm", ["a"], ["c"]), result({"c": acc(0.7)}))
    md = build(tmp_path).to_markdown()
    assert "(chance" not in md and "Convergence: not recorded" in md and "‡" not in md


TUNING = {"trials": 8, "sampler": "tpe", "pruner": "median", "seed": 0, "components": True,
          "space": {"lr": {"low": 1e-4, "high": 3e-2, "log": True}, "weighting.c": {"low": 0.1, "high": 0.9}},
          "objective": "validation delta-m%", "first_trial": "untuned"}


def test_tuned_and_untuned_runs_are_separate_configurations_side_by_side(tmp_path: Path):
    with ResultStore(tmp_path) as store:
        for s in range(3):
            for tuned in (False, True):
                extra = {"tuning": TUNING, "hparams": {"lr": 0.003 + 0.001 * (s == 2), "weighting.c": 0.5}} if tuned else {}
                tres = {"tuning": {"trial": 5, "budget": 8, "value": 4.2, "pruned": 3}} if tuned else {}
                bump = 0.02 if tuned else 0.0
                for task in ("c", "d"):
                    put(store, config("st-sm", ["a"], [task], seed=s, **extra), result({task: acc(0.7)}, **tres))
                put(store, config("mt-sm", ["a"], ["c", "d"], weighting="ew", seed=s, **extra),
                    result({"c": acc(0.72 + bump), "d": acc(0.71)}, **tres))
    board = build(tmp_path)
    labels = [a.config.label for a in board.analyses if not a.config.single_task]
    assert labels == ["[mt-sm] a | c+d | mlp | ew", "[mt-sm] a | c+d | mlp | ew | tuned"]
    tuned = next(a for a in board.analyses if a.config.label == labels[1])
    assert len(tuned.config.seeds) == 3  # hparams (and seed) are not part of the configuration
    assert all(c.tuning is not None for c in tuned.baseline.configs)  # the tuned baselines
    md = board.to_markdown()
    assert "- tuning (3 configurations): budget 8 trials per configuration, sampler tpe, pruner median" in md
    assert "lr ∈ \\[0.0001, 0.03\\] (log)" in md and "weighting.c ∈ \\[0.1, 0.9\\]" in md
    assert "; first trial: the untuned settings" in md
    assert "- untuned: 3 configurations" in md
    assert "| tuned (8 trials) |" in md and "| untuned          |" in md
    tuning = md.split("## Tuning", 1)[1]
    assert "5 of 8" in tuning and "lr=0.003, weighting.c=0.5 / lr=0.004, weighting.c=0.5" in tuning
    frame = board.to_frame().set_index("label")
    assert frame.loc["[mt-sm] a | c+d | mlp | ew | tuned", "tuning"].startswith("{")
    assert pd.isna(frame.loc["[mt-sm] a | c+d | mlp | ew", "tuning"])


def test_architecture_is_an_axis_and_the_ew_counterpart_matches_it(tmp_path: Path):
    with ResultStore(tmp_path) as store:
        for s, j in enumerate((0.0, 0.01, 0.02)):
            for task in ("c", "d"):
                put(store, config("st-sm", ["a"], [task], seed=s, architecture={"name": "hps"}), result({task: acc(0.7 + j)}))
            for arch, bonus in (("hps", 0.0), ("mmoe", 0.03)):
                for w, extra in (("ew", 0.0), ("uw", 0.01)):
                    put(store, config("mt-sm", ["a"], ["c", "d"], weighting=w, seed=s, architecture={"name": arch},
                                      split_seed=s),
                        result({"c": acc(0.72 + bonus + extra + j), "d": acc(0.71 + j)}))
    board = build(tmp_path)
    frame = board.to_frame().set_index("label")
    assert frame.loc["[mt-sm] a | c+d | mlp | mmoe | uw", "vs_ew.reference"] == "[mt-sm] a | c+d | mlp | mmoe | ew"
    assert frame.loc["[mt-sm] a | c+d | mlp | hps | uw", "vs_ew.reference"] == "[mt-sm] a | c+d | mlp | hps | ew"
    assert frame.loc["[mt-sm] a | c+d | mlp | mmoe | uw", "architecture"] == "mmoe"
    md = board.to_markdown()
    header = md.split("## Multitask, single-modal (`mt-sm`)", 1)[1].split("\n\n", 2)[1].splitlines()[0]
    assert "architecture" in header
    assert {k.kind for k in board.aggregates} == {"weighting", "architecture"}
    arch = next(k for k in board.aggregates if k.kind == "architecture")
    # mmoe beats hps on every run of task c and ties on d (identical scores): P = (1 + 0.5) / 2
    assert arch.reference == "hps" and next(v for v in arch.values if v.value == "mmoe").poi.value == 0.75
    # split seeds present only on the multitask rows: the page says which configurations cover data splits
    assert "train/validation redrawn per seed for 4 of 6 configurations" in md


def test_split_seeds_pair_only_on_the_same_split(tmp_path: Path):
    with ResultStore(tmp_path) as store:
        for s in range(3):
            for task in ("c", "d"):
                put(store, config("st-sm", ["a"], [task], seed=s, split_seed=s), result({task: acc(0.7)}))
            put(store, config("mt-sm", ["a"], ["c", "d"], weighting="ew", seed=s, split_seed=s),
                result({"c": acc(0.72), "d": acc(0.71)}))
    board = build(tmp_path)
    assert "- data split: train/validation redrawn per seed (`split_seed`) around one fixed test split" in board.to_markdown()
    row = board.to_frame().set_index("family").loc["mt-sm"]
    assert row["split_seeds"] == "0 1 2" and row["delta_m.n_pairs"] == 3 and row["delta_m.method"] == "paired"
    csv = pd.read_csv(io.StringIO(board.to_csv()))
    assert csv.loc[csv["family"] == "st-sm", "delta_m"].isna().all()
