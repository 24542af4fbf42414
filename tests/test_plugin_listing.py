"""What ``mmbench list`` and ``mmbench plugins`` show a plugin author (issue #27): every component's options with
their defaults and search spaces (read from source, so listing imports no torch), and name clashes filed as
warnings, since they do not stop a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mmbench.cli.main import cli
from mmbench.plugins import get_registries
from mmbench.plugins.options import ComponentOptionError, listed_options, options_signature
from mmbench.plugins.static import Expression, signature_parameters
from mmbench.testing.fixtures import mmbench_plugins  # noqa: F401 - the fixture

OPTIONS = '''
from mmbench import hookimpl
from mmbench.components.fusers.simple import ConcatFuser


class Scaled(ConcatFuser):
    def __init__(self, in_dims, scale: float, mode: str = "x"):  # scale has no default: a required option
        super().__init__(in_dims)
        self.scale = scale


def anything(in_dims, **options):
    return ConcatFuser(in_dims)


@hookimpl
def mmbench_register_fusers(register):
    register("scaled", Scaled, description="concat, scaled", search_space={"scale": {"choices": [1, 2]}})
    register("anything", anything, description="takes any option")
    register("concat", ConcatFuser, description="a second concat: a name clash")
'''


def _listed(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["list", *args, "--json"])
    assert result.exit_code == 0, result.output
    return {kind: {e["name"]: e for e in entries} for kind, entries in json.loads(result.stdout).items()}


def test_list_json_shows_options_defaults_and_search_spaces(tmp_path: Path, mmbench_plugins):
    (tmp_path / "options_plugin.py").write_text(OPTIONS)
    mmbench_plugins(tmp_path / "options_plugin.py", strict=False)  # the clash is reported, on purpose
    fusers, weightings = _listed("fusers")["fusers"], _listed("weightings")["weightings"]
    assert fusers["lowrank-tensor"]["options"] == {"dim": {"default": 64},
                                                   "rank": {"default": 4, "search_space": {"low": 1, "high": 16, "int": True}}}
    assert fusers["concat"]["options"] == {}
    assert fusers["scaled"]["options"] == {"scale": {"required": True, "search_space": {"choices": [1, 2]}},
                                           "mode": {"default": "x"}}
    assert fusers["anything"]["options"] == {} and fusers["anything"]["accepts_any_option"] is True
    assert weightings["dwa"]["options"]["temperature"]["default"] == 2.0
    assert "seed" not in weightings["dwa"]["options"]  # what the harness passes is not an option
    table = CliRunner().invoke(cli, ["list", "fusers"]).output
    assert "rank=4 ∈ [1, 16] int" in table and "scale (required) ∈ {1, 2}" in table and "**any" in table


def test_options_read_from_source_match_the_imported_signatures():
    """``mmbench list`` reads a lazy target's signature from its source (no import); for every built-in it is the
    signature grids are checked against."""
    checked = 0
    for registry in get_registries().values():
        for entry in registry:
            target = getattr(entry.factory, "__mmbench_target__", None)
            if target is None or not entry.plugin.startswith("mmbench."):
                continue
            module, _, attr = target.partition(":")
            static = signature_parameters(module, attr)
            try:
                params, var_kw = options_signature(entry)
            except ComponentOptionError:  # a lazy target whose module does not exist (yet)
                continue
            assert static is not None, target
            listed = listed_options(entry)
            assert listed is not None
            from_source = {p.name: p for p in static}
            for name, p in params.items():
                assert name in from_source, (target, name)
                default = from_source[name].default
                if not isinstance(default, Expression):
                    assert default == p.default or (default is p.empty and p.default is p.empty), (target, name)
            assert set(listed[0]) == set(params) and listed[1] == var_kw, target
            checked += 1
    assert checked >= 40


def test_plugins_files_name_clashes_under_warnings(tmp_path: Path, mmbench_plugins):
    (tmp_path / "options_plugin.py").write_text(OPTIONS)
    mmbench_plugins(tmp_path / "options_plugin.py", strict=False)
    result = CliRunner().invoke(cli, ["plugins"])
    info = {p["name"]: p for p in json.loads(result.stdout)}["options_plugin"]
    assert "problems" not in info  # a clash does not stop `mmbench run`
    (warning,) = info["warnings"]
    assert "fuser 'concat' is registered by both plugin 'mmbench.components.fusers' and plugin 'options_plugin'" in warning


@pytest.mark.parametrize("kind", ["encoders", "datasets", "perturbations"])
def test_every_builtin_lists_its_options(kind: str):
    entries = _listed(kind)[kind]
    missing = [name for name, e in entries.items() if e["options"] is None and e["plugin"].startswith("mmbench.")]
    assert len(missing) <= 1, missing  # at most a module being written (a real-data builder)
