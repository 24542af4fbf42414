"""Image encoders: any timm model (pretrained offline where weights ship in a pip package), and a small CNN
that trains in seconds on tiny images."""

from __future__ import annotations

import difflib
import os
from typing import Any, Sequence
from urllib.parse import urlparse

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmbench.components.base import Encoder, ModalityInfo
from mmbench.components.encoders.bundled import find_bundled, load_bundled, offline_models
from mmbench.components.encoders.common import FreezableEncoder, state_dict_digest
from mmbench.components.encoders.hub import WeightsUnavailableError, hf_cached, require_hub

#: The default timm model: timm's own 0.37M-parameter test ResNet, ~0.6 s per epoch on 1,000 8×8 images
#: on two CPU cores (``resnet10t`` takes ~10 s). Pick a real model with the ``model_name`` option.
DEFAULT_TIMM_MODEL = "test_resnet"

LOCAL_WEIGHTS_FIX = ("point timm at a local weights file with the encoder option "
                     "pretrained_cfg_overlay=dict(file='/path/to/model.safetensors')")


def _local_fix() -> str:
    return f"{LOCAL_WEIGHTS_FIX}; or use a model whose weights ship offline: {offline_models()}"


_HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "open_clip_model.safetensors",
                    "open_clip_pytorch_model.bin")


def image_tensor(values: Sequence[Any] | Tensor, channels: int) -> Tensor:
    """Decoded images as float ``[N, C, H, W]`` in [0, 1] (``uint8`` is scaled; ``[N, H, W]`` gets C=1)."""
    x = values if isinstance(values, Tensor) else torch.as_tensor(values)
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    if x.dim() == 3 and channels == 1:
        x = x.unsqueeze(1)
    if x.dim() != 4 or x.shape[1] != channels:
        raise ValueError(f"expected images [N, {channels}, H, W], got shape {tuple(x.shape)}")
    return x


def _image_shape(info: ModalityInfo) -> tuple[int, int, int]:
    if len(info.shape) != 3:
        raise ValueError(f"modality {info.name!r}: an image encoder needs shape (C, H, W), got {info.shape}")
    c, h, w = (int(s) for s in info.shape)
    return c, h, w


def _require_pretrained(model: str, overlay: dict[str, Any]) -> None:
    """Fail fast, with the fix, when timm would have to download weights that it cannot reach."""
    from timm.models import get_pretrained_cfg

    if overlay.get("state_dict") is not None:
        return
    if overlay.get("file"):
        if not os.path.exists(overlay["file"]):
            raise WeightsUnavailableError(f"pretrained_cfg_overlay file {overlay['file']!r} does not exist")
        return
    what = f"timm model {model!r}"
    if model.startswith("local-dir:"):
        return
    if model.startswith(("hf-hub:", "hf_hub:")):
        repo, _, revision = model.split(":", 1)[1].partition("@")
        if not hf_cached(repo, ("config.json",), revision or None):
            require_hub(what, local_fix=_local_fix())
        return
    cfg = get_pretrained_cfg(model)
    merged = {**(cfg.to_dict() if cfg is not None else {}), **overlay}
    if merged.get("hf_hub_id"):
        repo, _, revision = merged["hf_hub_id"].partition("@")
        files = (merged["hf_hub_filename"],) if merged.get("hf_hub_filename") else _HF_WEIGHT_FILES
        if not hf_cached(repo, files, revision or None):
            require_hub(f"{what} (hub repo {repo})", local_fix=_local_fix())
    elif merged.get("url"):
        cached = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(urlparse(merged["url"]).path))
        if not os.path.exists(cached):
            require_hub(f"{what} ({merged['url']})", url=merged["url"], local_fix=_local_fix())


def _create(model: str, pretrained: bool, in_chans: int, kwargs: dict[str, Any]) -> tuple[nn.Module, str]:
    """The pooled timm model and where its weights came from: ``random-init``, ``pretrained`` (timm's hub or
    cache, or a file) or ``bundled:<package>@sha256=<digest>`` (:mod:`~mmbench.components.encoders.bundled`)."""
    import timm

    if not model.startswith(("hf-hub:", "hf_hub:", "local-dir:")) and not timm.is_model(model.split(".")[0]):
        close = difflib.get_close_matches(model, timm.list_models(), n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else " (see timm.list_models())"
        raise ValueError(f"unknown timm model {model!r}{hint}")
    bundle = find_bundled(model) if pretrained and not kwargs.get("pretrained_cfg_overlay") else None
    if bundle is not None and bundle.file() is not None:
        net = timm.create_model(model, pretrained=False, in_chans=in_chans, **kwargs)
        digest = load_bundled(net, bundle)
        net.reset_classifier(0)
        return net, f"bundled:{bundle.package}@sha256={digest}"
    if pretrained:
        _require_pretrained(model, dict(kwargs.get("pretrained_cfg_overlay") or {}))
    try:
        net = timm.create_model(model, pretrained=pretrained, in_chans=in_chans, num_classes=0, **kwargs)
    except (OSError, ConnectionError) as exc:
        if not pretrained:
            raise
        raise WeightsUnavailableError(f"could not load pretrained weights for timm model {model!r}: {exc}. "
                                      f"Fix: connect to the network, or {_local_fix()}.") from exc
    return net, "pretrained" if pretrained else "random-init"


def _probe(model: nn.Module, channels: int, size: tuple[int, int], default: tuple[int, int]) -> tuple[tuple[int, int], int]:
    """The smallest input size from ``size`` upwards (doubling, then the model's default) that the model accepts.

    Returns that size and the output width. Small inputs (8×8 digits) break models whose stride or patch
    size needs more pixels; the encoder then upsamples every batch to the size found here.
    """
    candidates = [size]
    h, w = size
    while h < default[0] or w < default[1]:
        h, w = min(2 * h, max(default[0], h)), min(2 * w, max(default[1], w))
        candidates.append((h, w))
    candidates.append(default)
    was_training = model.training
    model.eval()
    errors = []
    try:
        for cand in dict.fromkeys(candidates):
            try:
                with torch.no_grad():
                    out = model(torch.zeros(1, channels, *cand))
            except (RuntimeError, AssertionError, ValueError) as exc:
                errors.append(f"{cand}: {exc}")
                continue
            return cand, int(out.shape[-1])
    finally:
        model.train(was_training)
    raise ValueError(f"the model accepts none of the input sizes {candidates}; set the encoder option "
                     f"input_size=(H, W). Errors: {'; '.join(errors)[:500]}")


class TimmEncoder(FreezableEncoder):
    """Any ``timm`` model as an image encoder (Wightman 2019, pytorch-image-models), pooled to ``[B, D]``.

    ``in_chans`` and the input size come from the modality's ``(C, H, W)``. When the model cannot run on
    that size (patch or stride larger than an 8×8 digit), batches are upsampled (bilinear) to the
    smallest size it accepts, or to ``input_size``. Inputs are normalised with the model's mean/std.
    Extra options go to ``timm.create_model`` (``drop_rate``, ``pretrained_cfg_overlay``, ``img_size``...).
    ``pretrained`` weights of a model in :data:`~mmbench.components.encoders.bundled.BUNDLED` come from their
    pip package, checked by SHA-256 (``weights_source`` says which source was used); ``frozen`` features are cached.
    """

    def __init__(self, info: ModalityInfo, model_name: str = DEFAULT_TIMM_MODEL, pretrained: bool = False,
                 frozen: bool = False, input_size: tuple[int, int] | int | None = None, **model_kwargs: Any):
        super().__init__()
        channels, h, w = _image_shape(info)
        self.model_name, self.pretrained, self.channels = model_name, bool(pretrained), channels
        self.model, self.weights_source = _create(model_name, self.pretrained, channels, model_kwargs)
        cfg = dict(getattr(self.model, "pretrained_cfg", None) or {})
        default = tuple(cfg.get("input_size", (channels, 224, 224)))[-2:]
        if input_size is not None:
            size = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
            self.input_size, self.out_dim = _probe(self.model, channels, size, size)  # type: ignore[arg-type]
        else:
            self.input_size, self.out_dim = _probe(self.model, channels, (h, w), default)  # type: ignore[arg-type]
        mean, std = (self._per_channel(cfg.get(k), fill) for k, fill in (("mean", 0.5), ("std", 0.5)))
        self.register_buffer("mean", mean.view(1, channels, 1, 1))
        self.register_buffer("std", std.view(1, channels, 1, 1))
        self._fingerprint: str | None = None
        if frozen:
            self.freeze()

    def _per_channel(self, values: Sequence[float] | None, fill: float) -> Tensor:
        v = torch.tensor(values if values else [fill], dtype=torch.float32)
        return v if len(v) == self.channels else v.mean().repeat(self.channels)

    def preprocess(self, values: Sequence[Any] | Tensor) -> Tensor:
        return image_tensor(values, self.channels)

    def forward(self, x: Tensor) -> Tensor:
        x = x.to(self.mean.dtype)
        if tuple(x.shape[-2:]) != self.input_size:
            x = F.interpolate(x, size=self.input_size, mode="bilinear", align_corners=False)
        x = (x - self.mean) / self.std
        if self.frozen:
            with torch.no_grad():
                return self.model(x)
        return self.model(x)

    def fingerprint(self) -> str | None:
        if not self.frozen:
            return None
        if self._fingerprint is None:
            source = self.weights_source.partition("@")[0]  # the digest below covers the weights themselves
            self._fingerprint = (f"timm:{self.model_name}:{source}:in_chans={self.channels}:"
                                 f"size={self.input_size[0]}x{self.input_size[1]}:sha256={state_dict_digest(self)}")
        return self._fingerprint


class SmallCNN(Encoder):
    """Two 3×3 convolutions, each followed by batch normalisation and a ReLU, max-pooling between them,
    and global average pooling (LeNet-style, LeCun et al. 1998, Proc. IEEE; batch normalisation, Ioffe &
    Szegedy 2015, ICML). ``out_dim`` channels out; built for tiny images such as 8×8 digits.

    Batch normalisation keeps the ReLUs alive: without it, Adam at lr 0.01 drove every output channel
    negative on every input in half of the tuned multidigits early-fusion baselines (2 of 12 untuned),
    and those models stayed at chance (docs/components/encoders.md). ``batch_norm=False`` builds that encoder without it."""

    def __init__(self, info: ModalityInfo, out_dim: int = 64, width: int = 32, dropout: float = 0.0,
                 batch_norm: bool = True):
        super().__init__()
        channels, h, w = _image_shape(info)
        self.channels, self.out_dim = channels, int(out_dim)

        def block(a: int, b: int) -> list[nn.Module]:
            if not batch_norm:  # the encoder before 0.2.0's fix (scripts/stopping_check.py compares the two)
                return [nn.Conv2d(a, b, 3, padding=1), nn.ReLU()]
            return [nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]

        self.net = nn.Sequential(
            *block(channels, int(width)), nn.MaxPool2d(2) if min(h, w) >= 4 else nn.Identity(),
            *block(int(width), self.out_dim), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
        )

    def preprocess(self, values: Sequence[Any] | Tensor) -> Tensor:
        return image_tensor(values, self.channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
