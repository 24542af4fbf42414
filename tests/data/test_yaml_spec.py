"""Specs from YAML and dicts, ``resolve`` of every accepted form, and the import-light package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import mmbench.data
from mmbench.data.errors import DatasetError
from mmbench.data.loading import resolve
from mmbench.data.spec import DatasetSpec, ModalitySpec, TaskSpec
from mmbench.data.yaml_spec import spec_from_dict, spec_from_yaml, spec_to_dict

FULL = {
    "name": "reviews",
    "source": "org/reviews",
    "config": "en",
    "splits": {"train": "train", "validation": None, "test": "test"},
    "validation_fraction": 0.2,
    "split_seed": 3,
    "modalities": {"photo": {"column": "img", "kind": "image", "size": [32, 24]},
                   "words": {"columns": ["title", "body"], "kind": "text"}},
    "tasks": {"stars": {"column": "rating", "type": "classification", "num_classes": 5},
              "votes": {"column": "helpful", "type": "regression"}},
    "metadata": {"description": "product reviews"},
}


def test_spec_from_dict_reads_every_field() -> None:
    spec = spec_from_dict(FULL)
    assert spec == DatasetSpec(
        name="reviews",
        modalities={"photo": ModalitySpec(("img",), "image"), "words": ModalitySpec(("title", "body"), "text")},
        tasks={"stars": TaskSpec("rating", "classification", 5), "votes": TaskSpec("helpful", "regression")},
        source="org/reviews",
        config="en",
        splits={"train": "train", "validation": None, "test": "test"},
        validation_fraction=0.2,
        split_seed=3,
        metadata={"description": "product reviews", "decode": {"photo": {"size": [32, 24]}}},
    )
    assert spec_from_dict(spec_to_dict(spec)) == spec


def test_defaults() -> None:
    spec = spec_from_dict({"source": "some/dir/my-data", "modalities": {"t": {"column": "c", "kind": "text"}},
                           "tasks": {"y": {"column": "y", "type": "regression"}}})
    assert spec.name == "my-data"
    assert spec.splits == {"train": "train", "validation": "validation", "test": "test"}
    assert (spec.validation_fraction, spec.split_seed, spec.config) == (0.1, 0, None)


def test_spec_from_yaml_and_relative_source(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    path = tmp_path / "spec.yml"
    path.write_text(yaml.safe_dump({**FULL, "source": "files"}))
    assert spec_from_yaml(path).source == str((tmp_path / "files").resolve())
    path.write_text(yaml.safe_dump(FULL))  # a hub name stays as it is
    assert spec_from_yaml(path).source == "org/reviews"
    path.write_text("name: [unclosed")
    with pytest.raises(DatasetError, match="cannot read dataset spec"):
        spec_from_yaml(path)


def test_resolve_accepts_every_form(tmp_path: Path) -> None:
    spec = spec_from_dict(FULL)
    assert resolve(spec) is spec
    assert resolve(FULL) == spec
    path = tmp_path / "reviews.yaml"
    path.write_text(yaml.safe_dump(FULL))
    assert resolve(str(path)) == spec
    digits = resolve("digits", noise=0.1)
    assert digits.name == "digits" and digits.metadata["options"] == {"seed": 0, "noise": 0.1, "split_seed": None}
    assert resolve({"name": "digits", "options": {"noise": 0.1}}).metadata == digits.metadata
    plugin_style = DatasetSpec(name="p", modalities={"m": ModalitySpec("col", "tabular")},  # type: ignore[arg-type]
                               tasks={"y": TaskSpec("y", "regression")}, source="x")
    assert resolve(plugin_style).modalities["m"].columns == ("col",)  # a bare str is normalised


def test_resolve_rejects_bad_forms() -> None:
    with pytest.raises(DatasetError, match=r"dataset 'digits' \(built-in plugin .*\): unknown option 'colour'\. It takes: "):
        resolve("digits", colour=1)  # checked against the factory's signature, as a component's options are
    with pytest.raises(DatasetError, match=r"option noise must be a number in \[0, 1\]"):
        resolve("digits", noise=2)
    with pytest.raises(DatasetError, match="expected a dataset name"):
        resolve(42)  # type: ignore[arg-type]
    with pytest.raises(DatasetError, match="set exactly one of `source`"):
        resolve(DatasetSpec(name="x", modalities={"m": ModalitySpec(("c",), "text")}, tasks={"y": TaskSpec("y", "regression")}))


def test_package_is_import_light_with_lazy_reexports() -> None:
    code = ("import sys, mmbench.data, mmbench.data.builtin, mmbench.data.yaml_spec; "
            "heavy = {'torch', 'datasets', 'numpy', 'sklearn'} & set(sys.modules); assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert mmbench.data.load is __import__("mmbench.data.loading", fromlist=["load"]).load
    assert mmbench.data.spec_from_dict is spec_from_dict
    with pytest.raises(AttributeError):
        mmbench.data.no_such_thing  # noqa: B018


def test_task_and_modality_names_may_not_contain_dots() -> None:
    bad = {**FULL, "tasks": {"red.undant": {"column": "rating", "type": "classification"}}}
    with pytest.raises(DatasetError, match="task name 'red.undant' must be non-empty and contain no '.'"):
        spec_from_dict(bad)
