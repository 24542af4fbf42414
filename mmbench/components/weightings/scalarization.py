"""Loss-only strategies: fixed, tuned, learned and random linear scalarizations (EW, LS and SI-LS, UW, RLW) and
the geometric mean (GLS)."""

from __future__ import annotations

from typing import Literal, Sequence

import torch
from torch import Tensor, nn

from mmbench.components.base import Need, Weighting


class EqualWeighting(Weighting):
    """Equal weighting (unitary scalarization): the **sum** of the task losses, every weight 1.

    The sum, not the mean, as in LibMTL (Kurin et al. 2022, NeurIPS, "In Defense of the Unitary
    Scalarization for Deep Multi-Task Learning"); the gradient w.r.t. each loss is 1.
    """

    need = Need.LOSSES

    def combine(self, losses: Tensor) -> Tensor:
        return losses.sum()  # last_weights stays the base class's ones (set there and by reset)


def task_weights(weights: float | Sequence[float], n_tasks: int) -> Tensor:
    """Positive per-task weights from one value (every task) or one per task, normalised to mean 1 (sum ``T``)."""
    values = [float(weights)] * n_tasks if isinstance(weights, (int, float)) else [float(v) for v in weights]
    if len(values) != n_tasks or not all(v > 0 for v in values):
        raise ValueError(f"weights needs one positive value, or one per task ({n_tasks}); got {weights!r}")
    vector = torch.tensor(values)
    return vector / vector.mean()


class LinearScalarization(Weighting):
    """Linear scalarization with fixed task weights, ``Σ_t w_t L_t`` — the baseline whose tuned form matches
    most multitask optimisers (Xin et al. 2022, NeurIPS, "Do Current Multi-Task Optimization Methods in Deep
    Learning Even Help?"; Kurin et al. 2022, NeurIPS).

    ``weights``: one value (every task: equal weights) or one per task, in the cell's task order. They are
    normalised to **mean 1** (they sum to T, EW's scale), so they set only the trade-off between tasks and
    the learning rate keeps EW's meaning; untuned (``1.0``) it is EW exactly. The registered search space is
    positive and per task (``per_task``, log-uniform on [0.1, 10]: ratios up to 100 between two tasks)
    rather than on the simplex, so every task's weight is an independent Optuna parameter; the
    normalisation then removes the one redundant direction, the overall scale.
    """

    need = Need.LOSSES

    def __init__(self, n_tasks: int, seed: int = 0, weights: float | list[float] = 1.0):
        super().__init__(n_tasks, seed)
        self.register_buffer("weights", task_weights(weights, n_tasks))
        self.last_weights = self.weights.clone()

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        self.last_weights = self.weights.detach().cpu().clone()

    def combine(self, losses: Tensor) -> Tensor:
        return (self.weights.to(losses) * losses).sum()  # last_weights: the fixed weights, set once


class ScaleInvariantLinearScalarization(LinearScalarization):
    """Scale-invariant linear scalarization ``Σ_t w_t log L_t``: rescaling a task's loss does not change the
    update, each loss is weighted ``w_t / L_t`` (the "SI" baseline of Navon et al. 2022, ICML, Nash-MTL;
    Liu et al. 2023, NeurIPS, FAMO). ``weights`` as :class:`LinearScalarization` (untuned: ``Σ log L_t``);
    losses are clamped at ``eps`` inside the logarithm. ``last_weights`` holds ``w_t / L_t``."""

    def __init__(self, n_tasks: int, seed: int = 0, weights: float | list[float] = 1.0, eps: float = 1e-8):
        super().__init__(n_tasks, seed, weights)
        if eps <= 0:
            raise ValueError(f"eps must be positive, got {eps}")
        self.eps = float(eps)

    def combine(self, losses: Tensor) -> Tensor:
        clamped = losses.clamp_min(self.eps)
        weights = self.weights.to(losses)
        self.last_weights = (weights / clamped).detach()
        return (weights * clamped.log()).sum()


UWForm = Literal["libmtl", "kendall", "plain"]

#: Kendall et al.'s factor on ``exp(-s) L`` per task type: ½ for a Gaussian likelihood (regression), 1 for a
#: softmax / Bernoulli one with a temperature (classification, multilabel).
KENDALL_FACTORS: dict[str, float] = {"regression": 0.5, "classification": 1.0, "multilabel": 1.0}

#: each form's default initial log-variance
UW_INITS: dict[str, float] = {"libmtl": -0.5, "kendall": 0.0, "plain": 0.0}


class UncertaintyWeighting(Weighting):
    """Homoscedastic uncertainty weighting (Kendall, Gal & Cipolla 2018, CVPR), learnable log-variances ``s``.

    ``L = Σ_t a_t exp(-s_t) L_t + b s_t``, by ``form``:

    - ``"libmtl"`` (default): ``a = b = ½`` — LibMTL's ``UW`` (and ``torchjd.scalarization.UW``); ``init`` −0.5
      as LibMTL;
    - ``"kendall"``: ``b = ½``, ``a_t`` from the task's type (½ regression, 1 classification/multilabel:
      eqs. 7–10 of the paper), so it needs ``task_types`` (one of ``KENDALL_FACTORS`` per task); init 0;
    - ``"plain"``: ``a = b = 1``, twice LibMTL's objective (so twice its step in ``s`` under SGD); init 0.

    At a stationary ``s`` every form gives ``∂L/∂L_t = 1 / (2 L_t)`` except ``"plain"`` (``1 / L_t``).
    ``s`` is an ``nn.Parameter`` trained by the model's optimiser; ``last_weights`` holds ``a_t exp(-s_t)``.
    """

    need = Need.LOSSES

    def __init__(self, n_tasks: int, seed: int = 0, form: UWForm = "libmtl", init: float | None = None,
                 task_types: list[str] | None = None):
        super().__init__(n_tasks, seed)
        if form not in UW_INITS:
            raise ValueError(f"form must be one of {sorted(UW_INITS)}, not {form!r}")
        self.form, self.task_types = form, None if task_types is None else list(task_types)
        self.init = UW_INITS[form] if init is None else float(init)
        self.register_buffer("factors", self._factors(form, n_tasks, self.task_types))
        self.regulariser = 1.0 if form == "plain" else 0.5
        self.log_vars = nn.Parameter(torch.full((n_tasks,), self.init))

    @staticmethod
    def _factors(form: str, n_tasks: int, task_types: list[str] | None) -> Tensor:
        if form != "kendall":
            return torch.full((n_tasks,), 1.0 if form == "plain" else 0.5)
        if task_types is None or len(task_types) != n_tasks:
            raise ValueError(f"form='kendall' needs task_types, one per task ({n_tasks}), got {task_types!r}")
        unknown = sorted(set(task_types) - set(KENDALL_FACTORS))
        if unknown:
            raise ValueError(f"form='kendall': unknown task types {unknown}; known: {sorted(KENDALL_FACTORS)}")
        return torch.tensor([KENDALL_FACTORS[t] for t in task_types])

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        with torch.no_grad():
            self.log_vars.fill_(self.init)

    def combine(self, losses: Tensor) -> Tensor:
        weights = self.factors.to(losses) * torch.exp(-self.log_vars)
        self.last_weights = weights.detach()
        return (weights * losses).sum() + self.regulariser * self.log_vars.sum()


class RandomLossWeighting(Weighting):
    """Random loss weighting (Lin et al. 2022, TMLR): weights ``softmax(ε)``, ``ε ~ N(0, I)`` each step.

    The weights sum to **1** (as in the paper and LibMTL), drawn from ``self.generator``.
    """

    need = Need.LOSSES

    def combine(self, losses: Tensor) -> Tensor:
        weights = torch.softmax(torch.randn(self.n_tasks, generator=self.generator), dim=0)
        self.last_weights = weights
        return (weights.to(device=losses.device, dtype=losses.dtype) * losses).sum()


class GeometricLossStrategy(Weighting):
    """Geometric loss strategy (GLS): minimise the geometric mean ``(Π_t L_t)^(1/T)`` of the task losses.

    Chennupati, Sistu, Yogamani & Rawashdeh 2019, "MultiNet++: Multi-Stream Feature Aggregation and
    Geometric Loss Strategy for Multi-Task Learning", CVPR workshops. Scale-invariant per task: the
    gradient weights task ``t`` by ``G / (T · L_t)``, so tasks with small losses are not drowned out.
    The value is ``torchjd.scalarization.GeometricMean``; losses are clamped at ``eps`` so a zero loss
    gives a finite gradient. ``last_weights`` holds the effective weights ``G / (T · L_t)``.
    """

    need = Need.LOSSES

    def __init__(self, n_tasks: int, seed: int = 0, eps: float = 1e-8):
        super().__init__(n_tasks, seed)
        from torchjd.scalarization import GeometricMean

        if eps <= 0:
            raise ValueError(f"eps must be positive, got {eps}")
        self.eps = float(eps)
        self.scalarizer = GeometricMean()

    def combine(self, losses: Tensor) -> Tensor:
        clamped = losses.clamp_min(self.eps)
        objective = self.scalarizer(clamped)
        self.last_weights = (objective / (self.n_tasks * clamped)).detach()
        return objective
