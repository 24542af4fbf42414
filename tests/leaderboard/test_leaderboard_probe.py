"""The probe grid of issue #23 at 10 seeds: a weighting that puts weight 0 on the first task (it never trains) is
significantly worse than EW after adjustment, an exact EW clone under another name is equivalent to EW, and every
vs-EW row carries its minimum detectable effect. Both weightings come from a local plugin file."""

from __future__ import annotations

import math
from pathlib import Path

from click.testing import CliRunner

from mmbench.cli.main import cli
from mmbench.leaderboard.board import build
from mmbench.leaderboard.report.prose import findings

PROBE = '''
from mmbench import Weighting, hookimpl
from mmbench.components.weightings.scalarization import EqualWeighting


class ZeroFirst(Weighting):
    """Weight 0 on the first task, 1 on the others: the first task's head never trains."""

    def combine(self, losses):
        self.last_weights = (losses.detach() * 0 + 1).cpu()
        self.last_weights[0] = 0.0
        return losses[1:].sum() + 0.0 * losses[0]


@hookimpl
def mmbench_register_weightings(register):
    register("ew-clone", EqualWeighting, description="EW under another name")
    register("zero-first", ZeroFirst, description="weight 0 on the first task")
'''


def test_the_probe_grid_concludes(tmp_path: Path, write_grid):
    (tmp_path / "probe_weightings.py").write_text(PROBE)
    grid = write_grid(tmp_path / "probe.yaml", families=["st-sm", "mt-sm"], modalities=["a"], seeds=10,
                      weightings=["ew", "ew-clone", "zero-first"], plugins=["probe_weightings.py"],
                      training={"epochs": 3, "batch_size": 256, "patience": 3})
    out = tmp_path / "run"
    run = CliRunner().invoke(cli, ["run", "--grid", str(grid), "--out", str(out), "--quiet"])
    assert run.exit_code == 0, run.output
    board = build(out)
    assert board.meta["claims"]["families"] == ["vs_ew", "delta_m", "cross_modal_gain"]  # declared before the run
    vs_ew = {c.config.weighting: c for c in board.comparisons if c.kind == "vs_ew"}
    assert set(vs_ew) == {"ew-clone", "zero-first"}
    zero, clone = vs_ew["zero-first"], vs_ew["ew-clone"]
    assert zero.n_pairs == 10 and zero.family == "vs_ew"
    assert zero.verdict == "worse" and zero.p_adjusted <= 0.05 and zero.result.effect.mean < 0
    assert clone.verdict == "equivalent" and clone.equivalent and math.isfinite(clone.p_equivalence_adjusted)
    assert all(math.isfinite(c.mde) and c.mde >= 0 for c in vs_ew.values())
    frame = board.to_frame().set_index("weighting")
    assert frame.loc["zero-first", "vs_ew.verdict"] == "worse" and frame.loc["ew-clone", "vs_ew.verdict"] == "equivalent"
    assert frame.loc[["zero-first", "ew-clone"], "vs_ew.mde"].notna().all()
    text = " ".join(findings(board))
    assert "loses to EW by" in text and "Equivalent to EW within ±1 Δm% points" in text
