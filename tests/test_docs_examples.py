"""Every example in docs/plugins.md runs (issue #13: a plugin written from the docs alone must work).

The page's fenced blocks whose first line is ``# file: NAME`` are written to a directory (blocks naming the
same file are concatenated in order). Modules with ``@hookimpl`` are loaded as local plugins through the
real path (``MMBENCH_PLUGINS`` + ``mmbench.plugins.reset()``, via the ``mmbench_plugins`` fixture); every
component they register goes through its contract check; the command runs through the real CLI; the
dataset loads through ``mmbench.data.loading.load``; the grid file dry-runs; small grids train the examples
end to end; other scripts run; the documented plugin test file passes under pytest in a fresh process.
"""

from __future__ import annotations

import inspect
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mmbench import hookspecs
from mmbench.components.base import Need
from mmbench.plugins import KINDS
from mmbench.plugins.metadata import NEEDS
from mmbench.vocabulary import MODALITY_KINDS
from mmbench.plugins.options import HARNESS_KEYWORDS, HARNESS_POSITIONAL, declared_need
from mmbench.testing import PluginLoadError, check_fuser, check_weighting, isolated_plugins, run_tiny_grid
from mmbench.testing.fixtures import mmbench_plugins  # noqa: F401 - the fixture, as a conftest's pytest_plugins gives it

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "plugins.md"
FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```", re.M | re.S)
MARKER = re.compile(r"# file: (\S+)\n")
LANGUAGES = {"python", "yaml", "toml", "bash"}
HOOKS = [name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("mmbench_")]


def _blocks(text: str | None = None) -> list[tuple[str, str]]:
    return FENCE.findall(DOC.read_text() if text is None else text)


def _files() -> dict[str, str]:
    files: dict[str, str] = {}
    for _, body in _blocks():
        marker = MARKER.match(body)
        if marker:
            name = marker.group(1)
            files[name] = files[name] + "\n\n" + body if name in files else body
    return files


FILES = _files()
PLUGIN_FILES = sorted(n for n, src in FILES.items() if n.endswith(".py") and "@hookimpl" in src)
PYTEST_FILES = sorted(n for n in FILES if n == "conftest.py" or n.startswith("test_"))
SCRIPTS = sorted(n for n in FILES if n.endswith(".py") and n not in PLUGIN_FILES and n not in PYTEST_FILES)


@pytest.fixture(scope="module")
def docs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page's files, written as a reader would save them."""
    root = tmp_path_factory.mktemp("docs-examples")
    for name, source in FILES.items():
        (root / name).write_text(source)
    return root


@pytest.fixture
def examples(docs_dir: Path, mmbench_plugins):
    """The built-ins plus every example plugin of the page, nothing else; any plugin problem fails."""
    return mmbench_plugins(*(docs_dir / n for n in PLUGIN_FILES))


# --- the page itself --------------------------------------------------------------------------------


def test_every_block_is_a_known_language_and_every_python_block_is_a_named_file():
    blocks = _blocks()
    assert blocks
    for lang, body in blocks:
        assert lang in LANGUAGES, f"a ```{lang} block: mark it python, yaml, toml or bash\n{body[:200]}"
        if lang == "python":
            assert MARKER.match(body), f"a python block without a `# file: NAME` first line:\n{body[:200]}"
    for name, source in FILES.items():
        if name.endswith(".py"):
            compile(source, name, "exec")  # a SyntaxError names the file and line


def test_every_hook_has_a_documented_example_in_its_section():
    text = DOC.read_text()
    for hook in HOOKS:
        args = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
        heading = f"### `{hook}({args})`"
        assert heading in text, f"{hook} has no section {heading!r} in docs/plugins.md"
        implemented_in = [n for n in PLUGIN_FILES if re.search(rf"^def {hook}\(", FILES[n], re.M)]
        assert implemented_in, f"no example on the page implements {hook}"
        section = text.split(heading, 1)[1].split("\n### ", 1)[0]
        if hook != "mmbench_register_fusers":  # the early fuser is the first plugin's; the section has the late one
            assert any(f"# file: {n}" in section for n in implemented_in), f"the {hook} section shows no example of it"


def test_the_documented_factory_calls_match_what_the_harness_passes():
    text = DOC.read_text()
    rows = dict(re.findall(r"^\| (\w+) \| `factory\(([^`]*)\)` \|", text, re.M))
    assert set(rows) == set(HARNESS_POSITIONAL), rows
    for kind, count in HARNESS_POSITIONAL.items():
        args = [a.strip() for a in re.sub(r"\[[^\]]*\]", "", rows[kind]).split(",") if a.strip()]
        positional = [a for a in args if "=" not in a and not a.startswith("*")]
        assert len(positional) == count, f"{kind}: docs say factory({rows[kind]}), the harness passes {count} positional"
        for keyword in HARNESS_KEYWORDS.get(kind, ()):
            assert keyword in rows[kind] or f"`{keyword}`" in text.split(f"| {kind} |", 1)[1].split("\n", 1)[0]
    for value in NEEDS + MODALITY_KINDS:
        assert f'"{value}"' in text, f"metadata value {value!r} is not documented"


# --- the example plugins -----------------------------------------------------------------------------


def test_the_example_plugins_load_cleanly_as_local_files(examples, docs_dir: Path):
    from mmbench.plugins.manager import plugin_info

    assert sorted(examples.plugins) == sorted(Path(n).stem for n in PLUGIN_FILES)
    implemented = set()
    for name in PLUGIN_FILES:
        info = plugin_info(Path(name).stem)
        assert info is not None and info.source == f"file {docs_dir / name}"
        assert info.version.startswith("sha256:") and info.hooks, info
        implemented |= set(info.hooks)
    assert implemented == set(HOOKS)
    assert not examples.problems


def test_every_example_component_meets_its_contract(examples):
    entries = examples.entries()
    assert {e.kind for e in entries} == set(KINDS), "every kind has an example component"
    examples.check()  # check_registered: the contract check of each kind, with default options
    for entry in entries:
        assert entry.description, f"{entry.kind} {entry.name!r} has no description"
        if entry.kind == "weightings":
            assert declared_need(entry) == entry.factory.need.value  # declared once, on the class
        if entry.kind in ("encoders", "perturbations"):
            assert entry.metadata["modality"] in MODALITY_KINDS
        space = entry.metadata.get("search_space") or {}
        params = inspect.signature(entry.factory).parameters
        assert set(space) <= set(params), f"{entry.name}: search_space names options the factory lacks"

    fusers = {e.name: e.factory for e in examples.entries("fusers")}
    assert {f.late for f in fusers.values()} == {False, True}, "an early and a late-fusion example"
    check_fuser(fusers["late-softmax"], temperature=0.5)

    weightings = {e.name: e.factory for e in examples.entries("weightings")}
    drop = weightings["random-task-drop"]
    check_weighting(drop, declared_need="param_jacobian", wrt="representation")
    needs = {w(2, seed=0).need for w in weightings.values()} | {drop(2, seed=0, wrt="representation").need}
    assert needs == set(Need)
    assert drop.need is Need.PARAM_JACOBIAN and drop(2, wrt="representation").need is Need.REPR_JACOBIAN
    assert any(w.wants_post_step_losses for w in weightings.values())
    typed = weightings["by-task-type"](2, seed=0, task_types=["classification", "regression"])
    assert typed.weights.tolist() == [1.0, 0.5]


def test_the_example_command_runs_through_the_cli(examples):
    from mmbench.cli.main import cli

    runner = CliRunner()
    assert "count-components" in runner.invoke(cli, ["--help"]).output
    result = runner.invoke(cli, ["count-components", "fusers"])
    assert result.exit_code == 0, result.output
    assert result.output == f"fusers: {len(examples['fusers'])}\n"


def test_the_example_dataset_loads_through_load(examples):
    from mmbench.data.loading import load

    data = load("toy-sensors")
    sizes = {role: len(split) for role, split in data.splits.items()}
    assert sizes == {"train": 216, "validation": 24, "test": 60}  # 300 rows: 20% test, 10% of train carved
    assert data.modality_info["sensor"].kind == "tabular" and data.modality_info["sensor"].shape == (4,)
    assert data.modality_info["caption"].kind == "text"
    assert {t: i.type for t, i in data.task_info.items()} == {"label": "classification", "score": "regression"}
    assert any("carved" in note for note in data.notes)
    assert data.spec.builder is not None and not inspect.signature(data.spec.builder).parameters


def test_the_example_scripts_run(examples, docs_dir: Path, monkeypatch: pytest.MonkeyPatch):
    assert SCRIPTS, "the page has a script example"
    monkeypatch.chdir(docs_dir)
    for name in SCRIPTS:
        runpy.run_path(str(docs_dir / name), run_name="__main__")


def test_the_first_plugin_grid_checks_out_with_the_plugins_key_and_with_plugin(docs_dir: Path, mmbench_plugins,
                                                                              monkeypatch: pytest.MonkeyPatch):
    from mmbench.cli.main import cli

    mmbench_plugins()  # a clean environment, restored afterwards (the CLI adds to MMBENCH_PLUGINS)
    monkeypatch.chdir(docs_dir)
    grid = FILES["grid.yaml"]
    assert "plugins: [my_methods.py]" in grid
    (docs_dir / "grid-no-plugins.yaml").write_text(grid.replace("plugins: [my_methods.py]\n", ""))
    for args in (["run", "--grid", "grid.yaml", "--dry-run"],
                 ["run", "--plugin", "my_methods.py", "--grid", "grid-no-plugins.yaml", "--dry-run"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert re.search(r"^total\s+4 cells$", result.output, re.M), result.output
        assert "gated-sum" in result.output and "log-sum" in result.output
    mmbench_plugins()  # --plugin added the file to this process's MMBENCH_PLUGINS (for its workers): forget it
    missing = CliRunner().invoke(cli, ["run", "--grid", "grid-no-plugins.yaml", "--dry-run"])
    assert missing.exit_code != 0 and "gated-sum" in missing.output  # without the plugin: an unknown fuser


def test_the_examples_train_end_to_end_in_tiny_grids(examples, docs_dir: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch):
    from mmbench.store import ResultStore

    summary = run_tiny_grid(
        tmp_path / "pid", families=["mt-cm"],
        encoders={"a": ["column-linear"], "b": ["column-linear"]}, aligners=["cosine"],
        fusers=["gated-sum", "late-softmax"], architectures=["shared-towers"],
        weightings=["random-task-drop", {"name": "random-task-drop", "wrt": "representation"}],
        robustness={"levels": [0.0, 0.5], "perturbations": ["tabular-sign-flip"]})
    assert (summary.total, summary.ok) == (4, 4)
    rows = list(ResultStore(tmp_path / "pid" / "tiny-run").rows("ok"))
    assert {(r.config["fuser"]["name"], r.config["weighting"]["wrt"]) for r in rows} == {
        (f, w) for f in ("gated-sum", "late-softmax") for w in ("params", "representation")}
    for row in rows:
        assert row.config["architecture"] == {"name": "shared-towers", "tower_dim": 16}
        assert row.result["backward_passes"] > row.result["steps"]  # Jacobian strategies: one pass per task
        curves = row.result["robustness"]["curves"]
        assert set(curves) == {"a", "b"} and all(set(c) == {"tabular-sign-flip"} for c in curves.values())
        assert set(row.result["robustness"]["missing"]) == {"a", "b"}

    # the example dataset, its frozen text encoder and the loss-only strategies; this time the grid names the plugins
    from mmbench.plugins import reset

    monkeypatch.setenv("MMBENCH_PLUGINS", "")
    reset()
    summary = run_tiny_grid(
        tmp_path / "toy", dataset="toy-sensors", modalities=["sensor", "caption"], tasks=["label", "score"],
        encoders={"sensor": ["column-linear"], "caption": ["hashed-words"]}, fusers=["gated-sum"],
        weightings=["log-sum", "by-task-type", "inverse-epoch-loss", "boost-slow"], families=["mt-cm"],
        training={"epochs": 3, "batch_size": 64}, plugins=[str(docs_dir / n) for n in PLUGIN_FILES])
    assert (summary.total, summary.ok) == (4, 4)
    assert os.environ["MMBENCH_PLUGINS"] == ""  # run_tiny_grid leaves the environment as it found it
    weights = {r.config["weighting"]["name"]: r.result["weights"]
               for r in ResultStore(tmp_path / "toy" / "tiny-run").rows("ok")}
    assert weights["by-task-type"] == {"label": 1.0, "score": 0.5}  # task_types reached the factory
    assert weights["inverse-epoch-loss"] != {"label": 1.0, "score": 1.0}  # end_epoch changed the weights
    assert weights["boost-slow"] != {"label": 1.0, "score": 1.0}  # after_step changed the weights


def test_the_documented_plugin_tests_pass_under_pytest(docs_dir: Path, tmp_path: Path):
    """conftest.py + test_my_methods.py from the page, as a user runs them: a fresh process, no repo conftest."""
    project = tmp_path / "project"
    project.mkdir()
    for name in PYTEST_FILES + ["my_methods.py"]:
        (project / name).write_text(FILES[name])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MMBENCH_", "PYTEST_"))}
    env["MMBENCH_CACHE_DIR"] = str(tmp_path / "cache")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(project),
                           "-W", "error::pytest.PytestAssertRewriteWarning", str(project)],
                          cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"\b2 passed\b", proc.stdout), proc.stdout


# --- the fixture and helpers themselves --------------------------------------------------------------


def test_isolated_plugins_leave_out_installed_packages_and_restore_the_environment(docs_dir: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch):
    from importlib import metadata

    from mmbench.plugins.manager import plugin_infos

    monkeypatch.setenv("MMBENCH_PLUGINS", "")
    monkeypatch.delenv("MMBENCH_LOAD_PLUGINS", raising=False)
    installed = sorted(ep.name for ep in metadata.entry_points(group="mmbench"))
    with isolated_plugins(docs_dir / "my_methods.py") as plugins:
        assert plugins.plugins == ("my_methods",)
        assert os.environ["MMBENCH_LOAD_PLUGINS"] == ""
        assert {p.name for p in plugin_infos() if not p.builtin} == {"my_methods"}
        assert [e.name for e in plugins.entries()] == ["gated-sum", "log-sum"]
    assert "MMBENCH_LOAD_PLUGINS" not in os.environ and os.environ["MMBENCH_PLUGINS"] == ""
    if installed:  # e.g. mmbench-example, installed in the dev environment
        with isolated_plugins(entry_points=installed[:1]) as plugins:
            assert plugins.plugins == (installed[0],)


def test_strict_loading_fails_on_plugin_problems(tmp_path: Path, mmbench_plugins):
    broken = tmp_path / "broken_plugin.py"
    broken.write_text("from mmbench import hookimpl\n\n\n@hookimpl\ndef mmbench_register_fuser(register):\n    pass\n")
    with pytest.raises(PluginLoadError, match="did you mean 'mmbench_register_fusers'"):
        mmbench_plugins(broken)
    loaded = mmbench_plugins(broken, strict=False)
    assert loaded.plugins == ("broken_plugin",) and loaded.errors
    with pytest.raises(PluginLoadError, match="failed to load"):
        mmbench_plugins(tmp_path / "no_such_plugin.py", strict=True)
