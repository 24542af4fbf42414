"""``multifashion``: MultiFashion (Lin et al. 2019, "Pareto Multi-Task Learning", NeurIPS) — the MultiMNIST
construction (Sabour et al. 2017; the multitask benchmark of Sener & Koltun 2018) on Fashion-MNIST (Xiao et al.
2017), built from the idx files of the Debian package ``dataset-fashion-mnist``.

- source: the 70,000 real 28x28 grayscale product photos (train + t10k files), 10 classes.
- rows: ``n`` photos (default 3,000) drawn from the 70,000 stratified by class with ``seed``, split
  70/15/15 stratified by class (the test split of ``seed``; train/validation redrawn by ``split_seed``), then paired *within* each split by :func:`mmbench.data.multidigits.pair_within`
  (seeded by ``seed``): each photo once on the left, once on the right, pairs never cross splits.
- image: :func:`mmbench.data.multidigits.overlay` on a 36x36 canvas: the left photo at the top-left corner,
  the right one at the bottom-right (an 8-pixel shift each way), pixel-wise maximum where they overlap.
- tasks: ``left`` and ``right`` (Fashion-MNIST's 10 classes each). Image only: no second modality is
  meaningful here (MultiFashion is a multitask benchmark, not a multimodal one).
"""

from __future__ import annotations

import gzip
from functools import partial
from pathlib import Path
from typing import Any

from mmbench.data.errors import DatasetError
from mmbench.data.multidigits import overlay, pair_within
from mmbench.data.real.cache import cached, card, require_source, sources_sha256
from mmbench.data.spec import DatasetSpec, ModalitySpec, TaskSpec
from mmbench.data.splits import split_sizes, stratified_split

SOURCE_DIR = Path("/usr/share/datasets/fashion-mnist")
INSTALL = "apt-get install dataset-fashion-mnist"
FILES = (("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"))
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
CANVAS = 36
N_SOURCE = 70_000
#: bump when the construction changes: cached builds of the old one are then not reused
VERSION = 2

_IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> Any:
    """An idx file (LeCun's MNIST format, gzipped or not) as a numpy array."""
    import numpy as np

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise DatasetError(f"{path} is not an idx file (bad magic number {data[:4].hex()}). Fix: reinstall it with `{INSTALL}`.")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    body = np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise DatasetError(f"{path} holds {body.size} values, its header says {shape}. Fix: reinstall it with `{INSTALL}`.")
    return body.reshape(shape)


def fashion_mnist(source_dir: Path) -> tuple[Any, Any]:
    """Fashion-MNIST's photos ``uint8 [N, 28, 28]`` and labels ``int64 [N]``, train then t10k files."""
    import numpy as np

    images, labels = [], []
    for image_file, label_file in FILES:
        images.append(read_idx(source_dir / image_file).astype(np.uint8))
        labels.append(read_idx(source_dir / label_file).astype(np.int64))
    return np.concatenate(images), np.concatenate(labels)


def _build(source_dir: Path, n: int, seed: int, split_seed: int) -> Any:
    import datasets
    import numpy as np
    from PIL import Image
    from sklearn.model_selection import train_test_split

    images, labels = fashion_mnist(source_dir)
    index = np.arange(len(labels))
    if n < len(labels):
        index = np.sort(train_test_split(index, train_size=n, stratify=labels, random_state=seed)[0])  # the photos: fixed by seed
    rng = np.random.default_rng([seed, 3])
    features = datasets.Features({"image": datasets.Image(), "left": datasets.ClassLabel(names=list(CLASSES)),
                                  "right": datasets.ClassLabel(names=list(CLASSES))})
    out = {}
    for role, idx in stratified_split(labels[index], split_seed, test_seed=seed).items():
        left, right = pair_within(index[idx], rng)
        canvases = overlay(images[left], images[right], CANVAS)
        out[role] = datasets.Dataset.from_dict({
            "image": [Image.fromarray(c) for c in canvases],
            "left": labels[left].tolist(),
            "right": labels[right].tolist(),
        }, features=features, split=role)
    return datasets.DatasetDict(out)


def build_multifashion(source_dir: Path, checksum: str, n: int, seed: int, split_seed: int) -> Any:
    """The ``multifashion`` DatasetDict, from the on-disk cache or built once into it."""
    from mmbench.data.builtin import INFO

    key = {"version": VERSION, "sources": checksum, "n": n, "seed": seed, "split_seed": split_seed}
    readme = card({"name": "multifashion", **INFO["multifashion"]}, f"Debian dataset-fashion-mnist ({source_dir})",
                  checksum, key)
    return cached("multifashion", key, partial(_build, source_dir, n, seed, split_seed), readme)


def multifashion_spec(seed: int = 0, n: int = 3000, split_seed: int | None = None, image_size: int | None = None,
                      source_dir: str | None = None) -> DatasetSpec:
    """The ``multifashion`` dataset (MultiFashion, Lin et al. 2019) from Debian's Fashion-MNIST idx files
    (``source_dir``: another folder holding them); ``image_size`` resizes the 36x36 canvases when decoded
    (28 is what Sener & Koltun's code and the papers' data use; smaller is cheaper)."""
    from mmbench.data.builtin import INFO

    if not isinstance(n, int) or not 30 <= n <= N_SOURCE:
        raise DatasetError(f"dataset 'multifashion': option n must be an integer in 30..{N_SOURCE:,}; got {n!r}")
    if image_size is not None and (not isinstance(image_size, int) or image_size < 4):
        raise DatasetError(f"dataset 'multifashion': option image_size must be an integer >= 4; got {image_size!r}")
    folder = Path(source_dir).expanduser() if source_dir else SOURCE_DIR
    files = [require_source("multifashion", folder / f, INSTALL, "source_dir") for pair in FILES for f in pair]
    checksum = sources_sha256(files, folder)
    split_seed = int(seed if split_seed is None else split_seed)
    n_train, n_val, n_test = split_sizes(n)
    info = INFO["multifashion"]
    return DatasetSpec(
        name="multifashion",
        modalities={"image": ModalitySpec(("image",), "image")},
        tasks={"left": TaskSpec("left", "classification"), "right": TaskSpec("right", "classification")},
        builder=partial(build_multifashion, folder, checksum, n, int(seed), split_seed),
        revision=f"sha256:{checksum}",
        metadata={
            "description": info["description"], "reference": info["reference"], "license": info["license"],
            "citation": info["citation"], "source": f"{folder} (Debian dataset-fashion-mnist; `{INSTALL}`)",
            "size": {"total": n, "train": n_train, "validation": n_val, "test": n_test},
            "splits": f"{n} of Fashion-MNIST's 70,000 photos drawn and split 70/15/15 stratified by class "
                      f"(photos and test split by seed={seed}, train/validation by split_seed={split_seed}) before "
                      "pairing; pairs never cross splits",
            "ground_truth": {"left": "image (the top-left item, partly covered by the other)",
                             "right": "image (the bottom-right item, partly covered by the other)"},
            "options": {"seed": int(seed), "n": n, "split_seed": split_seed, "image_size": image_size,
                        "source_dir": str(folder)},
            **({"decode": {"image": {"size": image_size}}} if image_size else {}),
        },
    )
