"""The foundation: hook specs documented, registries with close-match errors, CLI answers."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mmbench import hookspecs
from mmbench.cli.main import cli
from mmbench.plugins import Entry, Registry, UnknownComponentError, get_registries
from mmbench.plugins.registry import DuplicateComponentError
from mmbench.testing.fixtures import mmbench_plugins  # noqa: F401 - the fixture

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


#: what would make ``mmbench --help`` slow (seconds of imports); checked by module, not by wall clock
HEAVY = ("torch", "numpy", "pandas", "scipy", "sklearn", "optuna", "pyarrow", "datasets", "transformers")


def test_help_and_version_import_nothing_heavy():
    code = ("import sys, mmbench.cli.main as m; sys.argv=['mmbench','--help']\ntry: m.main()\nexcept SystemExit: pass\n"
            f"print(sorted({{name.split('.')[0] for name in sys.modules}} & set({HEAVY!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", f"mmbench --help imported {out.stdout.strip().splitlines()[-1]}"
    version = subprocess.run([sys.executable, "-m", "mmbench.cli.main", "--version"], capture_output=True, text=True)
    assert "mmbench, version" in version.stdout


# --- the flat plugin API (issue #22) ------------------------------------------------------------------

FLAT = ("Encoder", "Aligner", "Fuser", "Architecture", "Weighting", "JacobianWeighting", "GramianWeighting",
        "JacobianAggregator", "Need", "Perturbation", "DatasetSpec", "ModalitySpec", "TaskSpec", "hookimpl")


def test_the_flat_api_is_lazy_and_names_each_home():
    code = ("import sys, mmbench\nassert 'torch' not in sys.modules, 'import mmbench imported torch'\n"
            f"from mmbench import {', '.join(FLAT)}, Register, lazy\n"
            "assert 'torch' in sys.modules\n"
            "import mmbench.components.base as b, mmbench.data.spec as d, mmbench.robustness.perturbations as p\n"
            "assert (Fuser, JacobianWeighting, Need) == (b.Fuser, b.JacobianWeighting, b.Need)\n"
            "assert (DatasetSpec, Perturbation) == (d.DatasetSpec, p.Perturbation)\n"
            "assert set(mmbench.__all__) <= set(dir(mmbench))\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    import mmbench

    with pytest.raises(AttributeError, match="no attribute 'Fusr'"):
        mmbench.Fusr  # noqa: B018


def test_list_reads_need_from_the_class_without_importing_torch():
    code = ("import json, sys\nfrom click.testing import CliRunner\nfrom mmbench.cli.main import cli\n"
            "out = CliRunner().invoke(cli, ['list', 'weightings', '--json']).output\n"
            "print(json.dumps({e['name']: e['need'] for e in json.loads(out)['weightings']}))\n"
            "print('torch' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MMBENCH_")} | {"MMBENCH_LOAD_PLUGINS": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    needs, torch_loaded = out.strip().splitlines()[-2:]
    needs = json.loads(needs)
    assert needs["ew"] == "losses" and needs["mgda"] == "param_jacobian" and needs["graddrop"] == "param_jacobian"
    assert torch_loaded == "False"


def test_a_registration_need_that_disagrees_with_the_class_is_an_error_naming_both(tmp_path, mmbench_plugins):
    from mmbench.components.checks import weighting_need_problem

    plugin = tmp_path / "need_clash.py"
    plugin.write_text("from mmbench import hookimpl\nfrom mmbench.components.weightings.scalarization import EqualWeighting\n\n\n"
                      "@hookimpl\ndef mmbench_register_weightings(register):\n"
                      "    register('ew-jac', EqualWeighting, need='param_jacobian')\n"
                      "    register('ew-same', EqualWeighting, need='losses')\n    register('ew-bare', EqualWeighting)\n")
    plugins = mmbench_plugins(plugin)
    clash, same, bare = (plugins.get("weightings", n) for n in ("ew-jac", "ew-same", "ew-bare"))
    problem = weighting_need_problem(clash.create(2), clash.metadata["need"])
    assert "need='param_jacobian'" in problem and "EqualWeighting declares need = Need.LOSSES" in problem
    assert weighting_need_problem(same.create(2), "losses") is None and weighting_need_problem(bare.create(2)) is None


def test_hooks_are_called_through_pluggy_so_hookwrappers_see_them(tmp_path, mmbench_plugins):
    plugin = tmp_path / "wrapping.py"
    plugin.write_text(
        "from mmbench import hookimpl\n\nSEEN = []\n\n\n"
        "@hookimpl(wrapper=True)\ndef mmbench_register_fusers(register):\n"
        "    SEEN.append('fusers')\n    return (yield)\n\n\n"
        "@hookimpl(hookwrapper=True)\ndef mmbench_register_commands(cli):\n    SEEN.append(type(cli).__name__)\n    yield\n")
    other = tmp_path / "plain.py"
    other.write_text("from mmbench import hookimpl\nfrom mmbench.components.fusers.simple import ConcatFuser\n\n\n"
                     "@hookimpl\ndef mmbench_register_fusers(register):\n    register('concat-again', ConcatFuser)\n")
    plugins = mmbench_plugins(plugin, other)
    assert plugins.get("fusers", "concat-again").plugin == "plain"  # each entry still names the plugin that registered it
    assert plugins.get("fusers", "concat").plugin == "mmbench.components.fusers"
    seen = sys.modules["mmbench_local_wrapping"].SEEN
    assert seen.count("fusers") == 2  # around each plugin's call: the built-in fusers' and plain's
    assert CliRunner().invoke(cli, ["--help"]).exit_code == 0
    assert "LazyPluginGroup" in seen  # the click group passed through the old-style wrapper too
    from mmbench.plugins import manager

    assert not hasattr(manager, "call_hook_per_plugin")


def test_strict_loading_reports_a_misspelled_entry_point(mmbench_plugins):
    from importlib import metadata

    from mmbench.testing import PluginLoadError

    installed = sorted(ep.name for ep in metadata.entry_points(group="mmbench"))
    with pytest.raises(PluginLoadError, match="entry point 'exampel' is not installed in group 'mmbench'") as err:
        mmbench_plugins(entry_points=["exampel"])
    if "example" in installed:
        assert "did you mean 'example'?" in str(err.value)
    assert mmbench_plugins(entry_points=["exampel"], strict=False).plugins == ()
