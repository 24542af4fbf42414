"""Small datasets written to disk in the hub's formats and loaded through the same path as hub names."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from mmbench.data.loading import load
from mmbench.data.source import is_save_to_disk_folder
from mmbench.data.yaml_spec import spec_from_dict, spec_from_yaml


@pytest.fixture(autouse=True)
def _private_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))


FEATURES = datasets.Features({
    "pic": datasets.Image(),
    "caption": datasets.Value("string"),
    "x1": datasets.Value("float32"),
    "xs": datasets.List(datasets.Value("float32"), length=3),
    "label": datasets.ClassLabel(names=["cat", "dog", "eel"]),
    "price": datasets.Value("float64"),
    "tags": datasets.List(datasets.ClassLabel(names=["w", "x", "y", "z"])),
})


def tiny(n: int, seed: int, sizes: tuple[tuple[int, int], ...] = ((6, 5),), mode: str = "L") -> datasets.Dataset:
    """``n`` rows: grayscale (or RGB) images of the given sizes in turn, text, numbers and three task columns."""
    rng = np.random.default_rng(seed)
    pics = []
    for i in range(n):
        h, w = sizes[i % len(sizes)]
        shape = (h, w) if mode == "L" else (h, w, 3)
        pics.append(Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)))
    return datasets.Dataset.from_dict({
        "pic": pics,
        "caption": [f"row {i} of seed {seed}" for i in range(n)],
        "x1": rng.normal(size=n).astype(np.float32).tolist(),
        "xs": rng.normal(size=(n, 3)).astype(np.float32).tolist(),
        "label": (np.arange(n) % 3).tolist(),
        "price": rng.normal(10.0, 2.0, size=n).tolist(),
        "tags": [sorted(rng.choice(4, size=int(rng.integers(0, 3)), replace=False).tolist()) for _ in range(n)],
    }, features=FEATURES)


SPEC = {
    "modalities": {
        "img": {"column": "pic", "kind": "image"},
        "txt": {"column": "caption", "kind": "text"},
        "num": {"columns": ["x1", "xs"], "kind": "tabular"},
    },
    "tasks": {
        "animal": {"column": "label", "type": "classification"},
        "cost": {"column": "price", "type": "regression"},
        "tags": {"column": "tags", "type": "multilabel"},
    },
}

CARD = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/fit-*.parquet
  - split: test
    path: data/holdout-*.parquet
---
# tiny

A test dataset with a card, like the hub's.
"""


def write_parquet_folder(root: Path, train: datasets.Dataset, test: datasets.Dataset) -> Path:
    (root / "data").mkdir(parents=True)
    train.to_parquet(str(root / "data" / "fit-00000-of-00001.parquet"))
    test.to_parquet(str(root / "data" / "holdout-00000-of-00001.parquet"))
    (root / "README.md").write_text(CARD)
    return root


def test_parquet_folder_with_card_and_no_validation_split(tmp_path: Path) -> None:
    train, test = tiny(40, 0, sizes=((6, 5), (9, 7))), tiny(10, 1)
    folder = write_parquet_folder(tmp_path / "pq", train, test)
    loaded = load(spec_from_dict({"source": str(folder), **SPEC}))

    # the card's split names (fit/holdout files -> train/test) were honoured; validation was carved from train
    assert [len(loaded.splits[r]) for r in ("train", "validation", "test")] == [36, 4, 10]
    assert any("carved 10%" in n and "seed 0" in n for n in loaded.notes)
    assert any("resized 20 image(s) to 6x5" in n for n in loaded.notes)

    info = loaded.modality_info
    assert (info["img"].kind, info["img"].shape, info["img"].columns) == ("image", (1, 6, 5), ("pic",))
    assert info["txt"].shape == () and info["num"].shape == (4,)
    assert {n: (t.type, t.out_dim) for n, t in loaded.task_info.items()} == {
        "animal": ("classification", 3), "cost": ("regression", 1), "tags": ("multilabel", 4)}

    test_split = loaded.splits["test"]  # test is not shuffled: compare with the source row by row
    img = test_split.modalities["img"]
    assert img.dtype == torch.float32 and img.shape == (10, 1, 6, 5)
    np.testing.assert_allclose(img[3, 0].numpy(), np.asarray(test[3]["pic"], dtype=np.float32) / 255.0)
    assert test_split.modalities["txt"] == test["caption"]
    np.testing.assert_allclose(test_split.modalities["num"].numpy(), np.column_stack([test["x1"], np.asarray(test["xs"])]), rtol=1e-6)
    assert test_split.targets["animal"].dtype == torch.long
    assert test_split.targets["animal"].tolist() == test["label"]
    np.testing.assert_allclose(test_split.targets["cost"].numpy(), np.asarray(test["price"], dtype=np.float32))
    hot = test_split.targets["tags"]
    assert hot.dtype == torch.float32 and hot.shape == (10, 4)
    assert [np.flatnonzero(row).tolist() for row in hot.numpy()] == test["tags"]


def test_save_to_disk_folder_goes_through_load_from_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "saved"
    datasets.DatasetDict({"train": tiny(12, 0, mode="RGB"), "validation": tiny(5, 1, mode="RGB"),
                          "test": tiny(6, 2, mode="RGB")}).save_to_disk(str(folder))
    assert is_save_to_disk_folder(folder) and not is_save_to_disk_folder(tmp_path)
    calls = []
    real = datasets.load_from_disk
    monkeypatch.setattr(datasets, "load_from_disk", lambda path, **kw: calls.append(path) or real(path, **kw))
    spec = {**SPEC, "modalities": {**SPEC["modalities"], "img": {"column": "pic", "kind": "image", "size": [4, 4]}}}
    loaded = load(spec_from_dict({"source": str(folder), **spec}))
    assert calls == [str(folder)]
    assert [len(loaded.splits[r]) for r in ("train", "validation", "test")] == [12, 5, 6]
    assert not any("carved" in n for n in loaded.notes)
    assert loaded.modality_info["img"].shape == (3, 4, 4)  # RGB gives C=3; the size option wins
    assert loaded.splits["validation"].modalities["img"].shape == (5, 3, 4, 4)


def test_yaml_spec_with_arbitrary_column_names(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 30
    ds = datasets.Dataset.from_dict({
        "Pixel Data (raw)": [Image.fromarray(rng.integers(0, 256, (4, 4), dtype=np.uint8)) for _ in range(n)],
        "über-text": [f"t{i}" for i in range(n)],
        "y.1": ["low", "high", "mid"] * 10,
        "score %": rng.normal(size=n).tolist(),
    }, features=datasets.Features({"Pixel Data (raw)": datasets.Image(), "über-text": datasets.Value("string"),
                                   "y.1": datasets.Value("string"), "score %": datasets.Value("float64")}))
    datasets.DatasetDict({"training": ds.select(range(20)), "eval": ds.select(range(20, 30))}).save_to_disk(str(tmp_path / "d"))
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump({
        "name": "odd-columns",
        "source": "d",  # relative to the YAML file
        "splits": {"train": "training", "validation": None, "test": "eval"},
        "validation_fraction": 0.25,
        "split_seed": 7,
        "modalities": {"picture": {"column": "Pixel Data (raw)", "kind": "image"},
                       "words": {"columns": ["über-text"], "kind": "text"}},
        "tasks": {"level": {"column": "y.1", "type": "classification"},
                  "score": {"column": "score %", "type": "regression"}},
    }, allow_unicode=True))
    spec = spec_from_yaml(spec_file)
    assert spec.source == str((tmp_path / "d").resolve())
    loaded = load(spec)
    assert [len(loaded.splits[r]) for r in ("train", "validation", "test")] == [15, 5, 10]
    assert any("seed 7" in n for n in loaded.notes)
    assert loaded.task_info["level"].out_dim == 3
    assert any("'high', 'low', 'mid'" in n for n in loaded.notes)  # string classes, sorted
    assert loaded.splits["test"].targets["level"].tolist() == [[1, 0, 2][(20 + i) % 3] for i in range(10)]  # low, high, mid -> 1, 0, 2
    assert loaded.splits["test"].modalities["words"] == [f"t{i}" for i in range(20, 30)]


def test_csv_folder_without_card_infers_classes_from_the_data(tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "train.csv").write_text("a,b,y,tags\n" + "".join(f"{i},{i % 4},{i % 2 + 1},{i % 3}\n" for i in range(20)))
    (folder / "test.csv").write_text("a,b,y,tags\n" + "".join(f"{i},{i % 4},{i % 2 + 1},{i % 3}\n" for i in range(6)))
    loaded = load(spec_from_dict({
        "source": str(folder),
        "modalities": {"t": {"columns": ["a", "b"], "kind": "tabular"}},
        "tasks": {"y": {"column": "y", "type": "classification"}},
    }))
    assert loaded.task_info["y"].out_dim == 3  # labels 1..2 keep their values: classes 0..2
    assert any("3 classes inferred from the data" in n for n in loaded.notes)
    assert loaded.splits["test"].targets["y"].tolist() == [1, 2, 1, 2, 1, 2]
    assert loaded.splits["test"].modalities["t"][:, 1].tolist() == [0, 1, 2, 3, 0, 1]


def test_fingerprint_is_stable_follows_content_and_ignores_location(tmp_path: Path) -> None:
    dd = datasets.DatasetDict({"train": tiny(12, 0), "validation": tiny(4, 1), "test": tiny(4, 2)})
    dd.save_to_disk(str(tmp_path / "one"))
    dd.save_to_disk(str(tmp_path / "copy"))
    changed = dd["test"].map(lambda r, i: {"price": r["price"] + (1.0 if i == 0 else 0.0)}, with_indices=True)
    datasets.DatasetDict({**dd, "test": changed}).save_to_disk(str(tmp_path / "changed"))
    fp = {name: load(spec_from_dict({"source": str(tmp_path / name), **SPEC})).fingerprint for name in ("one", "copy", "changed")}
    again = load(spec_from_dict({"source": str(tmp_path / "one"), **SPEC})).fingerprint
    assert fp["one"] == again == fp["copy"]
    assert fp["changed"] != fp["one"]
    renamed_task = {**SPEC, "tasks": {**{k: v for k, v in SPEC["tasks"].items() if k != "cost"}, "price": SPEC["tasks"]["cost"]}}
    assert load(spec_from_dict({"source": str(tmp_path / "one"), **renamed_task})).fingerprint != fp["one"]


def _wav(samples: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((samples * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def test_audio_files_and_waveform_lists(tmp_path: Path) -> None:
    lengths = [80, 100, 60, 80, 120, 80]
    clips = [np.sin(np.arange(k) / (3 + i)) * 0.5 for i, k in enumerate(lengths)]
    ds = datasets.Dataset.from_dict({"sound": [{"bytes": _wav(c, 8000), "path": None} for c in clips],
                                     "wave": [c.tolist() for c in clips], "y": [0, 1, 0, 1, 0, 1]})
    ds = ds.cast_column("sound", datasets.Audio())
    datasets.DatasetDict({"train": ds, "validation": ds, "test": ds}).save_to_disk(str(tmp_path / "audio"))
    loaded = load(spec_from_dict({
        "source": str(tmp_path / "audio"),
        "modalities": {"sound": {"column": "sound", "kind": "audio"}, "wave": {"column": "wave", "kind": "audio", "length": 90}},
        "tasks": {"y": {"column": "y", "type": "classification"}},
    }))
    sound, wave_ = loaded.splits["test"].modalities["sound"], loaded.splits["test"].modalities["wave"]
    assert loaded.modality_info["sound"].shape == (80,) and sound.shape == (6, 80)  # the first clip's length
    assert wave_.shape == (6, 90)
    np.testing.assert_allclose(sound[1].numpy(), clips[1][:80], atol=1e-4)  # cut
    np.testing.assert_allclose(wave_[2, :60].numpy(), clips[2], atol=1e-6)  # padded with zeros
    assert wave_[2, 60:].abs().sum() == 0
    assert any("8000 Hz" in n for n in loaded.notes)


def test_multilabel_lists_of_ints_and_array_images(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = rng.integers(0, 256, (10, 2, 3, 3)).astype(np.uint8)
    ds = datasets.Dataset.from_dict({"arr": arrays.tolist(), "ids": [[0, 5], [], [2]] * 3 + [[1]], "y": [0.5] * 10},
                                    features=datasets.Features({"arr": datasets.Array3D((2, 3, 3), "uint8"),
                                                                "ids": datasets.List(datasets.Value("int64")),
                                                                "y": datasets.Value("float32")}))
    datasets.DatasetDict({"train": ds, "test": ds}).save_to_disk(str(tmp_path / "m"))
    loaded = load(spec_from_dict({"source": str(tmp_path / "m"), "splits": {"validation": None}, "validation_fraction": 0.2,
                                  "modalities": {"grid": {"column": "arr", "kind": "image"}},
                                  "tasks": {"ids": {"column": "ids", "type": "multilabel"}, "y": {"column": "y", "type": "regression"}}}))
    assert loaded.task_info["ids"].out_dim == 6
    assert loaded.splits["test"].targets["ids"][0].tolist() == [1, 0, 0, 0, 0, 1]
    assert loaded.modality_info["grid"].shape == (2, 3, 3)
    np.testing.assert_allclose(loaded.splits["test"].modalities["grid"].numpy(), arrays / 255.0, rtol=1e-6)
