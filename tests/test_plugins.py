"""The foundation: hook specs documented, registries with close-match errors, CLI answers."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mmbench import hookspecs
from mmbench.cli.main import cli
from mmbench.plugins import Entry, Registry, UnknownComponentError, get_registries
from mmbench.plugins.registry import DuplicateComponentError

ROOT = Path(__file__).resolve().parents[1]


def test_every_hook_is_documented_with_its_arguments():
    doc = (ROOT / "docs" / "plugins.md").read_text()
    hooks = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("mmbench_")]
    assert len(hooks) >= 7
    for name in hooks:
        args = list(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"### `{name}({', '.join(args)})`" in doc, f"{name} is not documented in docs/plugins.md"


def test_unknown_component_suggests_close_matches():
    reg = Registry("fusers")
    reg.add(Entry("fusers", "concat", lambda: None, "p"))
    with pytest.raises(UnknownComponentError) as err:
        reg.get("concatt")
    assert str(err.value).startswith("unknown fuser 'concatt'; did you mean 'concat'?")


def test_duplicate_names_name_both_plugins_and_qualified_name_resolves():
    reg = Registry("weightings")
    first, second = Entry("weightings", "ew", lambda: 1, "alpha"), Entry("weightings", "ew", lambda: 2, "beta")
    reg.add(first)
    with pytest.raises(DuplicateComponentError, match="'alpha' and plugin 'beta'"):
        reg.add(second)
    reg.add_shadowed(second)
    assert reg.get("ew") is first and reg.get("beta:ew") is second


def test_builtins_register_through_the_hooks():
    regs = get_registries()
    plugins = {e.plugin for kind in ("encoders", "aligners", "fusers", "weightings", "datasets") for e in regs[kind]}
    assert {"mmbench.components.fusers", "mmbench.components.weightings", "mmbench.data.builtin"} <= plugins


def test_list_json_has_every_kind_with_name_plugin_description():
    result = CliRunner().invoke(cli, ["list", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"encoders", "aligners", "fusers", "weightings", "datasets"} <= set(data)
    for kind in ("encoders", "aligners", "fusers", "weightings", "datasets"):
        assert data[kind], f"no {kind} registered"
        for entry in data[kind]:
            assert entry["name"] and entry["plugin"] and entry["description"], entry


def test_list_table_and_single_kind():
    result = CliRunner().invoke(cli, ["list", "fusers"])
    assert result.exit_code == 0
    assert "fusers (" in result.output and "concat" in result.output and "weightings" not in result.output


def test_plugins_all_lists_builtins_with_hooks():
    result = CliRunner().invoke(cli, ["plugins", "--all"])
    data = json.loads(result.output)
    names = {p["name"]: p for p in data}
    assert "mmbench_register_fusers" in names["mmbench.components.fusers"]["hooks"]
    assert all({"name", "version", "hooks"} <= set(p) for p in data)


def test_help_and_version_are_fast_and_import_no_torch():
    code = "import sys, mmbench.cli.main as m; sys.argv=['mmbench','--help']\ntry: m.main()\nexcept SystemExit: pass\nprint('torch' in sys.modules)"
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False"), "mmbench --help imported torch"
    assert time.perf_counter() - start < 5
    version = subprocess.run([sys.executable, "-m", "mmbench.cli.main", "--version"], capture_output=True, text=True)
    assert "mmbench, version" in version.stdout
