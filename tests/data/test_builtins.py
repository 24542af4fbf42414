"""Built-in datasets: registered, deterministic from the seed, sizes and ground truth as documented."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from mmbench.data.digits import describe
from mmbench.data.loading import load, resolve
from mmbench.data.multidigits import overlay
from mmbench.plugins import get_registry

DOCS = Path(__file__).resolve().parents[2] / "docs" / "datasets.md"
BUILTINS = ("digits", "multidigits", "pid-synthetic")
METADATA_KEYS = {"description", "reference", "size", "splits", "ground_truth"}


@pytest.fixture(scope="module")
def digits() -> object:
    return load("digits")


@pytest.fixture(scope="module")
def pid() -> object:
    return load("pid-synthetic")


@pytest.mark.parametrize("name", BUILTINS)
def test_registered_with_metadata_and_documented(name: str) -> None:
    entry = get_registry("datasets").get(name)
    assert entry.plugin == "mmbench.data.builtin" and entry.description and entry.metadata["reference"]
    spec = resolve(name)
    assert METADATA_KEYS <= set(spec.metadata)
    assert set(spec.metadata["ground_truth"]) == set(spec.tasks)
    text = DOCS.read_text()
    assert f"`{name}`" in text
    size = spec.metadata["size"]
    assert f"{size['train']:,} / {size['validation']:,} / {size['test']:,}" in text


def test_digits_sizes_shapes_and_labels(digits: object) -> None:
    spec = digits.spec
    assert {r: len(s) for r, s in digits.splits.items()} == {k: spec.metadata["size"][k] for k in ("train", "validation", "test")}
    assert spec.metadata["size"] == {"total": 1797, "train": 1257, "validation": 270, "test": 270}
    assert digits.modality_info["image"].shape == (1, 8, 8) and digits.modality_info["text"].kind == "text"
    assert {t: i.out_dim for t, i in digits.task_info.items()} == {"digit": 10, "parity": 2, "large": 2, "ink": 1}
    for split in digits.splits.values():
        digit, image = split.targets["digit"], split.modalities["image"]
        assert torch.equal(split.targets["parity"], digit % 2)
        assert torch.equal(split.targets["large"], (digit >= 5).long())
        torch.testing.assert_close(split.targets["ink"], image.mean(dim=(1, 2, 3)))
        assert 0.0 <= image.min() and image.max() <= 1.0


def test_digits_are_the_uci_scans(digits: object) -> None:
    sk = load_digits()
    # every decoded image is one of sklearn's scans (0..16 scaled to [0, 1], 8-bit quantised), with its label
    scans = {bytes(np.rint(img * 255 / 16).astype(np.uint8)): int(y) for img, y in zip(sk.images, sk.target)}
    for split in digits.splits.values():
        for img, y in zip(split.modalities["image"][:50], split.targets["digit"][:50]):
            assert scans[bytes(np.rint(img[0].numpy() * 255).astype(np.uint8))] == int(y)


def test_digits_text_is_partly_informative(digits: object) -> None:
    train = digits.splits["train"]
    said_odd = np.array(["odd" in t for t in train.modalities["text"]])
    said_large = np.array([any(w in t for w in ("five or more", "large", "high")) for t in train.modalities["text"]])
    parity_right = (said_odd == train.targets["parity"].numpy().astype(bool)).mean()
    large_right = (said_large == train.targets["large"].numpy().astype(bool)).mean()
    # noise 0.3: each attribute is correct with probability 1 - 0.3/2 = 0.85 (3 sigma over 1,257 rows ~ 0.03)
    assert abs(parity_right - 0.85) < 0.04 and abs(large_right - 0.85) < 0.04
    assert not any(any(str(d) in t for d in range(10)) for t in train.modalities["text"])  # never names the digit
    labels = np.arange(100) % 10
    clean = describe(labels, 0.0, np.random.default_rng(0))  # noise 0: always right
    assert all(("odd" in t) == bool(y % 2) for t, y in zip(clean, labels))
    assert all(any(w in t for w in ("five or more", "large", "high")) == (y >= 5) for t, y in zip(clean, labels))


def test_digits_deterministic_from_the_seed(digits: object) -> None:
    assert load("digits").fingerprint == digits.fingerprint
    other = load({"name": "digits", "options": {"seed": 1}})
    assert other.fingerprint != digits.fingerprint
    assert not torch.equal(other.splits["test"].targets["digit"], digits.splits["test"].targets["digit"])


def test_overlay_places_left_top_left_and_right_bottom_right() -> None:
    left = np.full((1, 8, 8), 10, dtype=np.uint8)
    right = np.full((1, 8, 8), 30, dtype=np.uint8)
    right[0, 0, 0] = 5  # under the left digit: the max keeps 10
    canvas = overlay(left, right)[0]
    assert canvas.shape == (12, 12)
    assert (canvas[:4, :8] == 10).all() and (canvas[4:8, :4] == 10).all()
    assert canvas[4, 4] == 10 and (canvas[5:, 5:] == 30).all() and (canvas[8:, 8:] == 30).all()
    assert (canvas[:4, 8:] == 0).all() and (canvas[8:, :4] == 0).all()


def test_multidigits() -> None:
    loaded = load("multidigits")
    spec = loaded.spec
    assert {r: len(s) for r, s in loaded.splits.items()} == {k: spec.metadata["size"][k] for k in ("train", "validation", "test")}
    assert loaded.modality_info["image"].shape == (1, 12, 12)
    assert {t: i.out_dim for t, i in loaded.task_info.items()} == {"left": 10, "right": 10}
    for split in loaded.splits.values():
        left, right = split.targets["left"], split.targets["right"]
        assert torch.equal(torch.sort(left).values, torch.sort(right).values)  # each scan once on each side
        assert (split.modalities["image"][:, :, 8:, :4] == 0).all()  # bottom-left corner stays empty
    assert load("multidigits").fingerprint == loaded.fingerprint


def test_pid_synthetic_sizes_and_determinism(pid: object) -> None:
    assert {r: len(s) for r, s in pid.splits.items()} == {"train": 1400, "validation": 300, "test": 300}
    assert {m: i.shape for m, i in pid.modality_info.items()} == {"a": (16,), "b": (16,)}
    assert load("pid-synthetic").fingerprint == pid.fingerprint
    assert load({"name": "pid-synthetic", "options": {"seed": 3}}).fingerprint != pid.fingerprint
    small = load(resolve("pid-synthetic", n=200, dim=4))
    assert [len(small.splits[r]) for r in ("train", "validation", "test")] == [140, 30, 30]
    assert small.modality_info["a"].shape == (4,)


def _accuracy(train_x: np.ndarray, train_y: torch.Tensor, test_x: np.ndarray, test_y: torch.Tensor) -> float:
    model = LogisticRegression(max_iter=500).fit(train_x, train_y.numpy())
    return float(model.score(test_x, test_y.numpy()))


def test_pid_synthetic_ground_truth(pid: object) -> None:
    tr, te = pid.splits["train"], pid.splits["test"]
    a_tr, a_te = tr.modalities["a"].numpy(), te.modalities["a"].numpy()
    b_tr, b_te = tr.modalities["b"].numpy(), te.modalities["b"].numpy()
    # modality a alone: good on what it carries, chance on synergy and on b's unique task
    assert _accuracy(a_tr, tr.targets["unique_a"], a_te, te.targets["unique_a"]) > 0.85
    assert _accuracy(a_tr, tr.targets["redundant"], a_te, te.targets["redundant"]) > 0.8
    assert _accuracy(b_tr, tr.targets["redundant"], b_te, te.targets["redundant"]) > 0.8
    assert abs(_accuracy(a_tr, tr.targets["synergy"], a_te, te.targets["synergy"]) - 0.5) < 0.1
    assert abs(_accuracy(a_tr, tr.targets["unique_b"], a_te, te.targets["unique_b"]) - 0.5) < 0.1
    assert abs(_accuracy(b_tr, tr.targets["synergy"], b_te, te.targets["synergy"]) - 0.5) < 0.1
    # a and b together, with their products as the XOR feature: solvable
    pairs = lambda a, b: (a[:, :, None] * b[:, None, :]).reshape(len(a), -1)  # noqa: E731
    assert _accuracy(pairs(a_tr, b_tr), tr.targets["synergy"], pairs(a_te, b_te), te.targets["synergy"]) > 0.9


@pytest.mark.parametrize("name", ["digits", "multidigits", "pid-synthetic"])
def test_builtin_splits_are_stratified_and_redrawn_by_split_seed(name: str) -> None:
    import torch

    from mmbench.data.loading import load, resolve_with_split

    first, other = load(resolve_with_split(name, 0)), load(resolve_with_split(name, 1))
    for task, info in first.task_info.items():
        if info.type != "classification":
            continue
        share = {s: torch.bincount(torch.as_tensor(first.splits[s].targets[task]), minlength=info.out_dim).float()
                 / len(first.splits[s]) for s in ("train", "validation", "test")}
        assert (share["test"] - share["train"]).abs().max() < 0.015, (task, share)  # each class keeps its share
        assert (share["validation"] - share["train"]).abs().max() < 0.015, (task, share)
    assert first.fingerprint != other.fingerprint  # another split
    assert [len(first.splits[s]) for s in ("train", "validation", "test")] == \
           [len(other.splits[s]) for s in ("train", "validation", "test")]
