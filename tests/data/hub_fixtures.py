"""Tiny copies of the catalogue's hub datasets, written in exactly their cards' schemas and the hub's layouts.

Schemas from ``/work/shared/hub-catalogue.md`` (split names, column names, feature types); each writer lays
the parquet files out as the hub repo has them (a README card with ``configs`` where the repo has one, the
``refs/convert/parquet`` branch's ``<config>/<split>/0000.parquet`` for MELD), so that the catalogue entry,
with ``source`` pointed at the folder, goes through the same ``datasets.load_dataset`` path as the hub name.
Some values are left missing on request (``missing``: the share of each label column set to null).
"""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any, Callable

import datasets
import numpy as np
from PIL import Image

from mmbench.data.catalogue.entries import CELEBA_ATTRIBUTES, QM9_TARGETS

FAIRFACE_AGES = ["0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "more than 70"]
FAIRFACE_RACES = ["East Asian", "Indian", "Black", "White", "Middle Eastern", "Latino_Hispanic", "Southeast Asian"]
MELD_EMOTIONS = ["neutral", "joy", "sadness", "anger", "fear", "disgust", "surprise"]
MELD_SENTIMENTS = ["neutral", "positive", "negative"]


def _images(rng: np.random.Generator, n: int, shape: tuple[int, ...] = (10, 8, 3)) -> list[Image.Image]:
    return [Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)) for _ in range(n)]


def _wav(rng: np.random.Generator, n_samples: int, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((rng.uniform(-0.5, 0.5, n_samples) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def _card(configs: dict[str, dict[str, str]]) -> str:
    """A README.md dataset card whose ``configs`` map each config's splits to file globs, as the hub's."""
    lines = ["---", "configs:"]
    for name, splits in configs.items():
        lines += [f"- config_name: '{name}'", "  data_files:"]
        lines += [f"  - split: {split}\n    path: {path}" for split, path in splits.items()]
    return "\n".join(lines + ["---", "# fixture", ""])


def _write(root: Path, parts: dict[str, datasets.Dataset], path: Callable[[str], str]) -> None:
    for split, ds in parts.items():
        target = root / path(split)
        target.parent.mkdir(parents=True, exist_ok=True)
        ds.to_parquet(str(target))


def celeba(root: Path, sizes: dict[str, int] | None = None) -> Path:
    """``flwrlabs/celeba``: config ``img_align+identity+attr``; splits train/valid/test; ``image`` Image,
    ``celeb_id`` int64, the 40 attributes ``bool``."""
    sizes = sizes or {"train": 40, "valid": 12, "test": 12}
    features = datasets.Features({"image": datasets.Image(), "celeb_id": datasets.Value("int64"),
                                  **{a: datasets.Value("bool") for a in CELEBA_ATTRIBUTES}})
    rng = np.random.default_rng(0)
    parts = {}
    for split, n in sizes.items():
        attrs = {a: (rng.random(n) < 0.5).tolist() for a in CELEBA_ATTRIBUTES}
        for a in attrs:  # both classes in every split
            attrs[a][:2] = [True, False]
        parts[split] = datasets.Dataset.from_dict({"image": _images(rng, n, (11, 9, 3)), "celeb_id": rng.integers(1, 10177, n).tolist(),
                                                   **attrs}, features=features)
    config = "img_align+identity+attr"
    _write(root, parts, lambda split: f"{config}/{split}-00000-of-00001.parquet")
    (root / "README.md").write_text(_card({config: {s: f"{config}/{s}-*" for s in parts}}))
    return root


def fairface(root: Path) -> Path:
    """``HuggingFaceM4/FairFace``: configs ``0.25`` and ``1.25``; splits train/validation; ``image`` Image, ``age``,
    ``gender``, ``race`` ClassLabel, ``service_test`` bool."""
    features = datasets.Features({
        "image": datasets.Image(), "age": datasets.ClassLabel(names=FAIRFACE_AGES),
        "gender": datasets.ClassLabel(names=["Male", "Female"]), "race": datasets.ClassLabel(names=FAIRFACE_RACES),
        "service_test": datasets.Value("bool"),
    })
    rng = np.random.default_rng(1)
    configs = {}
    for config in ("0.25", "1.25"):
        parts = {}
        for split, n in (("train", 40), ("validation", 14)):
            parts[split] = datasets.Dataset.from_dict({
                "image": _images(rng, n), "age": (np.arange(n) % 9).tolist(), "gender": (np.arange(n) % 2).tolist(),
                "race": (np.arange(n) % 7).tolist(), "service_test": (rng.random(n) < 0.3).tolist(),
            }, features=features)
        _write(root, parts, lambda split, c=config: f"{c}/{split}-00000-of-00001.parquet")
        configs[config] = {s: f"{config}/{s}-*" for s in parts}
    (root / "README.md").write_text(_card(configs))
    return root


QM9_FLOATS = ("A", "B", "C", *QM9_TARGETS)
QM9_DESCRIPTORS = ("rdkit_WT", "rdkit_MR", "rdkit_LogP", "rdkit_HA", "rdkit_HD")


def qm9(root: Path, missing: float = 0.0) -> Path:
    """``raphavlas/qm9_v2``: default config; splits train/validation/test; float64 targets and descriptors,
    string SMILES columns, ``isSmilesEqual`` bool, ``index`` int64. ``missing``: that share of each target
    and of ``rdkit_LogP`` left null."""
    features = datasets.Features({
        **{c: datasets.Value("float64") for c in QM9_FLOATS + QM9_DESCRIPTORS},
        **{c: datasets.Value("string") for c in ("smiles", "canonsmiles", "scaffold", "generic_scaffold")},
        "isSmilesEqual": datasets.Value("bool"), "index": datasets.Value("int64"),
    })
    rng = np.random.default_rng(2)
    parts = {}
    for split, n in (("train", 60), ("validation", 20), ("test", 20)):
        columns: dict[str, Any] = {c: rng.normal(size=n).tolist() for c in QM9_FLOATS + QM9_DESCRIPTORS}
        if missing:
            for c in (*QM9_TARGETS, "rdkit_LogP"):
                for i in rng.choice(n, size=int(round(missing * n)), replace=False):
                    columns[c][i] = None
        smiles = [("C" * int(k)) + "O" for k in rng.integers(1, 9, n)]
        columns |= {"smiles": smiles, "canonsmiles": smiles, "scaffold": [""] * n, "generic_scaffold": [""] * n,
                    "isSmilesEqual": [True] * n, "index": list(range(n))}
        parts[split] = datasets.Dataset.from_dict(columns, features=features)
    _write(root, parts, lambda split: f"data/{split}-00000-of-00001.parquet")
    (root / "README.md").write_text(_card({"default": {s: f"data/{s}-*" for s in parts}}))
    return root


def hateful_memes(root: Path, n: int = 60) -> Path:
    """``Multimodal-Fatima/Hatefulmemes_train``: default config; only a train split; ``image`` Image, ``text``
    string, ``label`` ClassLabel[not-hateful, hateful], ``id`` int64, plus extra generated columns."""
    features = datasets.Features({
        "image": datasets.Image(), "text": datasets.Value("string"),
        "label": datasets.ClassLabel(names=["not-hateful", "hateful"]), "id": datasets.Value("int64"),
        "clip_tags_ViT_L_14": datasets.List(datasets.Value("string")), "blip_caption": datasets.Value("string"),
    })
    rng = np.random.default_rng(3)
    train = datasets.Dataset.from_dict({
        "image": _images(rng, n, (12, 10, 3)), "text": [f"meme text {i}" for i in range(n)],
        "label": (np.arange(n) % 2).tolist(), "id": rng.integers(10000, 99999, n).tolist(),
        "clip_tags_ViT_L_14": [["a", "b"]] * n, "blip_caption": ["a picture"] * n,
    }, features=features)
    _write(root, {"train": train}, lambda split: f"data/{split}-00000-of-00001.parquet")
    (root / "README.md").write_text(_card({"default": {"train": "data/train-*"}}))
    return root


def meld(root: Path) -> Path:
    """``ajyy/MELD_audio`` on ``refs/convert/parquet``: ``default/<split>/0000.parquet``, no card; ``text``,
    ``path`` string, ``audio`` Audio(16 kHz), ``emotion`` and ``sentiment`` ClassLabel."""
    raw = {"bytes": datasets.Value("binary"), "path": datasets.Value("string")}  # encoding Audio needs torchcodec
    features = datasets.Features({
        "text": datasets.Value("string"), "path": datasets.Value("string"), "audio": raw,
        "emotion": datasets.ClassLabel(names=MELD_EMOTIONS), "sentiment": datasets.ClassLabel(names=MELD_SENTIMENTS),
    })
    rng = np.random.default_rng(4)
    parts = {}
    for split, n in (("train", 21), ("validation", 7), ("test", 7)):
        parts[split] = datasets.Dataset.from_dict({
            "text": [f"utterance {i}" for i in range(n)], "path": [f"dia{i}_utt0.mp4" for i in range(n)],
            "audio": [{"bytes": _wav(rng, int(rng.integers(300, 900))), "path": None} for _ in range(n)],
            "emotion": (np.arange(n) % 7).tolist(), "sentiment": (np.arange(n) % 3).tolist(),
        }, features=features).cast_column("audio", datasets.Audio(sampling_rate=16000))
    _write(root, parts, lambda split: f"default/{split}/0000.parquet")
    return root


#: catalogue name -> fixture writer
WRITERS: dict[str, Callable[[Path], Path]] = {
    "celeba-40": celeba, "celeba-5": celeba, "fairface": fairface, "qm9": qm9, "hateful-memes": hateful_memes, "meld": meld,
}
