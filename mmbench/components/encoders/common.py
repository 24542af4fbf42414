"""What the built-in encoders share: freezing, and weight digests for the feature cache."""

from __future__ import annotations

import hashlib

import torch
from torch import nn

from mmbench.components.base import Encoder


class FreezableEncoder(Encoder):
    """An encoder that can be frozen: no gradients, and always in eval mode (dropout off, BN statistics fixed).

    ``train(True)`` on a parent model leaves a frozen encoder in eval mode, so its features stay a pure
    function of the weights and may be cached.
    """

    def freeze(self) -> None:
        self.frozen = True
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "FreezableEncoder":
        return super().train(False if self.frozen else mode)


def state_dict_digest(module: nn.Module) -> str:
    """SHA-256 over a module's state dict (names, dtypes, shapes and bytes, in sorted order)."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        h.update(f"{name}|{flat.dtype}|{tuple(tensor.shape)}|".encode())
        h.update(flat.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()
