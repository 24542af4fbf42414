"""Tabular perturbations on decoded, *raw* numeric columns ``float [N, F]`` (the encoder standardises later).

- :class:`GaussianNoise`: ``x + level · σ_j · ε`` with σ_j the column's standard deviation over the
  perturbed split, so ``level`` is noise in units of each column's spread (Gaussian noise on
  tabular/time-series modalities as in MultiBench, Liang et al. 2021).
- :class:`EntryDropout`: every entry goes missing with probability ``level`` (random drop, MultiBench):
  it becomes NaN (``fill="nan"``, default — the built-in ``mlp`` and ``identity`` encoders impute the
  training mean, see ``mmbench/components/encoders/tabular.py``) or the column's mean over the perturbed
  split (``fill="mean"``, for encoders that do not accept NaN).
"""

from __future__ import annotations

import torch
from torch import Tensor

from mmbench.robustness.perturbations import Perturbation, as_float_tensor


def column_std(x: Tensor) -> Tensor:
    """Population standard deviation of every column, ignoring NaN; 0 for constant or all-NaN columns."""
    mean = torch.nanmean(x, dim=0)
    std = torch.nanmean((x - mean).square(), dim=0).sqrt()
    return torch.nan_to_num(std, nan=0.0)


class GaussianNoise(Perturbation):
    """``x + level · σ_j · ε`` per entry, ``ε ~ N(0, 1)``; NaN entries stay NaN, constant columns unchanged."""

    modality = "tabular"

    def apply(self, values: Tensor, level: float, generator: torch.Generator) -> Tensor:
        x = as_float_tensor(values, "tabular-noise", 2)
        noise = torch.randn(x.shape, generator=generator, dtype=torch.float32).to(x.device, x.dtype)
        return x + level * column_std(x) * noise


class EntryDropout(Perturbation):
    """Each entry is dropped with probability ``level``: NaN (``fill="nan"``) or its column's mean (``"mean"``)."""

    modality = "tabular"

    def __init__(self, fill: str = "nan"):
        if fill not in ("nan", "mean"):
            raise ValueError(f"tabular-entry-dropout: fill must be 'nan' or 'mean', got {fill!r}")
        self.fill = fill

    def apply(self, values: Tensor, level: float, generator: torch.Generator) -> Tensor:
        x = as_float_tensor(values, "tabular-entry-dropout", 2)
        drop = (torch.rand(x.shape, generator=generator) < level).to(x.device)
        if self.fill == "nan":
            replacement = torch.full_like(x, float("nan"))
        else:
            replacement = torch.nan_to_num(torch.nanmean(x, dim=0), nan=0.0).expand_as(x)
        return torch.where(drop, replacement, x)
