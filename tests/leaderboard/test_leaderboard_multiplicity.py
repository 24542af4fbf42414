"""Benjamini–Hochberg and Holm on known vectors (by hand), and the adjustment inside each declared family."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mmbench.grid.claims_spec import ClaimsSpec
from mmbench.leaderboard.board import build
from mmbench.leaderboard.report.prose import findings
from mmbench.leaderboard.stats.multiplicity import adjust, holm

from leaderboard_helpers import full_grid  # type: ignore[import-not-found]

P = [0.01, 0.04, 0.03, 0.005]


def test_benjamini_hochberg_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 (m = 4): p·m/rank = 0.02, 0.02, 0.04, 0.04; running minimum from the top
    assert adjust(P, "bh").tolist() == pytest.approx([0.02, 0.04, 0.04, 0.02])
    # a larger p early in the order is pulled down by a smaller adjusted value later: 0.2·3/2 = 0.3 → min(0.3, 0.24)
    assert adjust([0.01, 0.2, 0.24], "bh").tolist() == pytest.approx([0.03, 0.24, 0.24])


def test_holm_by_hand():
    # sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → running max 0.02, 0.03, 0.06, 0.06
    assert holm(P).tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert adjust(P, "holm").tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]).tolist() == pytest.approx([1.0, 1.0])  # capped at 1
    assert holm([0.01]).tolist() == [0.01]


def test_nan_entries_are_left_out_of_m():
    out = adjust([0.01, math.nan, 0.04], "holm")
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.04)
    assert np.isnan(adjust([math.nan, math.nan])).all()
    with pytest.raises(ValueError):
        adjust(P, "bonferroni")


def test_each_declared_family_is_adjusted_inside_itself(tmp_path: Path):
    run = full_grid(tmp_path)
    for method in ("bh", "holm"):
        board = build(run, adjust=method)
        tests = board.comparisons_frame()
        tested = tests[tests["n_pairs"] > 0]
        assert len(tested) == 13 and set(tested["kind"]) == {"vs_ew", "delta_m", "cross_modal_gain"}
        assert (tested["comparison_family"] == tested["kind"]).all()  # the default claims: one family per kind
        for _, fam in tested.groupby("comparison_family"):
            assert fam["p_adjusted"].to_numpy() == pytest.approx(adjust(fam["p_value"].to_numpy(), method))
            assert fam["p_equivalence_adjusted"].to_numpy() == pytest.approx(adjust(fam["p_equivalence"].to_numpy(), method))
        assert (tested["p_adjusted"] >= tested["p_value"] - 1e-12).all()
    assert "Holm (family-wise error rate)" in build(run, adjust="holm").to_markdown()
    with pytest.raises(ValueError):
        build(run, adjust="none")


def test_undeclared_kinds_are_one_exploratory_family(tmp_path: Path):
    run = full_grid(tmp_path)
    board = build(run, claims=ClaimsSpec(families=("vs_ew",)))
    tests = board.comparisons_frame()
    tested = tests[tests["n_pairs"] > 0]
    primary, rest = tested[tested["kind"] == "vs_ew"], tested[tested["kind"] != "vs_ew"]
    assert set(primary["comparison_family"]) == {"vs_ew"} and set(rest["comparison_family"]) == {"exploratory"}
    assert rest["p_adjusted"].to_numpy() == pytest.approx(adjust(rest["p_value"].to_numpy()))
    assert primary["p_adjusted"].to_numpy() == pytest.approx(adjust(primary["p_value"].to_numpy()))
    text = " ".join(findings(board))
    assert "Family exploratory (exploratory, adjusted separately" in text
