"""The example third-party plugin, seen from outside: entry points, allowlist, broken and clashing plugins.

Every check runs ``mmbench`` in a subprocess, as a user would. Broken and clashing plugins are installed
for one subprocess without pip: a ``*.dist-info`` folder (``METADATA`` + ``entry_points.txt``) and the
module, in a temporary folder on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

INSTALL_HINT = "install it with: pip install -e plugins/mmbench-example --no-deps"


@pytest.fixture(scope="module", autouse=True)
def _example_installed() -> None:
    try:
        dist = metadata.distribution("mmbench-example")
    except metadata.PackageNotFoundError:
        pytest.fail(f"the example plugin mmbench-example is not installed; {INSTALL_HINT}")
    assert any(ep.group == "mmbench" and ep.name == "example" for ep in dist.entry_points), INSTALL_HINT


def _run(*args: str, allow: str | None = None, path: Path | None = None, code: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MMBENCH_LOAD_PLUGINS"}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    if allow is not None:
        env["MMBENCH_LOAD_PLUGINS"] = allow
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(path), env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "mmbench.cli.main", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def _fake_plugin(root: Path, dist: str, entry_point: str, module: str, source: str) -> Path:
    """Install a one-module distribution into ``root`` the way pip would, minus pip."""
    (root / module).mkdir(parents=True)
    (root / module / "__init__.py").write_text(source)
    info = root / f"{dist.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[mmbench]\n{entry_point} = {module}\n")
    return root


def _listed(stdout: str) -> dict[str, dict[str, str]]:
    """``mmbench list --json`` as {kind: {name: plugin}}."""
    return {kind: {e["name"]: e["plugin"] for e in entries} for kind, entries in json.loads(stdout).items()}


def test_plugins_and_list_show_the_example_plugin():
    plugins = _run("plugins")
    assert plugins.returncode == 0, plugins.stderr
    example = {p["name"]: p for p in json.loads(plugins.stdout)}["example"]
    assert example["distribution"] == "mmbench-example" and example["version"] == "0.1.0"
    assert {"mmbench_register_fusers", "mmbench_register_weightings", "mmbench_register_commands"} <= set(example["hooks"])
    listed = _run("list", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    weightings = {e["name"]: e for e in data["weightings"]}
    lbtw = weightings["lbtw"]
    assert lbtw["plugin"] == "example" and lbtw["need"] == "losses" and lbtw["reference"].startswith("Liu")
    assert lbtw["search_space"] == {"alpha": {"low": 0.0, "high": 1.0}}
    for builtin in ("gls", "stch"):  # built-ins now (the example shipped each once), no clash
        assert weightings[builtin]["plugin"] == "mmbench.components.weightings"
    assert "registered by both" not in listed.stderr, listed.stderr
    assert _listed(listed.stdout)["fusers"]["max"] == "example"
    hello = _run("example-hello", "--name", "tests")
    assert hello.returncode == 0 and "fuser 'max', weighting 'lbtw'" in hello.stdout, hello.stdout + hello.stderr


def test_the_allowlist_hides_or_selects_the_example_plugin():
    hidden = _run("list", "--json", allow="")
    assert hidden.returncode == 0, hidden.stderr
    assert "max" not in _listed(hidden.stdout)["fusers"] and "lbtw" not in _listed(hidden.stdout)["weightings"]
    assert json.loads(_run("plugins", allow="").stdout) == []
    shown = _run("list", "--json", allow="example")
    assert _listed(shown.stdout)["fusers"]["max"] == "example"


def test_a_plugin_that_fails_to_import_is_reported_and_skipped(tmp_path: Path):
    site = _fake_plugin(tmp_path, "mmbench-broken", "broken", "mmbench_broken",
                        'raise RuntimeError("mmbench_broken is broken on purpose")\n')
    result = _run("list", "--json", path=site)
    assert result.returncode == 0, result.stderr
    assert "'broken'" in result.stderr and "'mmbench-broken'" in result.stderr
    assert "broken on purpose" in result.stderr
    listed = _listed(result.stdout)
    assert listed["fusers"]["max"] == "example"  # the other third-party plugin still loads
    assert listed["encoders"]["timm"] == "mmbench.components.encoders"  # and the built-ins
    assert all(listed[kind] for kind in ("encoders", "fusers", "weightings"))
    plugins = _run("plugins", path=site)
    assert plugins.returncode == 0 and "broken" not in {p["name"] for p in json.loads(plugins.stdout)}


CLASH_PROBE = """
import json
from mmbench.plugins import get_registry
fusers = get_registry("fusers")
print(json.dumps({name: fusers.get(name).plugin for name in ("max", "example:max", "shadow:max")}))
"""


def test_a_clashing_name_names_both_plugins_keeps_the_first_and_qualified_names_resolve(tmp_path: Path):
    site = _fake_plugin(tmp_path, "mmbench-shadow", "shadow", "mmbench_shadow", (
        "from mmbench import hookimpl\n\n"
        "@hookimpl\n"
        "def mmbench_register_fusers(register):\n"
        "    register('max', lambda in_dims, **options: None, description='a second max fuser')\n"
    ))
    listed = _run("list", "--json", path=site)
    assert listed.returncode == 0, listed.stderr
    assert "'max'" in listed.stderr and "'example'" in listed.stderr and "'shadow'" in listed.stderr
    assert "'shadow:max'" in listed.stderr  # the message says how to reach the other one
    probe = _run(path=site, code=CLASH_PROBE)
    assert probe.returncode == 0, probe.stderr
    # entry points load in name order: "example" before "shadow", so example keeps the plain name
    assert json.loads(probe.stdout) == {"max": "example", "example:max": "example", "shadow:max": "shadow"}


def test_a_plugin_cannot_take_a_builtin_name(tmp_path: Path):
    site = _fake_plugin(tmp_path, "mmbench-usurper", "usurper", "mmbench_usurper", (
        "from mmbench import hookimpl\n\n"
        "@hookimpl\n"
        "def mmbench_register_encoders(register):\n"
        "    register('mlp', lambda info, **options: None, description='not the built-in mlp', modality='tabular')\n"
    ))
    listed = _run("list", "--json", path=site)
    assert listed.returncode == 0, listed.stderr
    assert "'mmbench.components.encoders'" in listed.stderr and "'usurper'" in listed.stderr
    assert _listed(listed.stdout)["encoders"]["mlp"] == "mmbench.components.encoders"  # built-ins load first
