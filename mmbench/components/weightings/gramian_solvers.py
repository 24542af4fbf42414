"""Exact, fast weightings of the Gramian ``G = J Jᵀ`` ``[T, T]`` for MGDA and CAGrad.

Both are ``torchjd.aggregation.Weighting`` modules (Gramian in, weights ``[T]`` out), so they plug into
``torchjd.aggregation.GramianWeightedAggregator`` like torchjd's own. They are written here because
torchjd's are loose or slow (measured on random 2–8-task problems against a tight SciPy solution):

- MGDA: torchjd's Frank–Wolfe loop has no away steps, so it converges sublinearly whenever the min-norm
  point lies on a face of the simplex (some weight 0): after 100 iterations it can be ~1e-2 off, at any
  tolerance. :func:`min_norm_weights` is exact (one NNLS).
- CAGrad: torchjd builds and canonicalises a cvxpy problem every step (~7 ms) and Clarabel's default
  tolerance leaves the direction up to ~1e-4 off when the optimum lies on an edge.
  :func:`cagrad_weights` agrees with the tight solution to ~1e-8 in ~0.5 ms.

Both work in a ``T``-dim basis of the task gradients: ``L`` with ``L Lᵀ = G`` (rows = gradients),
solve with :func:`scipy.optimize.nnls` (Lawson–Hanson active set, finite) and
:func:`scipy.optimize.brentq`.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import brentq, nnls
from torch import Tensor
from torchjd import aggregation as tja


def gramian_factor(gramian: Tensor | np.ndarray) -> np.ndarray:
    """``L`` ``[T, T]`` (float64) with ``L Lᵀ = G``: the task gradients in a T-dim basis (eigenvalues < 0 clipped)."""
    g = np.asarray(gramian.detach().cpu().double() if isinstance(gramian, Tensor) else gramian, dtype=np.float64)
    eigvals, eigvecs = np.linalg.eigh((g + g.T) / 2)
    return eigvecs * np.sqrt(np.clip(eigvals, 0.0, None))


def hull_min_norm(points: np.ndarray) -> np.ndarray:
    """Simplex weights ``w`` of the min-norm point ``wᵀ P`` of the convex hull of the rows of ``P`` ``[T, D]``.

    Least-distance programming by NNLS (Lawson & Hanson 1974, *Solving Least Squares Problems*, ch. 23):
    the non-negative least-squares solution ``u`` of ``[Pᵀ; 1ᵀ] u ≈ [0; 1]`` is a positive multiple of a
    weighting of the min-norm point, so ``w = u / Σu``. When 0 is in the hull the residual is 0 and
    ``wᵀP = 0``.
    """
    t = points.shape[0]
    target = np.zeros(points.shape[1] + 1)
    target[-1] = 1.0
    u, _ = nnls(np.vstack([points.T, np.ones((1, t))]), target, maxiter=max(100, 10 * t))
    total = u.sum()
    return u / total if total > 0 else np.full(t, 1.0 / t)


def min_norm_weights(gramian: Tensor) -> Tensor:
    """MGDA's weights (Sener & Koltun 2018, NeurIPS): ``argmin_{w∈Δ} wᵀ G w``, exactly."""
    w = hull_min_norm(gramian_factor(gramian))
    return torch.from_numpy(w).to(device=gramian.device, dtype=gramian.dtype)


def cagrad_weights(gramian: Tensor, c: float, norm_eps: float = 1e-4) -> Tensor:
    """CAGrad's weights (Liu et al. 2021, NeurIPS, Alg. 1), in torchjd's formulation and normalisation.

    On the trace-normalised Gramian, with gradients ``g_i`` (rows of ``L``), mean ``g0`` and
    ``ρ = c‖g0‖``, CAGrad's dual is ``min_{x ∈ conv(g_i)} f(x) = ⟨x, g0⟩ + ρ‖x‖`` and the weights are
    ``1/T + ρ w*/‖x*‖`` (``x* = Σ w*_i g_i``; zeros when ``‖x*‖ < norm_eps``, a Pareto-stationary point,
    as torchjd; no ``1/(1+c²)`` rescaling, as torchjd). Writing ``ρ‖x‖ = min_t ‖x‖²/(2t) + ρ²t/2`` gives
    ``f* = min_{t>0} φ(t)``, ``φ(t) = ‖x(t) + t g0‖²/(2t) + t(ρ² − ‖g0‖²)/2`` with
    ``x(t) = argmin_{x∈conv} ‖x + t g0‖`` — a min-norm point of the shifted hull (:func:`hull_min_norm`).
    By the envelope theorem ``φ'(t) = (ρ² − ‖x(t)‖²/t²)/2``, so the optimum is the unique sign change of
    ``ψ(t) = ρt − ‖x(t)‖`` (φ is convex), found by Brent's method on ``(0, max‖g_i‖/ρ]``.
    """
    n = gramian.shape[0]
    g = gramian.detach().cpu().double()
    trace = float(g.diagonal().sum())
    zeros = torch.zeros(n, device=gramian.device, dtype=gramian.dtype)
    if not trace >= norm_eps:  # torchjd's ``normalize``: nothing to aggregate (also catches NaN)
        return zeros
    points = gramian_factor(g / trace)
    g0 = points.mean(axis=0)
    rho = c * float(np.linalg.norm(g0))
    if rho <= 0:  # c = 0 or a zero mean gradient: the mean
        return torch.full((n,), 1.0 / n, device=gramian.device, dtype=gramian.dtype)

    def shifted(t: float) -> tuple[np.ndarray, float]:
        w = hull_min_norm(points + t * g0)
        return w, float(np.linalg.norm(w @ points))

    high = float(np.linalg.norm(points, axis=1).max()) / rho  # ‖x(t)‖ ≤ max‖g_i‖, so ψ(high) ≥ 0
    low = high * 1e-12
    if rho * low - shifted(low)[1] >= 0:  # optimum at t → 0: x* = 0 (only when c ≥ 1 and 0 is in the hull)
        t_star = low
    else:
        t_star = brentq(lambda t: rho * t - shifted(t)[1], low, high, xtol=1e-15 * high, maxiter=200)
    w, x_norm = shifted(t_star)
    if x_norm < norm_eps:
        return zeros
    weights = np.full(n, 1.0 / n) + (rho / x_norm) * w
    return torch.from_numpy(weights).to(device=gramian.device, dtype=gramian.dtype)


class MinNormWeighting(tja.Weighting):
    """torchjd ``Weighting`` [Gramian] giving the exact MGDA weights (:func:`min_norm_weights`)."""

    def forward(self, gramian: Tensor, /) -> Tensor:
        return min_norm_weights(gramian)


class CAGradWeighting(tja.Weighting):
    """torchjd ``Weighting`` [Gramian] giving CAGrad's weights (:func:`cagrad_weights`); options as torchjd's."""

    def __init__(self, c: float = 0.4, norm_eps: float = 1e-4) -> None:
        super().__init__()
        if c < 0 or norm_eps < 0:
            raise ValueError(f"c and norm_eps must be non-negative, got c={c}, norm_eps={norm_eps}")
        self.c, self.norm_eps = float(c), float(norm_eps)

    def forward(self, gramian: Tensor, /) -> Tensor:
        return cagrad_weights(gramian, self.c, self.norm_eps)


__all__ = ["CAGradWeighting", "MinNormWeighting", "cagrad_weights", "gramian_factor", "hull_min_norm",
           "min_norm_weights"]
