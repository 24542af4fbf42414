"""A version per component for installed packages (issue #27): each component's provenance names its
package's version *and* the digest of the module that defines it; a dataset's names its data fingerprint.
The package is installed for real (a ``*.dist-info`` with an entry point, its modules importable from a
source folder — what ``pip install -e`` leaves), edited in place the way an author iterates."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import mmbench
from mmbench.grid.config import load_config
from mmbench.grid.runner import run_grid
from mmbench.plugins import reset
from mmbench.store import ResultStore

INIT = '''
from mmbench import hookimpl, lazy


@hookimpl
def mmbench_register_datasets(register):
    register("pkg-data", lazy("mmbench_pkg.data:spec"), description="two tabular modalities, two tasks")


@hookimpl
def mmbench_register_weightings(register):
    register("pkg-weighting", lazy("mmbench_pkg.weightings:Halved"), description="half the sum")
'''

FUSER_HOOK = '''

@hookimpl
def mmbench_register_fusers(register):
    register("pkg-fuser", lazy("mmbench_pkg.fusers:Doubled"), description="concat, times two")
'''

DATA = '''
from functools import partial

from mmbench import DatasetSpec, ModalitySpec, TaskSpec

OFFSET = {offset}


def build(n):
    import datasets
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, 3)) + OFFSET, rng.standard_normal((n, 3))
    table = datasets.Dataset.from_dict({{"a": a.tolist(), "b": b.tolist(), "y": (a[:, 0] > OFFSET).astype(int).tolist(),
                                       "z": (b[:, 0] > 0).astype(int).tolist()}})
    return table.train_test_split(test_size=0.25, seed=0)


def spec(n: int = 96):
    return DatasetSpec(name="pkg-data", modalities={{"a": ModalitySpec(("a",), "tabular"), "b": ModalitySpec(("b",), "tabular")}},
                       tasks={{"y": TaskSpec("y", "classification"), "z": TaskSpec("z", "classification")}},
                       builder=partial(build, n), splits={{"train": "train", "validation": None, "test": "test"}})
'''

WEIGHTINGS = '''
from mmbench import Need, Weighting


class Halved(Weighting):
    """Half the sum of the task losses."""

    need = Need.LOSSES

    def combine(self, losses):
        self.last_weights = losses.detach() * 0 + {factor}
        return {factor} * losses.sum()
'''

FUSERS = '''
from mmbench.components.fusers.simple import ConcatFuser


class Doubled(ConcatFuser):
    def forward(self, features):
        return {factor} * super().forward(features)
'''


def _install(install_plugin, with_fuser: bool) -> Path:
    files = {"mmbench_pkg/__init__.py": INIT + (FUSER_HOOK if with_fuser else ""),
             "mmbench_pkg/data.py": DATA.format(offset=0.0),
             "mmbench_pkg/weightings.py": WEIGHTINGS.format(factor=0.5)}
    if with_fuser:
        files["mmbench_pkg/fusers.py"] = FUSERS.format(factor=2)
    return install_plugin("pkg", "mmbench_pkg", files)


def _fresh() -> None:
    """What the next ``mmbench run`` process sees: the package imported anew, plugins reloaded."""
    for name in [m for m in sys.modules if m.startswith("mmbench_pkg")]:
        del sys.modules[name]
    reset()


def _run(write_grid, tmp_path: Path, **over):
    grid = write_grid(tmp_path / "g.yaml", **({"dataset": "pkg-data", "modalities": None, "tasks": None,
                                               "fusers": ["concat"], "weightings": ["ew", "pkg-weighting"],
                                               "training": {"epochs": 1, "batch_size": 32, "patience": 1}} | over))
    summary = run_grid(load_config(grid), tmp_path / "run")
    assert summary.failed == 0, summary.failures
    return summary


def _stale_labels(summary) -> set[str]:
    return {label for label, _ in summary.stale}


def test_an_edit_in_place_makes_only_that_components_cells_stale(install_plugin, write_grid, tmp_path: Path):
    root = _install(install_plugin, with_fuser=True)
    grid = {"fusers": ["concat", "pkg-fuser"], "families": ["st-cm", "mt-cm"]}
    first = _run(write_grid, tmp_path, **grid)
    assert (first.total, first.ok) == (8, 8)  # st-cm: 2 fusers x 2 tasks; mt-cm: 2 fusers x 2 weightings
    with ResultStore(tmp_path / "run") as store:
        made = [json.loads(r.provenance) for r in store.rows()]
    assert all(p["dataset"].startswith("data sha256:") for p in made)  # the data, not the package's version
    weightings = {p["weighting"].split("@")[0] for p in made if "weighting" in p}
    assert weightings == {"mmbench-pkg 0.0.1 weightings.py", f"mmbench {mmbench.__version__} scalarization.py"}
    # an editable install: the code changes, the installed version does not
    (root / "mmbench_pkg" / "weightings.py").write_text(WEIGHTINGS.format(factor=0.25))
    _fresh()
    edited = _run(write_grid, tmp_path, **grid)
    assert _stale_labels(edited) and all("pkg-weighting" in label for label in _stale_labels(edited))
    assert (edited.ok, edited.skipped) == (len(edited.stale), 8 - len(edited.stale)) == (2, 6)
    assert all("weighting: mmbench-pkg 0.0.1 weightings.py@" in why and "dataset" not in why for _, why in edited.stale)
    (root / "mmbench_pkg" / "fusers.py").write_text(FUSERS.format(factor=3))
    _fresh()
    fuser = _run(write_grid, tmp_path, **grid)
    assert _stale_labels(fuser) and all("pkg-fuser" in label for label in _stale_labels(fuser))
    assert (fuser.ok, fuser.skipped) == (4, 4)  # the fuser's st-cm (two tasks) and mt-cm (two weightings) cells
    # a comment or docstring changes nothing
    (root / "mmbench_pkg" / "fusers.py").write_text('"""Doubled, documented."""\n# a comment\n' + FUSERS.format(factor=3))
    _fresh()
    assert _run(write_grid, tmp_path, **grid).skipped == 8


def test_a_package_with_a_dataset_and_a_weighting_invalidates_only_the_weightings_cells(install_plugin, write_grid,
                                                                                       tmp_path: Path):
    root = _install(install_plugin, with_fuser=False)
    assert _run(write_grid, tmp_path).ok == 12  # st-sm 4, st-cm 2, mt-sm 4, mt-cm 2
    (root / "mmbench_pkg" / "weightings.py").write_text(WEIGHTINGS.format(factor=0.25))
    (root / "mmbench_pkg-0.0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: mmbench-pkg\nVersion: 0.0.2\n")
    _fresh()
    bumped = _run(write_grid, tmp_path)
    assert (bumped.ok, bumped.skipped) == (3, 9)  # mt-sm on a and b, mt-cm: the weighting's cells only
    assert all("pkg-weighting" in label for label in _stale_labels(bumped))
    assert all("mmbench-pkg 0.0.1 weightings.py@" in why and "→ mmbench-pkg 0.0.2 weightings.py@" in why
               for _, why in bumped.stale)
    # new data, the same package version: every cell on it is stale, and the run says it was the data
    (root / "mmbench_pkg" / "data.py").write_text(DATA.format(offset=0.5))
    _fresh()
    moved = _run(write_grid, tmp_path)
    assert (moved.ok, moved.skipped) == (12, 0)
    assert all(why.startswith("dataset: data sha256:") for _, why in moved.stale)
