"""Per-modality projections to a shared space, and the two aligners without a loss: ``none`` and ``projection``."""

from __future__ import annotations

from typing import Mapping

from torch import Tensor, nn

from mmbench.components.base import Aligner, AlignerOutput


def make_projection(in_dim: int, out_dim: int, hidden: int | None = None) -> nn.Module:
    """A linear map ``in_dim -> out_dim``, or a one-hidden-layer ReLU MLP when ``hidden`` is given."""
    if hidden is None:
        return nn.Linear(in_dim, out_dim)
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))


class Projections(nn.Module):
    """One projection per modality into a ``dim``-wide shared space, applied in sorted name order."""

    def __init__(self, in_dims: Mapping[str, int], dim: int = 64, hidden: int | None = None):
        super().__init__()
        if dim < 1:
            raise ValueError(f"shared dim must be positive, got {dim}")
        self.dim = dim
        self.proj = nn.ModuleDict({m: make_projection(d, dim, hidden) for m, d in sorted(in_dims.items())})

    def forward(self, features: Mapping[str, Tensor]) -> dict[str, Tensor]:
        return {m: self.proj[m](features[m]) for m in sorted(features)}


class NoAligner(Aligner):
    """Passes every modality's features through unchanged (no parameters, no loss)."""

    scores_retrieval = False  # features pass through unchanged: nothing was aligned

    def __init__(self, in_dims: Mapping[str, int]):
        super().__init__()
        self.out_dims = dict(sorted(in_dims.items()))

    def forward(self, features: Mapping[str, Tensor]) -> AlignerOutput:
        return AlignerOutput({m: features[m] for m in sorted(features)})


class ProjectionAligner(Aligner):
    """Projects each modality into a shared ``dim``-wide space; no alignment loss (the common baseline)."""

    def __init__(self, in_dims: Mapping[str, int], dim: int = 64, hidden: int | None = None):
        super().__init__()
        self.projections = Projections(in_dims, dim, hidden)
        self.out_dims = {m: dim for m in sorted(in_dims)}

    def forward(self, features: Mapping[str, Tensor]) -> AlignerOutput:
        return AlignerOutput(self.projections(features))
