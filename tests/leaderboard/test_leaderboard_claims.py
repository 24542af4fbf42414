"""The grid's ``claims:`` block: parsed and validated with did-you-mean errors, stored in the run's meta, read back by
the leaderboard (the families declared before the run decide the adjustment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmbench.grid.claims_spec import DEFAULT_MARGINS, FAMILIES, ClaimsSpec, parse_claims
from mmbench.grid.config import GridConfigError, parse_config
from mmbench.leaderboard.board import build
from mmbench.store import ResultStore

from leaderboard_helpers import full_grid  # type: ignore[import-not-found]


def test_defaults_and_round_trip():
    spec = parse_claims(None)
    assert spec.families == FAMILIES and spec.margins == DEFAULT_MARGINS and spec.metrics == "main"
    custom = parse_claims({"families": ["vs_ew"], "margins": {"gain": 2, "vs_ew": 0.5}, "metrics": "all"})
    assert custom.margins == {"vs_ew": 0.5, "delta_m": 1.0, "cross_modal_gain": 2.0}
    assert parse_claims(custom.as_dict()) == custom
    assert parse_config({"claims": {"families": ["delta_m"]}}).claims.families == ("delta_m",)
    assert parse_config({}).claims == ClaimsSpec()


@pytest.mark.parametrize("raw, message", [
    ({"familes": ["vs_ew"]}, "did you mean 'families'?"),
    ({"families": ["vs-ew"]}, "did you mean 'vs_ew'?"),
    ({"margins": {"gian": 1.0}}, "did you mean 'gain'?"),
    ({"margins": {"vs_ew": -1}}, "positive number"),
    ({"metrics": "mian"}, "did you mean 'main'?"),
    ({"alpha": 1.5}, "in (0, 1)"),
])
def test_bad_claims_are_named_before_any_training(raw, message):
    with pytest.raises(GridConfigError, match="claims") as err:
        parse_config({"claims": raw}, source="g.yaml")
    assert message in str(err.value) and str(err.value).startswith("g.yaml: ")


def test_the_leaderboard_reads_the_families_the_run_declared(tmp_path: Path):
    run = full_grid(tmp_path)
    with ResultStore(run) as store:
        meta = store.get_meta("grid", {})
        store.set_meta("grid", meta | {"claims": ClaimsSpec(families=("delta_m",), metrics="all").as_dict()})
    board = build(run)
    assert board.claims.families == ("delta_m",) and board.claims.metrics == "all"
    fams = {c.kind: c.family for c in board.comparisons if c.result is not None}
    assert fams == {"delta_m": "delta_m", "vs_ew": "exploratory", "cross_modal_gain": "exploratory"}
    md = board.to_markdown()
    assert "primary families (declared in the grid's `claims:` before the run): Δm% vs 0 (±1 Δm% points)" in md
    assert "- metric set (Δm%, gains, picks): every stored metric per task (`claims: {metrics: all}`)" in md
