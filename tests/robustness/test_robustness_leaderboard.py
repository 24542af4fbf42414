"""The leaderboard's robustness section on a fabricated store: effective robustness against the same-run
late-fusion reference (paired seeds, fallbacks), the markdown section, the CSV/JSON columns, the plot."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from scipy import stats

from mmbench.leaderboard.board import build
from mmbench.store import ResultStore

LEVELS = [0.0, 0.5, 1.0]
SETTINGS = {"levels": LEVELS}


def cfg(family: str, modalities: list[str], tasks: list[str], seed: int, aligner: str | None = None,
        fuser: str | None = None, weighting: str | None = None, robustness: bool = True) -> dict[str, Any]:
    out = {"family": family, "dataset": "toy", "modalities": modalities, "tasks": tasks,
           "encoders": {m: {"name": "mlp"} for m in modalities},
           "aligner": {"name": aligner} if aligner else None, "fuser": {"name": fuser} if fuser else None,
           "weighting": {"name": weighting} if weighting else None, "seed": seed, "training": {"epochs": 2}}
    return out | ({"robustness": SETTINGS} if robustness else {})


def rob(tasks: list[str], modalities: list[str], relative: dict[str, float], clean: float, drop: float) -> dict[str, Any]:
    curves = {m: {"noise": {t: [clean, clean * relative[f"{m}/noise"], clean * relative[f"{m}/noise"]] for t in tasks}}
              for m in modalities}
    return {"settings": {"levels": LEVELS, "seed": 0, "missing": True, "perturbations": None},
            "main_metric": {t: "accuracy" for t in tasks}, "clean": {t: clean for t in tasks},
            "missing": {m: {t: {"accuracy": clean - drop, "macro_f1": clean - drop} for t in tasks} for m in modalities},
            "missing_drop": {t: {m: drop for m in modalities} for t in tasks}, "curves": curves,
            "relative": {t: {f"{m}/noise": relative[f"{m}/noise"] for m in modalities} for t in tasks},
            "relative_mean": {t: sum(relative[f"{m}/noise"] for m in modalities) / len(modalities) for t in tasks},
            "errors": {}, "encoded": 0, "seconds": 0.5}


def put(store: ResultStore, config: dict[str, Any], robustness: dict[str, Any] | None, clean: float) -> None:
    result = {"metrics": {"test": {t: {"accuracy": clean, "macro_f1": clean} for t in config["tasks"]}},
              "train_seconds": 1.0, "params": 10, "trainable_params": 10, "peak_memory_mb": 1.0}
    if robustness is not None:
        result["robustness"] = robustness
    cell_id = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
    store.put(cell_id, "ok", config["family"], config["seed"], f"cell {cell_id}", config, result, None, "toy")


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory):
    """concat (seeds 0-2) vs late (seeds 0-1) on a+b; an infonce/uw multitask row whose reference falls back
    to none/ew; a single-modal row (no reference)."""
    directory = tmp_path_factory.mktemp("robust-board")
    with ResultStore(directory) as store:
        store.set_meta("grid", {"name": "toy", "dataset": "toy", "seeds": [0, 1, 2]})
        for s in range(3):
            put(store, cfg("st-cm", ["a", "b"], ["c"], s, "none", "concat"),
                rob(["c"], ["a", "b"], {"a/noise": 0.90 + 0.01 * s, "b/noise": 0.80 + 0.01 * s}, 0.8, 0.1 + 0.01 * s), 0.8)
            if s < 2:
                put(store, cfg("st-cm", ["a", "b"], ["c"], s, "none", "late"),
                    rob(["c"], ["a", "b"], {"a/noise": 0.85 + 0.02 * s, "b/noise": 0.75 + 0.02 * s}, 0.7, 0.05), 0.7)
            put(store, cfg("st-sm", ["a"], ["c"], s), rob(["c"], ["a"], {"a/noise": 0.7}, 0.6, 0.1), 0.6)
            for aligner, fuser, weighting, r in (("infonce", "concat", "uw", 0.95), ("none", "late", "ew", 0.9)):
                put(store, cfg("mt-cm", ["a", "b"], ["c", "d"], s, aligner, fuser, weighting),
                    rob(["c", "d"], ["a", "b"], {"a/noise": r, "b/noise": r}, 0.8, 0.2), 0.8)
    return build(directory)


def row(frame: pd.DataFrame, family: str, fuser: str, weighting: str | None = None) -> pd.Series:
    sel = (frame["family"] == family) & (frame["fuser"].fillna("") == fuser)
    if weighting:
        sel &= frame["weighting"] == weighting
    return frame[sel].iloc[0]


def test_effective_robustness_pairs_seeds_and_falls_back_to_the_reference_mean(board):
    frame = board.to_frame()
    concat = row(frame, "st-cm", "concat")
    # seed 0: (.90-.85 + .80-.75)/2 = .05; seed 1: (.91-.87 + .81-.77)/2 = .04; seed 2 vs late's mean (.86, .76): .06
    per_seed = [0.05, 0.04, 0.06]
    low, high = stats.t.interval(0.95, 2, loc=0.05, scale=stats.sem(per_seed))
    assert concat["robust.c.effective"] == pytest.approx(0.05)
    assert (concat["robust.c.effective.ci_low"], concat["robust.c.effective.ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert concat["robust.c.relative"] == pytest.approx(0.86)  # mean over seeds of (.9+.8)/2 + .01 s
    assert concat["robust.c.relative.a/noise"] == pytest.approx(0.91)
    assert concat["robust.c.missing_drop.a"] == pytest.approx(0.11) and concat["robust.c.missing_drop.b"] == pytest.approx(0.11)
    assert concat["robust.c.clean"] == pytest.approx(0.8)
    assert concat["robust_reference"] == "[st-cm] a+b | c | mlp/mlp | none | late" and concat["robust_reference_match"] == "matched"
    late = row(frame, "st-cm", "late")
    assert late["robust.c.effective"] == 0.0 and late["robust_reference_match"] == "itself"


def test_reference_fallback_and_single_modal_rows(board):
    frame = board.to_frame()
    uw = row(frame, "mt-cm", "concat", "uw")
    assert uw["robust_reference"].endswith("| none | late | ew") and uw["robust_reference_match"] == "fallback"
    assert uw["robust.c.effective"] == pytest.approx(0.05) and uw["robust.d.effective"] == pytest.approx(0.05)
    single = row(frame, "st-sm", "")
    assert pd.isna(single["robust_reference"]) and pd.isna(single.get("robust.c.effective"))
    assert single["robust.c.relative"] == pytest.approx(0.7) and single["robust.c.missing_drop.a"] == pytest.approx(0.1)


def test_csv_and_json_carry_the_columns(board):
    csv = pd.read_csv(io.StringIO(board.to_csv()))
    for col in ("robust.c.relative", "robust.c.relative.ci_low", "robust.c.effective", "robust.c.effective.ci_high",
                "robust.c.missing_drop.a", "robust.d.missing_drop.b", "robust.c.relative.b/noise", "robust_reference",
                "robust_reference_match", "robust_seconds"):
        assert col in csv.columns, col
    rows = json.loads(board.to_json())["rows"]
    concat = next(r for r in rows if r["family"] == "st-cm" and r["fuser"] == "concat")
    assert concat["robust.c.effective"] == pytest.approx(0.05)


def test_markdown_section_and_plot(board, tmp_path: Path):
    pngs = board.write_plots(tmp_path)
    assert tmp_path / "leaderboard-toy-robustness.png" in pngs
    md = board.to_markdown(pngs, link_dir=tmp_path)
    section = md[md.index("## Robustness"):md.index("## Failed cells")]
    assert "### Task c (accuracy)" in section and "### Task d (accuracy)" in section
    for header in ("clean accuracy ↑", "R ↑", "R a/noise ↑", "effective ↑", "drop without a ↓", "drop without b ↓",
                   "late-fusion reference"):
        assert header in section, header
    assert "+0.050 ± 0.025" in section  # concat's effective robustness with its interval
    assert "0 (reference)" in section and "itself" in section and "†" in section  # the uw row's fallback
    assert "Relative robustness R = ∫ r(l) dl / (l_max − l_min)" in section and "3 levels 0…1" in section
    assert "leaderboard-toy-robustness.png" in md


def test_no_robustness_no_section(tmp_path: Path):
    with ResultStore(tmp_path) as store:
        put(store, cfg("st-sm", ["a"], ["c"], 0, robustness=False), None, 0.5)
    board = build(tmp_path)
    assert "Robustness" not in board.to_markdown() and not any(c.startswith("robust") for c in board.to_frame().columns)
    assert board.write_plots(tmp_path / "plots") == []
