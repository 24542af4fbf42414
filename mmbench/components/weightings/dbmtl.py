"""DB-MTL: dual-balancing multi-task learning (Lin et al. 2023, arXiv:2308.12029), as in LibMTL."""

from __future__ import annotations

import torch
from torch import Tensor

from mmbench.components.base import JacobianAggregator, Wrt

EPS = 1e-8


class DBMTL(JacobianAggregator):
    """DB-MTL: balance loss scales with a log transform and gradient magnitudes by the largest norm.

    With ``ĝ_t = ∇ log(L_t + ε) = g_t / (L_t + ε)`` (from the loss Jacobian's rows ``g_t``):

    - an exponential moving average ``m_t ← ĝ_t + β_k (m_t − ĝ_t)``, ``β_k = β / k^σ`` at step ``k``,
      starting from ``m = 0`` (LibMTL's ``DB_beta=0.9``, ``DB_beta_sigma=0``);
    - the direction ``Σ_t α_t m_t`` with ``α_t = max_s ‖m_s‖ / (‖m_t‖ + ε)``.

    The update combines moving averages of past gradients, not this step's rows, so it is not a weighting of
    the Jacobian (a :class:`~mmbench.components.base.JacobianAggregator`); ``last_weights`` holds the method's
    own factors ``α_t`` (the scale given to each task's averaged log-loss gradient). The moving average has
    the size of the Jacobian's rows, so only ``wrt="params"`` is supported (a representation Jacobian
    changes size with the batch), as in LibMTL.

    Task-specific parameters (heads) get the log-loss gradient too, ``∇L_t / (L_t + ε)``
    (:meth:`task_parameter_weights`), as LibMTL's DB-MTL back-propagates ``log(L_t + ε)`` through them.
    """

    def __init__(self, n_tasks: int, seed: int = 0, beta: float = 0.9, beta_sigma: float = 0.0, wrt: Wrt = "params"):
        if wrt != "params":
            raise ValueError("DB-MTL keeps a moving average of parameter gradients; it supports wrt='params' only")
        super().__init__(n_tasks, seed, wrt)
        self.beta, self.beta_sigma = float(beta), float(beta_sigma)
        self.steps = 0
        self.grad_buffer: Tensor | None = None

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        self.steps = 0
        self.grad_buffer = None

    def task_parameter_weights(self, losses: Tensor) -> Tensor:
        """``1 / (L_t + ε)``: each head's gradient becomes that of ``log(L_t + ε)``."""
        return 1.0 / (losses.detach() + EPS)

    @torch.no_grad()
    def aggregate(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        self.steps += 1
        log_grads = jacobian.detach() / (losses.detach().to(jacobian) + EPS).unsqueeze(1)
        if self.grad_buffer is None:
            self.grad_buffer = torch.zeros_like(log_grads)
        elif self.grad_buffer.shape != log_grads.shape:
            raise ValueError(f"DB-MTL got a Jacobian {tuple(log_grads.shape)} after {tuple(self.grad_buffer.shape)}; "
                             "call reset() before reusing it on another model")
        beta = self.beta / self.steps**self.beta_sigma
        self.grad_buffer = log_grads + beta * (self.grad_buffer.to(log_grads) - log_grads)
        norms = self.grad_buffer.norm(dim=1)
        alpha = norms.max() / (norms + EPS)
        self.last_weights = alpha
        return alpha @ self.grad_buffer
