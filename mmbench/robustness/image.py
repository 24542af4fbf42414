"""Image perturbations on decoded images ``float [N, C, H, W]`` in ``[0, 1]``.

- :class:`GaussianNoise`: additive Gaussian noise with standard deviation ``level``, clamped to ``[0, 1]``
  (the "Gaussian noise" corruption of Hendrycks & Dietterich 2019, ICLR; used for images in MultiBench,
  Liang et al. 2021).
- :class:`Occlusion`: one random square patch per image covering ``level`` of its area, set to ``fill``
  (occlusion as in Zeiler & Fergus 2014, ECCV; Cutout, DeVries & Taylor 2017).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from mmbench.robustness.perturbations import Perturbation, as_float_tensor


class GaussianNoise(Perturbation):
    """``clamp(x + level · ε, 0, 1)`` with ``ε ~ N(0, 1)`` per pixel and channel."""

    modality = "image"

    def apply(self, values: Tensor, level: float, generator: torch.Generator) -> Tensor:
        x = as_float_tensor(values, "image-noise", 4)
        noise = torch.randn(x.shape, generator=generator, dtype=torch.float32).to(x.device, x.dtype)
        return (x + level * noise).clamp(0.0, 1.0)


def patch_side(level: float, height: int, width: int) -> int:
    """Side of the square patch covering ``level`` of an ``height × width`` image: ``round(sqrt(level·H·W))``,
    at least 1 and at most ``min(H, W)`` (so small images are occluded in whole pixels)."""
    return max(1, min(height, width, int(round(math.sqrt(level * height * width)))))


class Occlusion(Perturbation):
    """One square patch per image, of side :func:`patch_side`, at a uniformly random position, set to ``fill``
    in every channel. The area covered is ``side² / (H·W)`` ≈ ``level``."""

    modality = "image"

    def __init__(self, fill: float = 0.0):
        self.fill = float(fill)

    def apply(self, values: Tensor, level: float, generator: torch.Generator) -> Tensor:
        x = as_float_tensor(values, "image-occlusion", 4)
        n, _, h, w = x.shape
        side = patch_side(level, h, w)
        top = torch.randint(0, h - side + 1, (n,), generator=generator)
        left = torch.randint(0, w - side + 1, (n,), generator=generator)
        rows, cols = torch.arange(h), torch.arange(w)
        in_rows = (rows >= top[:, None]) & (rows < top[:, None] + side)  # [N, H]
        in_cols = (cols >= left[:, None]) & (cols < left[:, None] + side)  # [N, W]
        mask = (in_rows[:, :, None] & in_cols[:, None, :])[:, None].to(x.device)  # [N, 1, H, W]
        return torch.where(mask, torch.as_tensor(self.fill, dtype=x.dtype, device=x.device), x)
