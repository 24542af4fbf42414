"""A user's own dataset — a local parquet folder with a dataset card and arbitrary column names, three
modalities, classification, regression and multilabel tasks, no validation split — through a grid."""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from mmbench.cli.main import cli
from mmbench.store import ResultStore

CARD = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*.parquet
  - split: test
    path: data/test-*.parquet
---
# shop photos
"""


def _split(n: int, seed: int) -> datasets.Dataset:
    rng = np.random.default_rng(seed)
    label = np.arange(n) % 3
    return datasets.Dataset.from_dict({
        "Product Photo": [Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)) for _ in range(n)],
        "beschreibung (de)": [f"item {['red', 'green', 'blue'][k]} number {i}" for i, k in enumerate(label)],
        "stock.level": (label + rng.normal(0, 0.1, n)).astype(np.float32).tolist(),
        "weight_kg": rng.normal(1.0, 0.2, n).astype(np.float32).tolist(),
        "Category": label.tolist(),
        "price €": (3.0 * label + rng.normal(0, 0.5, n)).tolist(),
        "flags": [[int(k)] for k in label],
    }, features=datasets.Features({
        "Product Photo": datasets.Image(), "beschreibung (de)": datasets.Value("string"),
        "stock.level": datasets.Value("float32"), "weight_kg": datasets.Value("float32"),
        "Category": datasets.ClassLabel(names=["a", "b", "c"]), "price €": datasets.Value("float64"),
        "flags": datasets.List(datasets.ClassLabel(names=["x", "y", "z"])),
    }))


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    root = tmp_path / "shop"
    (root / "data").mkdir(parents=True)
    _split(90, 0).to_parquet(str(root / "data" / "train-00000-of-00001.parquet"))
    _split(30, 1).to_parquet(str(root / "data" / "test-00000-of-00001.parquet"))
    (root / "README.md").write_text(CARD)
    return root


def test_local_parquet_dataset_runs_through_a_grid(shop: Path, tmp_path: Path):
    grid = {
        "name": "shop",
        "dataset": {
            "name": "shop", "source": str(shop), "splits": {"train": "train", "validation": None, "test": "test"},
            "modalities": {"photo": {"column": "Product Photo", "kind": "image"},
                           "text": {"column": "beschreibung (de)", "kind": "text"},
                           "stats": {"columns": ["stock.level", "weight_kg"], "kind": "tabular"}},
            "tasks": {"category": {"column": "Category", "type": "classification"},
                      "price": {"column": "price €", "type": "regression"},
                      "flags": {"column": "flags", "type": "multilabel"}},
        },
        "fusers": ["concat", "late"], "weightings": ["ew", "mgda"], "seeds": 1,
        "families": ["st-sm", "mt-cm"], "training": {"epochs": 2, "batch_size": 32}, "device": "cpu",
    }
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(grid, allow_unicode=True))
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["run", "--grid", str(path), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "13 cells: 13 ran ok" in result.output  # st-sm: 3 tasks x 3 modalities; mt-cm: 2 fusers x 2 weightings
    with ResultStore(out) as store:
        rows = list(store.rows())
    cell = next(r for r in rows if r.family == "mt-cm" and r.config["weighting"]["name"] == "mgda").result
    test = cell["metrics"]["test"]
    assert set(test) == {"category", "price", "flags"}
    assert {"accuracy", "macro_f1"} <= set(test["category"]) and {"mae", "rmse"} <= set(test["price"])
    assert {"micro_f1", "macro_f1"} <= set(test["flags"])
    assert test["price"]["mae"] < 4.0  # on the original scale (targets are standardised only for training)
    assert any("validation" in note for note in cell["dataset_notes"])  # carved from train, and said so
    assert cell["sizes"]["validation"] > 0 and cell["sizes"]["test"] == 30
