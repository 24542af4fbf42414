"""What a plugin author meets while iterating (issue: results that never go stale, every mistake caught
before training, a fast loop without packaging). Each case goes through the real CLI and plugin loading."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mmbench.cli.main import cli
from mmbench.grid.config import load_config
from mmbench.grid.runner import plan
from mmbench.plugins import reset
from mmbench.store import ResultStore

FUSER = '''
from mmbench import hookimpl
from mmbench.plugins import lazy


@hookimpl
def mmbench_register_fusers(register):
    register("bilinear-pool", lazy("mmbench_mymethods.impl:BilinearPool"), description="a test fuser")
'''

IMPL = '''
import torch
from torch import nn
from mmbench.components.base import Fuser


class BilinearPool(Fuser):
    def __init__(self, in_dims, rank: int = {rank}):
        super().__init__()
        self.names = sorted(in_dims)
        self.proj = nn.ModuleDict({{m: nn.Linear(d, rank) for m, d in in_dims.items()}})
        self.out_dim = rank

    def forward(self, features):
        out = 1
        for m in self.names:
            out = out * self.proj[m](features[m])
        return out
'''


def _install(install_plugin, rank: int = 4, version: str = "0.0.1") -> Path:
    root = install_plugin("mymethods", "mmbench_mymethods", {"mmbench_mymethods/__init__.py": FUSER,
                                                               "mmbench_mymethods/impl.py": IMPL.format(rank=rank)})
    if version != "0.0.1":
        dist = root / "mmbench_mymethods-0.0.1.dist-info"
        (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: mmbench-mymethods\nVersion: {version}\n")
    return root


def _fresh() -> None:
    """What a new ``mmbench`` process sees: the plugin's modules imported again, plugins reloaded."""
    for name in [m for m in sys.modules if m.startswith("mmbench_mymethods")]:
        del sys.modules[name]
    reset()


def _grid(write_grid, tmp_path: Path, **over) -> Path:
    return write_grid(tmp_path / "g.yaml", **({"fusers": ["bilinear-pool"], "weightings": ["ew"],
                                               "families": ["st-cm"], "tasks": ["redundant"]} | over))


def _run(*args: str):
    return CliRunner().invoke(cli, ["run", *args, "--quiet"])


def test_plain_and_qualified_names_are_one_cell(install_plugin, write_grid, tmp_path: Path):
    _install(install_plugin)
    cells = plan(load_config(_grid(write_grid, tmp_path, fusers=["bilinear-pool", "mymethods:bilinear-pool",
                                                                  {"name": "bilinear-pool", "rank": 4}]))).cells
    assert len(cells) == 1
    assert cells[0].fuser.name == "bilinear-pool" and dict(cells[0].fuser.options) == {"rank": 4}


def test_a_changed_default_or_version_makes_cells_stale(install_plugin, write_grid, tmp_path: Path):
    grid, out = _grid(write_grid, tmp_path), tmp_path / "run"
    root = _install(install_plugin)
    assert _run("--grid", str(grid), "--out", str(out)).exit_code == 0
    # the plugin's default option changes: a different cell (its id covers the resolved options)
    (root / "mmbench_mymethods" / "impl.py").write_text(IMPL.format(rank=6))
    _fresh()
    again = _run("--grid", str(grid), "--out", str(out))
    assert again.exit_code == 0 and "1 ran ok" in again.output and "0 already done" in again.output
    # the version changes: the finished cell is stale and recomputed, and the run says why
    dist = root / "mmbench_mymethods-0.0.1.dist-info"
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mmbench-mymethods\nVersion: 0.1.1\n")
    _fresh()
    bumped = _run("--grid", str(grid), "--out", str(out))
    assert bumped.exit_code == 0 and "1 ran ok" in bumped.output
    assert "stale" in bumped.output  # the version changed, the defining module (impl.py) did not: the run says so
    assert re.search(r"fuser: mmbench-mymethods 0\.0\.1 impl\.py@(sha256:\w+) → mmbench-mymethods 0\.1\.1 impl\.py@\1",
                     bumped.output), bumped.output
    # bump again, keep the stale cell behind the flag: nothing runs, the store lists it for the leaderboard
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mmbench-mymethods\nVersion: 0.2.0\n")
    _fresh()
    kept = _run("--grid", str(grid), "--out", str(out), "--keep-stale")
    assert kept.exit_code == 0 and "0 ran ok" in kept.output and "kept (--keep-stale" in kept.output
    with ResultStore(out) as store:
        rows = [r for r in store.rows() if dict(r.config["fuser"]) == {"name": "bilinear-pool", "rank": 6}]
        assert len(rows) == 1 and store.get_meta("stale_kept") == [rows[0].cell_id]
        assert json.loads(rows[0].provenance)["fuser"].startswith("mmbench-mymethods 0.1.1 impl.py@sha256:")


@pytest.mark.parametrize("fuser, expected", [
    ({"name": "bilinear-pool", "rnak": 8}, "unknown option 'rnak'; did you mean 'rank'?"),
    ({"name": "bilinear-pool", "rank": 4, "extra": 1}, "unknown option 'extra'"),
])
def test_option_typos_fail_before_training_naming_plugin_and_distribution(install_plugin, write_grid, tmp_path: Path,
                                                                          fuser, expected):
    _install(install_plugin)
    out = tmp_path / "run"
    for args in (["--dry-run"], []):
        result = _run("--grid", str(_grid(write_grid, tmp_path, fusers=[fuser])), "--out", str(out), *args)
        assert result.exit_code != 0
        assert expected in result.output
        assert "fuser 'bilinear-pool' (plugin 'mymethods', distribution 'mmbench-mymethods 0.0.1')" in result.output
        assert not (out / "results.sqlite").exists()


BAD_SIGNATURE = '''
from mmbench import hookimpl
from mmbench.components.fusers.simple import ConcatFuser

def make():  # a fuser factory must take in_dims
    return ConcatFuser({"a": 1})

@hookimpl
def mmbench_register_fusers(register):
    register("nullary", make)
'''

BAD_LAZY = '''
from mmbench import hookimpl
from mmbench.plugins import lazy

@hookimpl
def mmbench_register_fusers(register):
    register("missing", lazy("mmbench_badlazy.nowhere:Fuser"))
'''


@pytest.mark.parametrize("module, source, fuser, expected", [
    ("mmbench_badsig", BAD_SIGNATURE, "nullary", "takes 0 positional parameter(s), but a fuser factory is called with 1 (in_dims)"),
    ("mmbench_badlazy", BAD_LAZY, "missing", "its lazy() target 'mmbench_badlazy.nowhere:Fuser' cannot be imported"),
])
def test_broken_factories_fail_before_training(install_plugin, write_grid, tmp_path: Path, module, source, fuser, expected):
    install_plugin(module.split("_")[1], module, {f"{module}.py": source})
    result = _run("--grid", str(_grid(write_grid, tmp_path, fusers=[fuser])), "--out", str(tmp_path / "r"), "--dry-run")
    assert result.exit_code != 0 and expected in result.output, result.output
    assert f"fuser {fuser!r} (plugin" in result.output


MISSPELLED = '''
from mmbench import hookimpl

@hookimpl
def mmbench_register_fuser(register):  # the hook is mmbench_register_fusers
    pass

def mmbench_register_weightings(register):  # no @hookimpl: pluggy never calls it
    pass
'''


def test_misspelled_and_unmarked_hooks_are_reported_and_stop_a_run(install_plugin, write_grid, tmp_path: Path):
    install_plugin("typo", "mmbench_typo", {"mmbench_typo.py": MISSPELLED})
    listed = CliRunner().invoke(cli, ["plugins"])
    info = next(p for p in json.loads(listed.stdout) if p["name"] == "typo")
    assert info["hooks"] == []  # the misspelled hook is not listed as a hook
    problems = " ".join(info["problems"])
    assert "'mmbench_register_fuser', which is not an mmbench hook; did you mean 'mmbench_register_fusers'?" in problems
    assert "mmbench_register_weightings() without @mmbench.hookimpl" in problems
    out = tmp_path / "r"
    result = _run("--grid", str(write_grid(tmp_path / "g.yaml")), "--out", str(out), "--dry-run")
    assert result.exit_code != 0 and "--allow-plugin-problems" in result.output
    allowed = _run("--grid", str(write_grid(tmp_path / "g.yaml")), "--out", str(out), "--dry-run", "--allow-plugin-problems")
    assert allowed.exit_code == 0, allowed.output


CLASH = '''
import click
from mmbench import hookimpl

@hookimpl
def mmbench_register_commands(cli):
    @cli.command("list")
    def hijack():
        click.echo("hijacked")
'''


def test_a_plugin_command_cannot_replace_a_builtin(install_plugin):
    install_plugin("clash", "mmbench_clash", {"mmbench_clash.py": CLASH})
    result = CliRunner().invoke(cli, ["list", "fusers"])
    assert result.exit_code == 0 and "hijacked" not in result.output and "concat" in result.output
    assert "adds a command named 'list', which mmbench (or an earlier plugin) already has; refused" in result.output


LOCAL = '''
from mmbench import hookimpl
from mmbench.components.fusers.simple import ConcatFuser


class Doubled(ConcatFuser):
    """concat, times two"""

    def forward(self, features):
        return 2 * super().forward(features)


@hookimpl
def mmbench_register_fusers(register):
    register("doubled", Doubled, description="concat times two")
'''


def test_a_local_plugin_file_without_packaging(write_grid, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "my_methods.py").write_text(LOCAL)
    grid = write_grid(tmp_path / "g.yaml", fusers=["doubled"], families=["st-cm"], tasks=["redundant"],
                      plugins=["my_methods.py"])  # relative to the grid file
    out = tmp_path / "run"
    result = _run("--grid", str(grid), "--out", str(out))
    assert result.exit_code == 0, result.output
    with ResultStore(out) as store:
        (row,) = store.rows()
    assert row.config["fuser"] == {"name": "doubled"}
    assert json.loads(row.provenance)["fuser"].startswith("my_methods sha256:")
    assert row.result["versions"]["plugins"]["my_methods"].startswith("sha256:")
    monkeypatch.setenv("MMBENCH_PLUGINS", "")
    reset()
    plain = write_grid(tmp_path / "plain.yaml", fusers=["doubled"], families=["st-cm"], tasks=["redundant"])
    flagged = _run("--grid", str(plain), "--out", str(out), "--plugin", str(tmp_path / "my_methods.py"), "--dry-run")
    assert flagged.exit_code == 0, flagged.output
    reset()


def test_a_command_clash_is_refused_with_other_local_plugins_loaded(install_plugin, write_grid, tmp_path: Path):
    install_plugin("clash", "mmbench_clash", {"mmbench_clash.py": CLASH})
    (tmp_path / "my_methods.py").write_text(LOCAL)
    grid = write_grid(tmp_path / "g.yaml")
    result = _run("--grid", str(grid), "--out", str(tmp_path / "r"), "--dry-run", "--plugin", str(tmp_path / "my_methods.py"))
    assert result.exit_code != 0 and "adds a command named 'list'" in result.output, result.output


TYPO_SPACE = '''
from mmbench import hookimpl
from mmbench.components.weightings.dwa import DynamicWeightAverage


@hookimpl
def mmbench_register_weightings(register):
    register("dwa-typo", DynamicWeightAverage, need="losses", search_space={"temprature": {"low": 1, "high": 4}})
'''


def test_a_search_space_naming_no_option_is_refused(install_plugin, write_grid, tmp_path: Path):
    install_plugin("typospace", "mmbench_typospace", {"mmbench_typospace.py": TYPO_SPACE})
    grid = write_grid(tmp_path / "g.yaml", weightings=["dwa-typo"], families=["mt-sm"])
    result = _run("--grid", str(grid), "--out", str(tmp_path / "r"), "--dry-run")
    assert result.exit_code != 0
    assert "declares a search_space for 'temprature', an option its factory does not take" in result.output
