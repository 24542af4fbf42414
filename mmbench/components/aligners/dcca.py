"""Deep canonical correlation analysis (Andrew et al. 2013, ICML)."""

from __future__ import annotations

import warnings
from itertools import combinations
from typing import Mapping

import torch
from torch import Tensor

from mmbench.components.aligners.projection import Projections
from mmbench.components.base import Aligner, AlignerOutput


def cca_loss(h1: Tensor, h2: Tensor, eps: float = 1e-3, top_k: int | None = None) -> Tensor:
    """Minus the sum of the canonical correlations of ``h1`` ``[B, D1]`` and ``h2`` ``[B, D2]``.

    As in DCCA (Andrew et al. 2013, ICML) the correlations are the singular values of
    ``T = S11^{-1/2} S12 S22^{-1/2}`` with covariances regularised by ``eps * I`` (finite on any batch).
    The whitening uses Cholesky factors instead of matrix square roots: ``L1^{-1} S12 L2^{-T}`` differs
    from ``T`` only by orthogonal factors, so it has the same singular values, and its gradient stays
    finite when eigenvalues repeat (which they do whenever the batch is smaller than the width).
    ``top_k`` keeps only the ``k`` largest correlations (the paper's variant for large widths).
    """
    n = h1.shape[0]
    h1 = h1 - h1.mean(dim=0, keepdim=True)
    h2 = h2 - h2.mean(dim=0, keepdim=True)
    denom = max(n - 1, 1)
    s11 = h1.T @ h1 / denom + eps * torch.eye(h1.shape[1], dtype=h1.dtype, device=h1.device)
    s22 = h2.T @ h2 / denom + eps * torch.eye(h2.shape[1], dtype=h2.dtype, device=h2.device)
    s12 = h1.T @ h2 / denom
    l1 = torch.linalg.cholesky(s11)
    l2 = torch.linalg.cholesky(s22)
    left = torch.linalg.solve_triangular(l1, s12, upper=False)  # L1^{-1} S12
    t = torch.linalg.solve_triangular(l2, left.T, upper=False).T  # L1^{-1} S12 L2^{-T}
    corr = torch.linalg.svdvals(t)  # descending
    if top_k is not None:
        corr = corr[:top_k]
    return -corr.sum()


class DCCAAligner(Aligner):
    """Projections trained to maximise canonical correlation between modalities (Andrew et al. 2013, ICML).

    ``hidden`` turns each projection into a one-hidden-layer MLP (the "deep" part; the encoders below
    are usually deep already). With more than two modalities the loss is averaged over pairs.

    **Width and batch.** Sample canonical correlations are biased upwards by about ``dim / batch``; with
    ``batch ≤ dim`` they are all 1 whatever the data (independent noise at ``dim = batch = 64`` scores
    −60.6 of −64). Andrew et al. fit full batches (tens of thousands of rows) with 50–112 outputs; for
    minibatch training the default is a small ``dim = 8`` (noise then scores ~0.3 per dimension at a
    batch of 64), and ``top_k`` keeps only the ``k`` largest correlations. A batch of at most ``dim``
    rows warns (once per aligner).
    """

    def __init__(self, in_dims: Mapping[str, int], dim: int = 8, hidden: int | None = None,
                 eps: float = 1e-3, top_k: int | None = None):
        super().__init__()
        if eps <= 0:
            raise ValueError(f"eps must be positive so the covariances stay invertible, got {eps}")
        if top_k is not None and not 1 <= top_k <= dim:
            raise ValueError(f"top_k must be between 1 and dim ({dim}), got {top_k}")
        self.projections = Projections(in_dims, dim, hidden)
        self.out_dims = {m: dim for m in sorted(in_dims)}
        self.dim, self.eps, self.top_k = dim, eps, top_k
        self._warned = False

    def forward(self, features: Mapping[str, Tensor]) -> AlignerOutput:
        z = self.projections(features)
        batch = next(iter(z.values())).shape[0]
        if batch <= self.dim and not self._warned:
            self._warned = True
            warnings.warn(f"DCCA on a batch of {batch} rows with output dim {self.dim}: with batch ≤ dim the sample "
                          "canonical correlations are all ~1 whatever the data, so the loss carries no signal. "
                          "Use a batch well above dim (or a smaller dim / top_k).", UserWarning, stacklevel=2)
        pairs = [cca_loss(z[m], z[n], self.eps, self.top_k) for m, n in combinations(sorted(z), 2)]
        return AlignerOutput(z, torch.stack(pairs).mean())
