"""Every error in one pass (issue #27): a grid config, its components' options and a dataset spec report all
of their problems together, so two typos need one run, not two."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest
from click.testing import CliRunner

from mmbench.cli.main import cli
from mmbench.data.errors import DatasetError
from mmbench.data.loading import load, resolve
from mmbench.grid.config import GridConfigError, parse_config


def _dry_run(grid: Path, tmp_path: Path):
    return CliRunner().invoke(cli, ["run", "--grid", str(grid), "--out", str(tmp_path / "run"), "--dry-run"])


def test_config_problems_are_reported_together():
    with pytest.raises(GridConfigError) as err:
        parse_config({"fuserz": ["concat"], "training": {"epoch": 2, "lr": -1}, "families": ["mt-cn"], "seeds": 2},
                     source="g.yaml")
    message = str(err.value)
    assert message.startswith("g.yaml: 4 problems:")
    for part in ("unknown key 'fuserz'; did you mean 'fusers'?", "unknown training setting 'epoch'; did you mean 'epochs'?",
                 "training.lr must be a non-negative number, got -1", "unknown family 'mt-cn'; did you mean 'mt-cm'?"):
        assert part in message
    with pytest.raises(GridConfigError, match=r"^g\.yaml: unknown key 'fuserz'; did you mean 'fusers'\?$"):
        parse_config({"fuserz": ["concat"]}, source="g.yaml")  # one problem: the message it always was


def test_two_option_typos_of_two_components_are_reported_in_one_run(write_grid, tmp_path: Path):
    grid = write_grid(tmp_path / "g.yaml", fusers=[{"name": "lowrank-tensor", "rnak": 2}, "concatt"],
                      weightings=[{"name": "dwa", "temprature": 2.0}], families=["mt-cm"])
    result = _dry_run(grid, tmp_path)
    assert result.exit_code != 0
    assert "3 problems with the grid's components:" in result.output
    assert "fuser 'lowrank-tensor' (built-in plugin 'mmbench.components.fusers'" in result.output
    assert "unknown option 'rnak'; did you mean 'rank'?" in result.output
    assert "unknown fuser 'concatt'; did you mean 'concat'?" in result.output
    assert "weighting 'dwa' (built-in plugin" in result.output and "unknown option 'temprature'" in result.output
    assert not (tmp_path / "run").exists()


def test_two_unknown_tasks_and_a_modality_are_reported_together(write_grid, tmp_path: Path):
    result = _dry_run(write_grid(tmp_path / "g.yaml", modalities=["a", "c"], tasks=["redundnat", "synergyy"]), tmp_path)
    assert result.exit_code != 0 and "3 problems:" in result.output
    assert "modality 'c' is not in dataset" in result.output
    assert "task 'redundnat' is not in the dataset" in result.output and "task 'synergyy'" in result.output


@pytest.fixture
def table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    root = tmp_path / "mydata"
    parts = {s: datasets.Dataset.from_dict({"pixels": [[0.1 * i, 1.0] for i in range(n)], "label": [i % 2 for i in range(n)],
                                            "price": [0.5 * i for i in range(n)]})
             for s, n in (("train", 40), ("validation", 10), ("test", 10))}
    datasets.DatasetDict(parts).save_to_disk(str(root))
    return root


def test_two_column_typos_are_reported_together(table: Path):
    spec = {"name": "typos", "source": str(table), "modalities": {"x": {"column": "pixel", "kind": "tabular"}},
            "tasks": {"y": {"column": "lable", "type": "classification"}, "p": {"column": "price", "type": "regression"}}}
    with pytest.raises(DatasetError) as err:
        load(spec)
    message = str(err.value)
    assert message.startswith("dataset 'typos': 2 columns are not in the data:")
    assert "modality 'x' names column 'pixel', which the train split does not have. did you mean 'pixels'?" in message
    assert "task 'y' names column 'lable', which the train split does not have. did you mean 'label'?" in message


def test_spec_entry_problems_are_reported_together():
    with pytest.raises(DatasetError) as err:
        resolve({"name": "bad", "source": "x", "splitz": {}, "modalities": {"a": {"column": "a", "kind": "imagee"}},
                 "tasks": {"y": {"column": "y", "typ": "classification"}}})
    message = str(err.value)
    assert message.startswith("3 problems with the dataset spec:")
    assert "unknown key(s) 'splitz' (did you mean 'splits'?)" in message
    assert "modality 'a': kind must be one of" in message and "task 'y': unknown key(s) 'typ'" in message
