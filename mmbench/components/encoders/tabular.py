"""Tabular encoders over numeric columns ``[N, F]``, standardised with training-split statistics."""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor, nn

from mmbench.components.base import Encoder, ModalityInfo


def _width(info: ModalityInfo) -> int:
    if len(info.shape) != 1:
        raise ValueError(f"modality {info.name!r}: a tabular encoder needs shape (F,), got {info.shape}")
    return int(info.shape[0])


class Standardize(nn.Module):
    """``(x - mean) / std`` per column with statistics from ``fit`` (population std, as scikit-learn's
    ``StandardScaler``; constant columns get std 1). Missing values (NaN) become 0, the training mean."""

    def __init__(self, n_features: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))

    @torch.no_grad()
    def fit(self, x: Tensor) -> None:
        x = x.to(self.mean.dtype)
        mean = torch.nanmean(x, dim=0)
        std = torch.nanmean((x - mean).square(), dim=0).sqrt()
        self.mean.copy_(torch.nan_to_num(mean, nan=0.0))
        self.std.copy_(torch.where(torch.isfinite(std) & (std > 0), std, torch.ones_like(std)))

    def forward(self, x: Tensor) -> Tensor:
        return torch.nan_to_num((x.to(self.mean.dtype) - self.mean) / self.std, nan=0.0)


class _TabularEncoder(Encoder):
    def __init__(self, info: ModalityInfo):
        super().__init__()
        self.n_features = _width(info)
        self.standardize = Standardize(self.n_features)

    def preprocess(self, values: Sequence[Any] | Tensor) -> Tensor:
        x = values if isinstance(values, Tensor) else torch.as_tensor(values)
        x = x.float()
        if x.dim() == 1 and self.n_features == 1:
            x = x.unsqueeze(1)
        if x.dim() != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected tabular values [N, {self.n_features}], got shape {tuple(x.shape)}")
        return x

    def fit(self, train_inputs: Any) -> None:
        self.standardize.fit(train_inputs)


class MLPEncoder(_TabularEncoder):
    """A multilayer perceptron over standardised columns: ``Linear → ReLU → (Dropout) → Linear``."""

    def __init__(self, info: ModalityInfo, hidden: int = 64, out_dim: int = 64, dropout: float = 0.0):
        super().__init__(info)
        self.out_dim = int(out_dim)
        self.net = nn.Sequential(nn.Linear(self.n_features, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, self.out_dim))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(self.standardize(x))


class IdentityEncoder(_TabularEncoder):
    """The standardised columns themselves (no parameters): the raw-feature baseline for tabular data.

    Frozen and cacheable: the statistics are a function of the training split, which the harness's cache
    key already names, so the fingerprint is the same before and after ``fit``.
    """

    frozen = True

    def __init__(self, info: ModalityInfo):
        super().__init__(info)
        self.out_dim = self.n_features

    def forward(self, x: Tensor) -> Tensor:
        return self.standardize(x)

    def fingerprint(self) -> str | None:
        return f"identity:features={self.n_features}:standardised-with-train-statistics"
