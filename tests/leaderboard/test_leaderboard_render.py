"""Markdown, CSV and JSON: bold best values, escaping, n=1, failed cells, formula under every table, columns."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd

from mmbench.grid.claims_spec import ClaimsSpec
from mmbench.leaderboard.board import build
from mmbench.leaderboard.report.format import escape
from mmbench.leaderboard.report.texts import FORMULA, MODEL_SELECTION
from mmbench.store import ResultStore

from leaderboard_helpers import cls, config, full_grid, put, reg, result  # type: ignore[import-not-found]


def _table_rows(markdown: str, heading: str) -> list[str]:
    """The lines of the first table after ``heading`` (header, rule, rows)."""
    return markdown.split(heading, 1)[1].split("\n\n", 2)[1].splitlines()


def _cells(line: str) -> list[str]:
    """Split a table line on unescaped pipes."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]


def test_best_value_per_column_is_bold_in_the_right_direction(tmp_path: Path):
    md = build(full_grid(tmp_path), claims=ClaimsSpec(metrics="all")).to_markdown()
    rows = _table_rows(md, "## Multitask, cross-modal (`mt-cm`)")
    header = _cells(rows[0])
    by_weighting = {(c := _cells(r))[header.index("weighting")]: c for r in rows[2:]}
    acc, mae, dm = header.index("c accuracy ↑"), header.index("r mae ↓"), header.index("Δm% ↑")
    assert by_weighting["uw"][acc] == "**0.790 ± 0.025**" and by_weighting["ew"][acc] == "0.770 ± 0.025"
    assert by_weighting["uw"][mae] == "**1.140 ± 0.025**" and not by_weighting["ew"][mae].startswith("**")
    assert by_weighting["uw"][dm].startswith("**+4.36") and by_weighting["pcgrad"][dm] == "—"
    # three seeds whose differences barely vary: the paired t-test decides (the sign-flip floor 0.25 no longer does)
    assert by_weighting["uw"][header.index("vs EW")] == "+2.06 ± 0.06, better: p=<0.001 (adj <0.001, n=3, MDE 0.13)"
    assert by_weighting["uw"][header.index("Δm% test")].startswith("better: p=<0.001 (adj <0.001, n=3, MDE ")
    # paired by seed: the common shift j = 0.01 s of both rows cancels, so the interval is narrow
    assert by_weighting["uw"][header.index("cross-modal gain% ↑")] == "**+6.78 ± 0.19 (vs a)**"
    assert by_weighting["pcgrad"][header.index("seeds")] == "0 (+1 failed)"
    # equal costs single nothing out
    assert not any(c[header.index("trainable params ↓")].startswith("**") for c in by_weighting.values())


def test_formula_and_model_selection_are_under_every_table(tmp_path: Path):
    md = build(full_grid(tmp_path)).to_markdown()
    families = [part for part in md.split("\n## ")[1:] if part.split("\n", 1)[0].endswith("`)")]
    assert len(families) == 4
    assert md.count(FORMULA) == 4 and md.count(MODEL_SELECTION) == 4
    for section in families:
        table_end = section.rindex("\n|")
        assert FORMULA in section[table_end:] and MODEL_SELECTION in section[table_end:]
    assert "- seeds: 0, 1, 2" in md and "- cells: 36 ok, 1 failed" in md
    assert "- data split: one fixed split" in md and "training seeds only" in md
    assert "adjusted by Benjamini–Hochberg (false discovery rate) inside each declared family" in md
    assert "- tuning: none" in md
    assert "## Paired tests" in md and "## Aggregates per component (rliable)" in md and "### By weighting" in md


def test_failed_cells_are_listed_with_their_error(tmp_path: Path):
    md = build(full_grid(tmp_path)).to_markdown()
    failed = md.split("## Failed cells (1)", 1)[1]
    assert "FloatingPointError: loss is nan" in failed and "\\[mt-cm\\] a+b" in failed
    clean = build(full_grid(tmp_path / "clean", failed=False)).to_markdown()
    assert "## Failed cells (0)" in clean and "every stored cell finished ok" in clean


def test_pipes_and_markdown_characters_in_names_cannot_break_a_table(tmp_path: Path):
    assert escape("a|b") == "a\\|b"
    assert escape("x*y_[z]`<b>\nc") == "x\\*y\\_\\[z\\]\\`\\<b\\> c"
    with ResultStore(tmp_path) as store:
        for w in ("ew", "a|b"):
            put(store, config("mt-sm", ["m|x"], ["c", "r"], encoders={"m|x": "enc*bold*"}, weighting=w),
                result({"c": cls(0.5, 0.5), "r": reg(1.0, 1.0)}))
    md = build(tmp_path).to_markdown()
    rows = _table_rows(md, "## Multitask, single-modal (`mt-sm`)")
    widths = {len(_cells(line)) for line in rows}
    assert len(widths) == 1 and len(rows) == 4
    assert "a\\|b" in md and "enc\\*bold\\*" in md and "m\\|x" in md


def test_one_seed_shows_n1_instead_of_an_interval(tmp_path: Path):
    full_grid(tmp_path, seeds=(0,), failed=False)
    board = build(tmp_path, claims=ClaimsSpec(metrics="all"))
    md = board.to_markdown()
    assert "0.700 (n=1)" in md and "+2.28 (n=1)" in md and "too few seeds to test (n=1; the t-test needs 2)" in md
    rows = _table_rows(md, "## Single-task, single-modal (`st-sm`)")
    assert not any("±" in line for line in rows)
    assert board.to_frame()["c.accuracy.ci_low"].isna().all()


def test_csv_and_json_have_the_documented_columns(tmp_path: Path):
    board = build(full_grid(tmp_path))
    frame = pd.read_csv(io.StringIO(board.to_csv()))
    required = {"family", "modalities", "tasks", "encoders", "aligner", "fuser", "weighting", "seeds", "delta_m",
                "delta_m.ci_low", "delta_m.ci_high", "cross_modal_gain", "mean_rank", "params", "train_seconds",
                "peak_memory_mb", "failed_seeds", "architecture", "tuning", "hparams", "nonconverged_seeds", "stale",
                "delta_m.method", "delta_m.p_value", "delta_m.p_adjusted", "delta_m.n_pairs", "delta_m.min_p",
                "delta_m_excl_chance", "cross_modal_gain.p_value", "cross_modal_gain.p_adjusted", "vs_ew.test",
                "vs_ew.effect", "vs_ew.effect.ci_low", "vs_ew.effect.ci_high", "vs_ew.n_pairs", "vs_ew.min_p",
                "vs_ew.p_value", "vs_ew.p_adjusted", "vs_ew.p_signflip"}
    for cmp in ("vs_ew", "delta_m", "cross_modal_gain"):  # the declared-family columns of every comparison
        required |= {f"{cmp}.{k}" for k in ("p_value", "p_adjusted", "p_signflip", "p_equivalence",
                                            "p_equivalence_adjusted", "equivalent", "verdict", "mde", "family")}
    for task, metrics in (("c", ("accuracy", "macro_f1")), ("r", ("mae", "rmse"))):
        required |= {f"{task}.{m}.{s}" for m in metrics for s in ("mean", "ci_low", "ci_high")}
    assert required <= set(frame.columns)
    assert len(frame) == 13 and set(frame["modalities"]) == {"a", "b", "a+b"} and "c+r" in set(frame["tasks"])
    doc = json.loads(board.to_json())
    assert set(doc) == {"meta", "formula", "model_selection", "adjustment", "rows", "comparisons", "aggregates",
                        "failed", "plots", "claims"} | ({"schema", "schema_version"} & set(doc))
    assert doc["adjustment"] == {"method": "bh", "name": "Benjamini–Hochberg (false discovery rate)", "alpha": 0.05,
                                 "within": "family", "comparisons": 13}
    assert doc["claims"]["families"] == ["vs_ew", "delta_m", "cross_modal_gain"] and doc["claims"]["metrics"] == "main"
    assert {"kind", "test", "effect", "effect.ci_low", "effect.ci_high", "n_pairs", "min_p", "p_value", "p_adjusted"} \
        <= set(doc["comparisons"][0])
    assert "p_gt_ew" not in frame.columns
    assert doc["formula"] == FORMULA and len(doc["rows"]) == 13
    assert required <= set(doc["rows"][0])
    assert doc["failed"][0]["error"].startswith("FloatingPointError")
    assert doc["rows"][0]["delta_m"] is None  # nan becomes null


def test_empty_store_renders(tmp_path: Path):
    ResultStore(tmp_path).close()
    board = build(tmp_path)
    assert "No cells stored yet." in board.to_markdown()
    assert board.to_frame().empty and json.loads(board.to_json())["rows"] == []


def test_cost_columns_count_trainable_parameters_and_say_so(tmp_path: Path):
    """A frozen encoder's weights are not the row's capacity: the table shows the trainable count, the footnote
    says so, and the CSV keeps both counts."""
    with ResultStore(tmp_path) as store:
        store.set_meta("grid", {"name": "toy-grid", "dataset": "toy", "seeds": [0, 1], "counts": {}, "notes": []})
        for s in (0, 1):
            put(store, config("st-sm", ["a"], ["c"], encoders={"a": "frozen-text"}, seed=s),
                result({"c": cls(0.7 + 0.01 * s, 0.6)}, params=22_000_000) | {"trainable_params": 1_234})
    board = build(tmp_path)
    md = board.to_markdown()
    rows = _table_rows(md, "## Single-task, single-modal (`st-sm`)")
    header, row = _cells(rows[0]), _cells(rows[2])
    assert "params ↓" not in header and row[header.index("trainable params ↓")] == "1,234"
    assert "a frozen encoder's weights are not counted" in md
    frame = pd.read_csv(io.StringIO(board.to_csv()))
    assert frame["params"].iloc[0] == 22_000_000 and frame["trainable_params"].iloc[0] == 1_234
