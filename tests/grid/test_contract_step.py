"""Contract checks before training (issue #27): every configuration of a grid takes one training step on a tiny
batch of the grid's own data in the checks before any cell (``--dry-run`` too), each component's output checked
against its contract, so a NaN objective, a wrong output shape or a missing ``out_dim`` fails in seconds —
naming the component, its plugin (the one name ``mmbench plugins`` uses) and the file and line of its class."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mmbench.cli.main import cli
from mmbench.testing.fixtures import mmbench_plugins  # noqa: F401 - the fixture

NAN_WEIGHTING = '''
import torch
from mmbench import Need, Weighting, hookimpl


class NanWeighting(Weighting):
    """A bug: the objective is NaN."""

    need = Need.LOSSES

    def combine(self, losses):
        self.last_weights = torch.ones(self.n_tasks)
        return losses.sum() * float("nan")


class FloatWeighting(Weighting):
    need = Need.LOSSES

    def combine(self, losses):
        return float("nan")  # a Python float, not a tensor


@hookimpl
def mmbench_register_weightings(register):
    register("nan", NanWeighting, description="returns a NaN objective")
    register("float-nan", FloatWeighting, description="returns a float NaN")
'''

BAD_FUSERS = '''
import torch
from torch import nn
from mmbench import Fuser, hookimpl


class TooNarrow(Fuser):
    def __init__(self, in_dims, dim: int = 8):
        super().__init__()
        self.proj = nn.Linear(sum(in_dims.values()), dim - 3)
        self.out_dim = dim  # a bug: forward returns dim - 3 features

    def forward(self, features):
        return self.proj(torch.cat([features[m] for m in sorted(features)], dim=1))


class NoWidth(Fuser):
    def __init__(self, in_dims):
        super().__init__()
        self.proj = nn.Linear(sum(in_dims.values()), 4)  # a bug: no self.out_dim

    def forward(self, features):
        return self.proj(torch.cat([features[m] for m in sorted(features)], dim=1))


@hookimpl
def mmbench_register_fusers(register):
    register("too-narrow", TooNarrow, description="out_dim says 8, forward returns 5")
    register("no-width", NoWidth, description="sets no out_dim")
'''


def _line(path: Path, cls: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(f"class {cls}("))


def _dry_run(write_grid, tmp_path: Path, *plugins: Path, **grid):
    path = write_grid(tmp_path / "g.yaml", **({"families": ["mt-cm"]} | grid))
    args = ["run", "--grid", str(path), "--out", str(tmp_path / "run"), "--dry-run"]
    for plugin in plugins:
        args += ["--plugin", str(plugin)]
    started = time.perf_counter()
    result = CliRunner().invoke(cli, args)
    return result, time.perf_counter() - started


def test_a_nan_weighting_fails_dry_run_in_seconds_naming_the_authors_file(write_grid, tmp_path: Path):
    plugin = tmp_path / "nan_weighting.py"
    plugin.write_text(NAN_WEIGHTING)
    result, seconds = _dry_run(write_grid, tmp_path, plugin, weightings=["ew", "nan"])
    assert result.exit_code != 0, result.output
    out = " ".join(result.output.split())  # click wraps nothing, but be safe with long lines
    assert "weighting 'nan' (local plugin 'nan_weighting', file " in out
    assert f"class NanWeighting at {plugin}:{_line(plugin, 'NanWeighting')}" in out
    assert "non-finite objective (nan)" in out and "before any cell trains" in out
    assert "mmbench_local_nan_weighting" not in out and "step.py" not in out
    assert not (tmp_path / "run" / "results.sqlite").exists()
    assert seconds < 60, f"the check took {seconds:.0f} s"


def test_every_broken_component_is_reported_in_one_pass(write_grid, tmp_path: Path):
    weightings, fusers = tmp_path / "nan_weighting.py", tmp_path / "bad_fusers.py"
    weightings.write_text(NAN_WEIGHTING)
    fusers.write_text(BAD_FUSERS)
    result, _ = _dry_run(write_grid, tmp_path, weightings, fusers, fusers=["concat", "too-narrow", "no-width"],
                         weightings=["ew", "nan", "float-nan"])
    assert result.exit_code != 0
    out = result.output
    assert "4 problems, found before any cell trained" in out, out
    assert (f"fuser 'too-narrow' (local plugin 'bad_fusers', file {fusers}" in out
            and f"class TooNarrow at {fusers}:{_line(fusers, 'TooNarrow')}" in out)
    assert "its output has shape [16, 5], expected [16, 8]; set out_dim (out_dims)" in out
    assert f"class NoWidth at {fusers}:{_line(fusers, 'NoWidth')}" in out and "no integer out_dim" in out
    assert f"class FloatWeighting at {weightings}:{_line(weightings, 'FloatWeighting')}" in out
    assert "FloatWeighting.combine returned a non-finite objective (nan), not a 0-dim tensor" in out
    assert out.count("class NanWeighting at") == 1  # once, not once per configuration it is in


def test_a_healthy_grid_passes_and_dry_run_says_what_was_checked(write_grid, tmp_path: Path):
    result, _ = _dry_run(write_grid, tmp_path, families=["st-sm", "st-cm", "mt-sm", "mt-cm"],
                         fusers=["concat", "late"], weightings=["ew", "pcgrad", "mgda"])
    assert result.exit_code == 0, result.output
    assert "passes its contract checks on a batch of the grid's data" in result.output


def test_check_weighting_says_the_objective_is_not_finite(tmp_path: Path, mmbench_plugins):
    from mmbench.testing import ContractError, check_weighting

    plugin = tmp_path / "nan_weighting.py"
    plugin.write_text(NAN_WEIGHTING)
    plugins = mmbench_plugins(plugin)
    for name in ("nan", "float-nan"):
        with pytest.raises(ContractError, match=r"combine returned a non-finite objective \(nan\)"):
            check_weighting(plugins.get("weightings", name).factory)
