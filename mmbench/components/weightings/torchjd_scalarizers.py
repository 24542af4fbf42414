"""Loss scalarizations from ``torchjd.scalarization`` 0.18: smooth Tchebycheff (STCH), IMTL-L, COSMOS and
PBI — loss-only strategies, one backward pass of the scalar torchjd computes.

``last_weights`` holds ``∂objective/∂L_t`` at the step's losses, taken by autograd through the same
scalarizer (:func:`loss_gradient`), so no formula is written twice.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn
from torchjd import scalarization as tjs

from mmbench.components.base import Need, Weighting


def loss_gradient(scalarizer: nn.Module, losses: Tensor) -> Tensor:
    """``∂ scalarizer(L) / ∂L`` at the (detached) losses ``[T]``: the factors the objective applies to each loss."""
    with torch.enable_grad():
        leaf = losses.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(scalarizer(leaf), leaf)
    return grad.detach()


def _preference(values: Sequence[float] | None, n_tasks: int) -> Tensor:
    """A preference vector on the simplex: ``values`` normalised to sum 1 (default uniform ``1/T``)."""
    pref = torch.full((n_tasks,), 1.0) if values is None else torch.as_tensor(list(values), dtype=torch.float32)
    if pref.shape != (n_tasks,) or not bool((pref >= 0).all()) or float(pref.sum()) <= 0:
        raise ValueError(f"pref_vector needs one non-negative value per task ({n_tasks}), not all zero; got {values}")
    return pref / pref.sum()


class TorchJDScalarizer(Weighting):
    """A loss-only strategy whose objective is a ``torchjd.scalarization`` scalarizer of the loss vector
    (``self.scalarizer``); a preference vector, when the method has one, is the buffer ``preference``."""

    need = Need.LOSSES
    scalarizer: nn.Module

    def combine(self, losses: Tensor) -> Tensor:
        if hasattr(self, "preference"):  # a buffer: it moved with .to(); torchjd's attribute did not
            self.scalarizer.weights = self.preference.to(losses)
        self.last_weights = loss_gradient(self.scalarizer, losses)
        return self.scalarizer(losses)

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        for module in self.scalarizer.modules():  # torchjd's Stateful scalarizers (IMTL-L's scales)
            clear = getattr(module, "reset", None)
            if callable(clear):
                clear()


class SmoothTchebycheff(TorchJDScalarizer):
    """Smooth Tchebycheff scalarization ``μ log Σ_t exp(L_t / (T μ))``, a soft maximum of the losses with
    uniform preferences ``1/T`` and ideal point 0 (Lin, Zhang, Yang, Zhang & Zhang 2024, ICML;
    ``torchjd.scalarization.STCH``). The worst task gets the most weight, the more so the smaller ``mu``;
    the weights ``softmax(L / (T μ)) / T`` sum to ``1/T``."""

    def __init__(self, n_tasks: int, seed: int = 0, mu: float = 0.1):
        super().__init__(n_tasks, seed)
        if mu <= 0:
            raise ValueError(f"mu must be positive, got {mu}")
        self.mu = float(mu)
        self.scalarizer = tjs.STCH(mu=self.mu)


class IMTLL(TorchJDScalarizer):
    """IMTL-L, the loss-balance half of impartial MTL: ``Σ_t exp(s_t) L_t − s_t`` with learned scales ``s``
    (Liu et al. 2021, ICLR; ``torchjd.scalarization.IMTLL``). ``s`` starts at 0 (the plain sum) and is an
    ``nn.Parameter`` trained with the model; at a stationary ``s`` each loss is weighted ``1/L_t``.
    ``last_weights`` holds ``exp(s_t)``."""

    def __init__(self, n_tasks: int, seed: int = 0):
        super().__init__(n_tasks, seed)
        self.scalarizer = tjs.IMTLL(n_tasks)


class COSMOS(TorchJDScalarizer):
    """COSMOS's objective: the linear scalarization ``Σ r_t L_t`` minus ``lambda_ · cos(r, L)``, which pulls
    the loss vector towards the preference direction ``r`` (Ruchte & Grabocka 2021, ICDM;
    ``torchjd.scalarization.COSMOS``). ``r`` is fixed (``pref_vector``, normalised to the simplex; default
    uniform): COSMOS's sampling of ``r`` and conditioning of the model on it approximate a whole Pareto
    front, while a cell trains one model. ``lambda_`` 0 is linear scalarization."""

    def __init__(self, n_tasks: int, seed: int = 0, lambda_: float = 1.0, pref_vector: list[float] | None = None):
        super().__init__(n_tasks, seed)
        if lambda_ < 0:
            raise ValueError(f"lambda_ must be non-negative, got {lambda_}")
        self.register_buffer("preference", _preference(pref_vector, n_tasks))
        self.scalarizer = tjs.COSMOS(lambda_=float(lambda_), weights=self.preference)


class PBI(TorchJDScalarizer):
    """Penalty-based boundary intersection: ``d₁ + θ d₂``, the loss vector's length along the preference
    direction plus ``theta`` times its distance from it (Zhang & Li 2007, IEEE TEVC, MOEA/D;
    ``torchjd.scalarization.PBI``, reference point 0). ``pref_vector`` default uniform; ``theta`` 5 as in
    the paper."""

    def __init__(self, n_tasks: int, seed: int = 0, theta: float = 5.0, pref_vector: list[float] | None = None):
        super().__init__(n_tasks, seed)
        if theta < 0:
            raise ValueError(f"theta must be non-negative, got {theta}")
        self.register_buffer("preference", _preference(pref_vector, n_tasks))
        self.scalarizer = tjs.PBI(theta=float(theta), weights=self.preference)


__all__ = ["COSMOS", "IMTLL", "PBI", "SmoothTchebycheff", "TorchJDScalarizer", "loss_gradient"]
