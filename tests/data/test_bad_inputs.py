"""Bad input is caught at load time with a message naming the culprit and the fix."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import datasets
import pytest

from mmbench.data.errors import DatasetError
from mmbench.data.loading import load, resolve
from mmbench.data.yaml_spec import spec_from_dict


@pytest.fixture(autouse=True)
def _private_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))


def good_columns(n: int) -> dict[str, Any]:
    return {
        "text": [f"sample {i}" for i in range(n)],
        "x": [float(i) for i in range(n)],
        "label": [i % 2 for i in range(n)],
        "value": [0.5 * i for i in range(n)],
    }


def saved(tmp_path: Path, train: dict[str, Any] | None = None, test: dict[str, Any] | None = None,
          features: datasets.Features | None = None) -> str:
    """A save_to_disk folder with train/validation/test; ``train``/``test`` override columns."""
    parts = {"train": {**good_columns(12), **(train or {})}, "validation": good_columns(4), "test": {**good_columns(6), **(test or {})}}
    folder = tmp_path / "data"
    datasets.DatasetDict({k: datasets.Dataset.from_dict(v, features=features) for k, v in parts.items()}).save_to_disk(str(folder))
    return str(folder)


def spec(source: str, modalities: dict[str, Any] | None = None, tasks: dict[str, Any] | None = None) -> Any:
    return spec_from_dict({
        "name": "bad",
        "source": source,
        "modalities": modalities or {"words": {"column": "text", "kind": "text"}, "nums": {"column": "x", "kind": "tabular"}},
        "tasks": tasks or {"label": {"column": "label", "type": "classification"}, "value": {"column": "value", "type": "regression"}},
    })


def error_of(s: Any) -> str:
    with pytest.raises(DatasetError) as info:
        load(s)
    return str(info.value)


def test_the_good_version_loads(tmp_path: Path) -> None:
    loaded = load(spec(saved(tmp_path)))
    assert loaded.task_info["label"].out_dim == 2


def test_unknown_column_lists_the_real_ones(tmp_path: Path) -> None:
    msg = error_of(spec(saved(tmp_path), modalities={"words": {"column": "txet", "kind": "text"}}))
    assert "modality 'words'" in msg and "'txet'" in msg
    assert "did you mean 'text'" in msg and "text, x, label, value" in msg and "Fix" in msg
    msg = error_of(spec(saved(tmp_path), tasks={"y": {"column": "target", "type": "regression"}}))
    assert "task 'y'" in msg and "'target'" in msg and "text, x, label, value" in msg


def test_modality_column_of_the_wrong_type(tmp_path: Path) -> None:
    msg = error_of(spec(saved(tmp_path), modalities={"words": {"column": "x", "kind": "text"}}))
    assert "modality 'words' is kind 'text'" in msg and "column 'x'" in msg and "float64" in msg
    assert "needs strings" in msg and "declare it as kind audio / tabular" not in msg
    assert "kind tabular" in msg
    msg = error_of(spec(saved(tmp_path), modalities={"pic": {"column": "text", "kind": "image"}}))
    assert "modality 'pic' is kind 'image'" in msg and "datasets.Image()" in msg and "kind text" in msg


def test_task_column_of_the_wrong_type(tmp_path: Path) -> None:
    msg = error_of(spec(saved(tmp_path), tasks={"v": {"column": "text", "type": "regression"}}))
    assert "task 'v' is type 'regression'" in msg and "column 'text'" in msg and "type classification" in msg
    msg = error_of(spec(saved(tmp_path), tasks={"c": {"column": "value", "type": "classification"}}))
    assert "non-integer numbers" in msg and "type: regression" in msg


EMPTY_FEATURES = datasets.Features({"text": datasets.Value("string"), "x": datasets.Value("float64"),
                                   "label": datasets.Value("int64"), "value": datasets.Value("float64")})


def test_empty_split_from_a_builder() -> None:

    def build() -> datasets.DatasetDict:
        parts = {"train": good_columns(10), "validation": good_columns(0), "test": good_columns(4)}
        return datasets.DatasetDict({k: datasets.Dataset.from_dict(v, features=EMPTY_FEATURES) for k, v in parts.items()})

    s = spec("unused")
    s.source, s.builder = None, build
    msg = error_of(s)
    assert "the validation split 'validation' is empty (0 rows)" in msg and "Fix: add data" in msg


def test_empty_split_in_parquet_files(tmp_path: Path) -> None:
    folder = tmp_path / "pq"
    folder.mkdir()
    datasets.Dataset.from_dict(good_columns(10), features=EMPTY_FEATURES).to_parquet(str(folder / "train.parquet"))
    datasets.Dataset.from_dict(good_columns(0), features=EMPTY_FEATURES).to_parquet(str(folder / "test.parquet"))
    msg = error_of(spec(str(folder)))
    assert "split 'test' of" in msg and "is empty (0 rows)" in msg and "Fix: add data" in msg


def test_empty_split_in_a_save_to_disk_folder(tmp_path: Path) -> None:
    msg = error_of(spec(saved(tmp_path, train={k: [] for k in good_columns(0)}, features=EMPTY_FEATURES)))
    assert "split 'train' of" in msg and "is empty (0 rows)" in msg and "Fix: add data" in msg


def test_classification_task_with_one_class(tmp_path: Path) -> None:
    msg = error_of(spec(saved(tmp_path, train={"label": [1] * 12})))
    assert "task 'label' (column 'label')" in msg and "single class (1)" in msg and "at least two" in msg
    assert "choose another label column" in msg


def test_missing_labels(tmp_path: Path) -> None:
    labels = [i % 2 for i in range(12)]
    labels[3] = labels[7] = None
    msg = error_of(spec(saved(tmp_path, train={"label": labels})))
    assert "task 'label' (column 'label') has 2 missing (null) label(s) in the train split (rows 3, 7" in msg
    assert "Fix: drop those rows" in msg


def test_nan_labels(tmp_path: Path) -> None:
    values = [0.5 * i for i in range(6)]
    values[4] = math.nan
    msg = error_of(spec(saved(tmp_path, test={"value": values})))
    assert "task 'value' (column 'value') has 1 NaN label(s) in the test split (rows 4" in msg and "Fix" in msg


def test_classlabel_minus_one_is_a_missing_label(tmp_path: Path) -> None:
    features = datasets.Features({"text": datasets.Value("string"), "x": datasets.Value("float64"),
                                  "label": datasets.ClassLabel(names=["no", "yes"]), "value": datasets.Value("float64")})
    labels = [i % 2 for i in range(12)]
    labels[0] = -1
    msg = error_of(spec(saved(tmp_path, train={"label": labels}, features=features)))
    assert "1 missing (ClassLabel -1) label(s) in the train split (rows 0 of that split)" in msg


def test_nan_features_and_missing_text(tmp_path: Path) -> None:
    x = [float(i) for i in range(12)]
    x[5] = math.nan
    msg = error_of(spec(saved(tmp_path, train={"x": x})))
    assert "modality 'nums' (column 'x') has 1 NaN value(s) in the train split (rows 5" in msg and "Fix" in msg
    text = [f"s{i}" for i in range(6)]
    text[2] = None
    msg = error_of(spec(saved(tmp_path / "t", test={"text": text})))
    assert "modality 'words' (column 'text') has 1 missing (null) text value(s) in the test split" in msg


def test_hub_name_while_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    msg = error_of(spec("some-user/some-dataset"))
    assert "'some-user/some-dataset' is not a local folder" in msg
    assert "Hugging Face Hub cannot be reached" in msg and "HF_HUB_OFFLINE=1 is set" in msg
    assert "point `source` at local files" in msg and "save_to_disk" in msg


def test_missing_local_folder_is_not_sent_to_the_hub(tmp_path: Path) -> None:
    msg = error_of(spec(str(tmp_path / "nowhere")))
    assert "no such folder" in msg and "nowhere" in msg and "Hub" not in msg


def test_connection_error_from_datasets_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)

    def unreachable(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("Couldn't reach 'org/name' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", unreachable)
    msg = error_of(spec("org/name"))
    assert "Hub cannot be reached" in msg and "the connection failed" in msg and "point `source` at local files" in msg


def test_missing_split_names_the_available_ones(tmp_path: Path) -> None:
    s = spec(saved(tmp_path))
    s.splits["test"] = "eval"
    msg = error_of(s)
    assert "no split 'eval' (for test)" in msg and "test, train, validation" in msg and "splits:" in msg


def test_spec_structure_errors() -> None:
    base = {"source": "x", "modalities": {"m": {"column": "c", "kind": "text"}}, "tasks": {"t": {"column": "y", "type": "regression"}}}
    with pytest.raises(DatasetError, match=r"kind must be one of image, text, tabular, audio; got 'video'"):
        spec_from_dict({**base, "modalities": {"m": {"column": "c", "kind": "video"}}})
    with pytest.raises(DatasetError, match=r"unknown key\(s\) 'modality' \(did you mean 'modalities'\?\)"):
        spec_from_dict({**base, "modality": {}})
    with pytest.raises(DatasetError, match=r"task 't': type must be one of classification, multilabel, regression"):
        spec_from_dict({**base, "tasks": {"t": {"column": "y", "type": "ranking"}}})
    with pytest.raises(DatasetError, match=r"an image modality reads exactly one column"):
        spec_from_dict({**base, "modalities": {"m": {"columns": ["a", "b"], "kind": "image"}}})
    with pytest.raises(DatasetError, match=r"a regression task takes no num_classes"):
        spec_from_dict({**base, "tasks": {"t": {"column": "y", "type": "regression", "num_classes": 3}}})
    with pytest.raises(DatasetError, match=r"unknown key\(s\) 'size'"):  # size is an image option only
        spec_from_dict({**base, "modalities": {"m": {"column": "c", "kind": "text", "size": 4}}})


def test_unknown_dataset_name_suggests_close_ones() -> None:
    with pytest.raises(DatasetError, match=r"unknown dataset 'digitz'; did you mean 'digits'"):
        resolve("digitz")


def test_label_values_outside_the_declared_classes(tmp_path: Path) -> None:
    s = spec(saved(tmp_path, test={"label": [0, 1, 2, 0, 1, 0]}),
             tasks={"label": {"column": "label", "type": "classification", "num_classes": 2}})
    msg = error_of(s)
    assert "labels need 3 classes but the spec says num_classes 2" in msg
