"""A registered dataset's options are checked like a component's (issue #27): a typo gets "did you mean",
not a bare TypeError; a missing folder is named as the absolute path and blamed on the option that gave it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mmbench.cli.main import cli
from mmbench.data.errors import DatasetError
from mmbench.data.loading import load, resolve
from mmbench.testing.fixtures import mmbench_plugins  # noqa: F401 - the fixture

FOLDER_DATA = '''
from mmbench import DatasetSpec, ModalitySpec, TaskSpec, hookimpl


def folder_spec(path: str = "/nonexistent/mmbench-folder-data", split: str = "train"):
    return DatasetSpec(name="folder-data", source=path, modalities={"x": ModalitySpec(("x",), "tabular")},
                       tasks={"y": TaskSpec("y", "classification")})


@hookimpl
def mmbench_register_datasets(register):
    register("folder-data", folder_spec, description="a folder of files")
'''


def test_a_dataset_option_typo_says_did_you_mean():
    with pytest.raises(DatasetError, match=r"unknown option 'nn'; did you mean 'n'\? .*It takes: n, dim"):
        resolve("pid-synthetic", nn=300)
    with pytest.raises(DatasetError, match=r"unknown option 'nn'; did you mean 'n'\? unknown option 'dimm'; "
                                           r"did you mean 'dim'\?"):
        resolve({"name": "pid-synthetic", "options": {"nn": 300, "dimm": 4}})  # both at once


def test_a_dataset_option_typo_stops_a_grid_before_training(write_grid, tmp_path: Path):
    grid = write_grid(tmp_path / "g.yaml", dataset={"name": "pid-synthetic", "options": {"nn": 300}})
    result = CliRunner().invoke(cli, ["run", "--grid", str(grid), "--out", str(tmp_path / "run"), "--dry-run"])
    assert result.exit_code != 0
    assert "dataset 'pid-synthetic' (built-in plugin 'mmbench.data.builtin'" in result.output
    assert "unknown option 'nn'; did you mean 'n'?" in result.output and "TypeError" not in result.output


def test_a_missing_absolute_folder_blames_the_option_that_gave_it(tmp_path: Path, mmbench_plugins):
    (tmp_path / "folder_data.py").write_text(FOLDER_DATA)
    mmbench_plugins(tmp_path / "folder_data.py")
    missing = tmp_path / "no" / "such" / "folder"
    with pytest.raises(DatasetError) as err:
        resolve("folder-data", path=str(missing))
    message = str(err.value)
    assert f"no folder {str(missing)!r}, which its option 'path' (given: {str(missing)!r}) points at" in message
    assert "Fix the `path` option" in message and "relative to" not in message and "`source`" not in message
    assert "dataset 'folder-data' (local plugin 'folder_data'" in message
    with pytest.raises(DatasetError, match=r"its option 'path' \(its default: '/nonexistent/mmbench-folder-data'\)"):
        resolve("folder-data")


def test_a_missing_absolute_source_is_named_as_it_is(tmp_path: Path):
    missing = tmp_path / "gone"
    spec = {"name": "gone", "source": str(missing), "modalities": {"x": {"column": "x", "kind": "tabular"}},
            "tasks": {"y": {"column": "y", "type": "classification"}}}
    with pytest.raises(DatasetError) as err:
        load(spec)
    assert f"no such folder {str(missing)!r}. Fix the path in `source`." in str(err.value)
    assert "relative to" not in str(err.value)
