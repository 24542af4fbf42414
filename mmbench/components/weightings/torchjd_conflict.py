"""MTL conflict resolution from torchjd 0.18 beyond :mod:`.torchjd_wrappers`: FairGrad, DualProj, CR-MOGM,
SDMGrad, MoDo, PCD, ExcessMTL and ConFIG.

Each class builds one ``torchjd.aggregation`` aggregator (or weighting) from its explicit options, as the
wrappers of :mod:`.torchjd_wrappers` do, and follows the same scale rule (weights of the trace-normalised
Gramian scaled back by the aggregator's law, or the input as it is where there is none).

**SDMGrad and MoDo** are defined on ``J₁ J₂ᵀ``, the product of two Jacobians from *independent* batches
(their stochastic guarantees need it; torchjd's docs say so). mmbench's trainer serves one batch per step,
so here they weight that batch's Gramian ``J Jᵀ``: the deterministic form of the same update, not the
double-sampling algorithm of the papers.
"""

from __future__ import annotations

from typing import Literal

from torch import nn
from torchjd import aggregation as tja

from mmbench.components.base import Wrt
from mmbench.components.weightings.torchjd_wrappers import (
    CAGrad,
    IMTLG,
    MGDA,
    TorchJDAggregator,
    TorchJDGramianWeighting,
    TorchJDJacobianWeighting,
    UPGrad,
    per_task_vector,
)


class FairGrad(TorchJDGramianWeighting):
    """FairGrad: α-fair allocation of the update among tasks, weights ``w`` with ``G w = w^(−1/α)``
    (Ban & Ji 2024, ICML, eq. 4; ``torchjd.aggregation.FairGrad``, solved by ``scipy.optimize.least_squares``).

    ``alpha`` 1 (default) is proportional fairness; 0 gives uniform weights; larger values move towards
    max-min fairness. ``max_iters``: the solver's budget (``None``: SciPy's). Scaling ``J`` by ``s`` scales
    the update by ``s^((1−α)/(1+α))``, the ``homogeneity`` the wrapper normalises with.
    """

    aggregator_cls = "FairGrad"

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", alpha: float = 1.0,
                 max_iters: int | None = None):
        if alpha < 0:
            raise ValueError(f"alpha must be non-negative, got {alpha}")
        super().__init__(n_tasks, seed, wrt, {"alpha": alpha, "max_iters": max_iters})
        self.homogeneity = (1 - alpha) / (1 + alpha)


class DualProj(UPGrad):
    """DualProj: the mean gradient projected onto the dual cone of the task gradients, the closest update
    that conflicts with no task (Lopez-Paz & Ranzato 2017, NeurIPS, eq. 11, GEM's projection;
    ``torchjd.aggregation.DualProj``). Options as :class:`~.torchjd_wrappers.UPGrad`'s: ``pref_vector``
    (one weight per task; default the mean), ``norm_eps`` and ``reg_eps`` (its ``QuadprogProjector``'s,
    relative here)."""

    aggregator_cls = "DualProj"


#: the Gramian weightings CR-MOGM can smooth (their default options; deterministic ones only)
CR_MOGM_BASES: dict[str, type[TorchJDGramianWeighting]] = {
    "mgda": MGDA, "upgrad": UPGrad, "cagrad": CAGrad, "imtl-g": IMTLG, "dualproj": DualProj}


class CRMOGM(TorchJDGramianWeighting):
    """CR-MOGM: the task weights of another Gramian weighting (``base``), smoothed by an exponential moving
    average ``λ_k = α λ_{k−1} + (1 − α) λ̂_k`` across steps (Zhou et al. 2022, NeurIPS, "On the Convergence
    of Stochastic Multi-Objective Gradient Manipulation and Beyond"; ``torchjd.aggregation.CRMOGMWeighting``,
    stateful, the first step's weights unsmoothed). ``base`` one of :data:`CR_MOGM_BASES` with its default
    options (default ``mgda``, the method the paper analyses); ``alpha`` fixed (the paper's schedule ties it
    to a decaying learning rate, which mmbench's trainer does not use)."""

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params",
                 base: Literal["mgda", "upgrad", "cagrad", "imtl-g", "dualproj"] = "mgda", alpha: float = 0.9):
        if base not in CR_MOGM_BASES:
            raise ValueError(f"base must be one of {sorted(CR_MOGM_BASES)}, not {base!r}")
        super().__init__(n_tasks, seed, wrt, {"base": base, "alpha": alpha})

    def build_aggregator(self, base: str = "mgda", alpha: float = 0.9) -> nn.Module:
        inner = CR_MOGM_BASES[base](self.n_tasks, self.seed, self.wrt).aggregator.gramian_weighting
        return tja.GramianWeightedAggregator(tja.CRMOGMWeighting(inner, alpha=alpha))


class SDMGrad(TorchJDGramianWeighting):
    """SDMGrad: stochastic direction-oriented multi-objective descent, task weights solved by a few steps
    of projected SGD with momentum towards ``pref_vector`` (default the mean) with strength ``lambda_``
    (Xiao et al. 2023, NeurIPS; ``torchjd.aggregation.SDMGradWeighting``, stateful: warm-started weights).
    On this batch's Gramian, not the two-batch ``J₁J₂ᵀ`` of the paper (see the module docstring)."""

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", lr: float = 10.0, momentum: float = 0.5,
                 n_iter: int = 20, lambda_: float = 0.3, pref_vector: list[float] | None = None):
        super().__init__(n_tasks, seed, wrt, {"lr": lr, "momentum": momentum, "n_iter": n_iter, "lambda_": lambda_,
                                              "pref_vector": pref_vector})

    def build_aggregator(self, lr: float = 10.0, momentum: float = 0.5, n_iter: int = 20, lambda_: float = 0.3,
                         pref_vector: list[float] | None = None) -> nn.Module:
        return tja.GramianWeightedAggregator(tja.SDMGradWeighting(
            lr=lr, momentum=momentum, n_iter=n_iter, lambda_=lambda_,
            pref_vector=per_task_vector(pref_vector, self.n_tasks, "pref_vector")))


class MoDo(TorchJDGramianWeighting):
    """MoDo: multi-objective gradient descent with one projected-gradient step on the simplex weights per
    step, ``λ ← Π_Δ(λ − γ(Gλ + ρλ))`` (Chen, Fernando, Ying & Chen 2024, JMLR, "Three-Way Trade-Off in
    Multi-Objective Learning"; ``torchjd.aggregation.MoDoWeighting``, stateful). ``gamma`` is a step size in
    the Gramian's own units, so there is no scaling law and ``G`` is used as it is. On this batch's Gramian,
    not the two-batch ``J₁J₂ᵀ`` of the paper (see the module docstring)."""

    homogeneity = None

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", gamma: float = 0.1, rho: float = 0.1):
        super().__init__(n_tasks, seed, wrt, {"gamma": gamma, "rho": rho})

    def build_aggregator(self, gamma: float = 0.1, rho: float = 0.1) -> nn.Module:
        return tja.GramianWeightedAggregator(tja.MoDoWeighting(gamma=gamma, rho=rho))


class PCD(TorchJDGramianWeighting):
    """PCD, priority-constrained descent: follow the **first** task's gradient as closely as possible while
    giving every other task at least a fraction ``tau`` of the progress of its own normalised gradient;
    gradients are normalised by a moving average (rate ``beta``) of their squared norms (TMLR 2026,
    arXiv:2606.29521; ``torchjd.aggregation.PCD``, stateful). Asymmetric: the cell's first task is the
    primary one. ``eps`` is absolute, so ``G`` is used as it is."""

    aggregator_cls = "PCD"
    homogeneity = None

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", tau: float = 0.02, beta: float = 0.999,
                 eps: float = 1e-8):
        super().__init__(n_tasks, seed, wrt, {"tau": tau, "beta": beta, "eps": eps})


class ExcessMTL(TorchJDJacobianWeighting):
    """ExcessMTL: robust MTL by excess risks — task weights updated by an exponentiated-gradient step on each
    task's estimated excess risk ``gᵀH⁻¹g`` (AdaGrad-style diagonal ``H``) relative to its first value
    (He et al. 2024, ICML; ``torchjd.aggregation.ExcessMTL``, stateful). Its running sum of squared
    gradients has the shape of ``J`` (``[T, P]`` memory), so only ``wrt="params"``; the input is ``J`` as
    it is (no scaling law: the first step's excess risks enter the weights in their own units)."""

    aggregator_cls = "ExcessMTL"
    homogeneity = None

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", robust_step_size: float = 1.0,
                 n_warmup_steps: int = 0):
        if wrt != "params":
            raise ValueError("ExcessMTL keeps a running sum of squared parameter gradients; "
                             "it supports wrt='params' only")
        super().__init__(n_tasks, seed, wrt, {"robust_step_size": robust_step_size, "n_warmup_steps": n_warmup_steps})


class ConFIG(TorchJDAggregator):
    """ConFIG: the conflict-free direction with equal cosine similarity to every task gradient, scaled by the
    sum of the gradients' projections on it (Liu, Chu & Thuerey 2025, ICLR, eq. 2;
    ``torchjd.aggregation.ConFIG``). ``pref_vector``: one weight per task (default ones). Not a weighting
    of the rows (a pseudo-inverse direction): records no task weights."""

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", pref_vector: list[float] | None = None):
        super().__init__(n_tasks, seed, wrt, {"pref_vector": pref_vector})

    def build_aggregator(self, pref_vector: list[float] | None = None) -> nn.Module:
        return tja.ConFIG(pref_vector=per_task_vector(pref_vector, self.n_tasks, "pref_vector"))


__all__ = ["CRMOGM", "CR_MOGM_BASES", "ConFIG", "DualProj", "ExcessMTL", "FairGrad", "MoDo", "PCD", "SDMGrad"]
