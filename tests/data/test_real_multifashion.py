"""``multifashion`` from a tiny Fashion-MNIST written in the Debian package's idx format: the MultiMNIST
construction shared with ``multidigits``, splits before pairing, the on-disk cache keyed by the files'
checksum, and a missing package naming its install command."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from mmbench.data import DatasetError
from mmbench.data.loading import load, resolve
from mmbench.data.multidigits import overlay
from mmbench.data.real import multifashion
from mmbench.data.real.multifashion import CANVAS, FILES, fashion_mnist, read_idx

N_PER_FILE = {"train": 100, "t10k": 40}


def _write_idx(path: Path, array: np.ndarray) -> None:
    codes = {np.dtype(np.uint8): 0x08}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Debian's four idx files with 140 random 'photos' (14 per class), each a distinct constant-free pattern."""
    monkeypatch.setenv("MMBENCH_DATASETS_DIR", str(tmp_path / "built"))
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for (images, labels), n in zip(FILES, N_PER_FILE.values()):
        _write_idx(folder / images, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        _write_idx(folder / labels, (np.arange(n) % 10).astype(np.uint8))
    return folder


def _load(source: Path, **options):
    return load(resolve({"name": "multifashion", "options": {"source_dir": str(source), "n": 100, **options}}))


def test_idx_files_are_read_as_written(source: Path):
    images, labels = fashion_mnist(source)
    assert images.shape == (140, 28, 28) and images.dtype == np.uint8
    assert labels.tolist() == [i % 10 for i in range(100)] + [i % 10 for i in range(40)]


def _photo_ids(images: np.ndarray, canvases: np.ndarray) -> tuple[list[int], list[int]]:
    """Which photo is on the left and on the right of each canvas: the top 8 rows of a canvas show only the
    left photo, the bottom 8 rows only the right one."""
    tops = {images[i][:8].tobytes(): i for i in range(len(images))}
    bottoms = {images[i][-8:].tobytes(): i for i in range(len(images))}
    return ([tops[c[:8, :28].tobytes()] for c in canvases], [bottoms[c[-8:, 8:].tobytes()] for c in canvases])


def test_the_pairs_are_the_multimnist_construction_on_a_36_canvas(source: Path):
    data = _load(source)
    assert data.modality_info["image"].shape == (1, CANVAS, CANVAS)
    assert {r: len(s) for r, s in data.splits.items()} == {"train": 70, "validation": 15, "test": 15}
    assert set(data.task_info) == {"left", "right"} and data.task_info["left"].out_dim == 10
    assert data.spec.revision.startswith("sha256:") and len(data.spec.revision) == 7 + 64
    images, labels = fashion_mnist(source)
    canvases = np.rint(data.splits["train"].modalities["image"][:, 0].numpy() * 255).astype(np.uint8)
    left, right = _photo_ids(images, canvases)
    assert np.array_equal(canvases, overlay(images[left], images[right], CANVAS))
    assert data.splits["train"].targets["left"].tolist() == labels[left].tolist()
    assert data.splits["train"].targets["right"].tolist() == labels[right].tolist()


def test_every_photo_is_once_left_and_once_right_within_its_split(source: Path):
    images, _ = fashion_mnist(source)
    built = multifashion.build_multifashion(source, "checksum", 100, 0, 0)
    seen = {}
    for role, split in built.items():
        left, right = _photo_ids(images, np.stack([np.asarray(im) for im in split["image"]]))
        assert sorted(left) == sorted(right) and len(set(left)) == len(split)
        assert all(a != b for a, b in zip(left, right))
        seen[role] = set(left)
    assert not (seen["train"] & seen["test"]) and not (seen["train"] & seen["validation"])
    assert not (seen["validation"] & seen["test"])


def test_image_size_resizes_the_canvas_when_decoded(source: Path):
    data = _load(source, image_size=28)
    assert data.modality_info["image"].shape == (1, 28, 28)
    assert any("resized 100 image(s) to 28x28" in n for n in data.notes)


def test_seeds_redraw_pairs_and_splits(source: Path):
    a = _load(source)
    b = _load(source, seed=1)
    c = _load(source, split_seed=1)
    assert len({a.fingerprint, b.fingerprint, c.fingerprint}) == 3
    assert _load(source).fingerprint == a.fingerprint  # deterministic


def test_the_build_is_cached_on_disk_keyed_by_the_source_checksum(source: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch):
    first = _load(source)
    folders = sorted((tmp_path / "built").glob("multifashion-*"))
    assert len(folders) == 1 and "MIT" in (folders[0] / "README.md").read_text()
    monkeypatch.setattr(multifashion, "_build", lambda *a: pytest.fail("rebuilt although cached"))
    assert _load(source).fingerprint == first.fingerprint
    monkeypatch.undo()
    monkeypatch.setenv("MMBENCH_DATASETS_DIR", str(tmp_path / "built"))
    labels = read_idx(source / FILES[1][1]).copy()
    labels[:2] = labels[1::-1]  # a changed source file: another checksum, another build
    _write_idx(source / FILES[1][1], labels)
    assert resolve({"name": "multifashion", "options": {"source_dir": str(source), "n": 100}}).revision != first.spec.revision
    _load(source)
    assert len(sorted((tmp_path / "built").glob("multifashion-*"))) == 2


def test_a_missing_package_names_its_install_command(tmp_path: Path):
    with pytest.raises(DatasetError, match="apt-get install dataset-fashion-mnist") as err:
        resolve({"name": "multifashion", "options": {"source_dir": str(tmp_path / "nowhere")}})
    assert "source_dir" in str(err.value)


def test_a_damaged_idx_file_is_named(source: Path):
    (source / FILES[0][0]).write_bytes(gzip.compress(b"\x00\x00\x99\x03junk"))
    with pytest.raises(DatasetError, match="not an idx file"):
        _load(source)


@pytest.mark.parametrize("n", [10, 80_000, "many"])
def test_the_size_option_is_checked(source: Path, n):
    with pytest.raises(DatasetError, match="option n must be an integer"):
        resolve({"name": "multifashion", "options": {"source_dir": str(source), "n": n}})
