"""Gradient strategies wrapping torchjd's aggregators (Quinton & Rey 2024, https://github.com/TorchJD/torchjd).

Each class builds one ``torchjd.aggregation`` aggregator from its explicit options. As torchjd separates a
weighting from its aggregation, the wrappers of weighted aggregators return the task weights ``w`` ``[T]``
and the trainer applies ``w @ J``: a :class:`~mmbench.components.base.GramianWeighting` for torchjd's
``GramianWeightedAggregator`` (MGDA, PCGrad, CAGrad, IMTL-G, Aligned-MTL, UPGrad, GradVac: weights from
``G = J Jᵀ`` alone), a :class:`~mmbench.components.base.JacobianWeighting` for Nash-MTL (a weighting of
``J`` itself). GradDrop is not a weighted aggregator (it masks per coordinate): it is a
:class:`~mmbench.components.base.JacobianAggregator` returning the update, with no task weights.

**Scale.** Several torchjd aggregators compare absolute quantities with fixed epsilons (CAGrad and
UPGrad's QP zero or flatten a Gramian whose trace is below ``norm_eps = 1e-4``; GradVac adds ``1e-8`` to
products of norms; Nash-MTL's solver loses accuracy), so they mis-handle small gradients. The wrappers
therefore weight the **trace-normalised** Gramian ``G / tr(G)`` (the Jacobian ``J / ‖J‖_F`` for
aggregators that need the matrix) and scale back with the aggregator's scaling law
``A(sJ) = s^k A(J)`` (``homogeneity`` ``k``: 1 for most, 0 for Nash-MTL, whose direction does not depend on
the gradients' scale, ``(1 − α)/(1 + α)`` for FairGrad). Every epsilon is thus relative to the gradients'
size. Aggregators with no thresholds (GradDrop) are exactly scale-equivariant, so they get ``J`` as it is;
those with no scaling law (``homogeneity = None``: a step size or running statistics in the gradients'
own units, as MoDo, PCD, ExcessMTL) get it as it is too.

The other torchjd 0.18 methods are wrapped the same way in :mod:`.torchjd_conflict` (MTL conflict
resolution), :mod:`.torchjd_robust` (robust aggregation) and :mod:`.torchjd_scalarizers` (loss-only).
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any, ClassVar, Iterator, Literal, Sequence

import torch
from torch import Tensor, nn

from mmbench.components.base import GramianWeighting, JacobianAggregator, JacobianWeighting, Wrt

INSTALL_HINT = 'pip install "torchjd[full]"'

try:
    from torchjd import aggregation as tja
    from torchjd.linalg import QuadprogProjector
except ImportError as exc:  # pragma: no cover - torchjd is a dependency of mmbench
    raise ImportError(f"mmbench's gradient weightings need torchjd>=0.18: {INSTALL_HINT}") from exc


def per_task_vector(values: Sequence[float] | None, n_tasks: int, name: str) -> Tensor | None:
    """An option given as one value per task (``pref_vector``, ``leak``) as a tensor, or ``None``."""
    if values is None:
        return None
    vector = torch.as_tensor(list(values), dtype=torch.float32)
    if vector.shape != (n_tasks,):
        raise ValueError(f"{name} needs one value per task ({n_tasks}), got {list(values)}")
    return vector


@contextlib.contextmanager
def seeded_global_rng(generator: torch.Generator, device: torch.device) -> Iterator[None]:
    """Run a block that draws from torch's global generator (of ``device``) with a seed drawn from
    ``generator``, restoring the global state afterwards (CPU, and that CUDA device's when on GPU)."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    cuda = device.type == "cuda"
    index = (device.index if device.index is not None else torch.cuda.current_device()) if cuda else None
    with torch.random.fork_rng(devices=[index] if cuda else []):
        torch.default_generator.manual_seed(seed)
        if cuda:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield


class TorchJDStrategy:
    """Mixin of the torchjd wrappers: build the aggregator from the options, run it seeded and quiet, reset it.

    Combined with a strategy base (``class X(TorchJDStrategy, GramianWeighting)``). Subclasses declare their
    options as explicit keyword parameters and pass them on as ``options``; ``build_aggregator(**options)``
    makes the aggregator (default: ``torchjd.aggregation.<aggregator_cls>``).

    - ``homogeneity`` ``k``: ``A(sJ) = s^k A(J)``, used to weight a trace-normalised Gramian (or ``J / ‖J‖``)
      and scale back (see the module docstring); ``None``: no scaling law, the aggregator sees ``G`` or ``J``
      as it is. An instance may set its own (FairGrad's depends on ``alpha``).
    - ``uses_global_rng``: the aggregator draws from torch's global generator (PCGrad, GradVac, GradDrop);
      it runs inside ``torch.random.fork_rng`` seeded from ``self.generator``, so ``reset(seed)``
      reproduces it and the global stream is left untouched.
    """

    aggregator_cls: ClassVar[str]
    pass_n_tasks: ClassVar[bool] = False
    uses_global_rng: ClassVar[bool] = False
    homogeneity: float | None = 1
    #: regexes of known-harmless solver warnings to silence (Nash-MTL's cvxpy "not DPP" notice each step)
    quiet_warnings: ClassVar[tuple[str, ...]] = ()
    #: the fewest tasks the aggregator handles (torchjd's Nash-MTL problem is ill-formed for one task)
    min_tasks: ClassVar[int] = 1
    n_tasks: int
    generator: torch.Generator

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", options: dict[str, Any] | None = None):
        if n_tasks < self.min_tasks:
            raise ValueError(f"{type(self).__name__} needs at least {self.min_tasks} tasks, got {n_tasks}")
        super().__init__(n_tasks, seed, wrt)  # type: ignore[call-arg]  # the strategy base's
        self.options: dict[str, Any] = dict(options or {})
        try:
            self.aggregator: nn.Module = self.build_aggregator(**self.options)
        except ImportError as exc:
            raise ImportError(f"{type(self).__name__} needs torchjd's optional solvers ({exc}); "
                              f"install them with: {INSTALL_HINT}") from exc

    def build_aggregator(self, **options: Any) -> nn.Module:
        if self.pass_n_tasks:
            options = {"n_tasks": self.n_tasks, **options}
        return getattr(tja, self.aggregator_cls)(**options)

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)  # type: ignore[misc]
        for module in self.aggregator.modules():  # torchjd's Stateful parts (Nash-MTL, GradVac, CR-MOGM, ...)
            clear = getattr(module, "reset", None)
            if callable(clear):
                clear()

    def scale_of(self, size: Tensor) -> Tensor:
        """What to normalise by (``tr G``, or ``‖J‖_F``): 1 where it is 0, and without a scaling law."""
        if self.homogeneity is None:
            return torch.ones_like(size)
        return torch.where(size > 0, size, torch.ones_like(size))  # no branch: no host sync on GPU

    def scaled_back(self, weights: Tensor, norm: Tensor) -> Tensor:
        """Weights computed on the normalised input, in the units of the input: ``× ‖J‖^(k − 1)``."""
        return weights if self.homogeneity is None else weights * norm ** (self.homogeneity - 1)

    @contextlib.contextmanager
    def context(self, device: torch.device) -> Iterator[None]:
        """Where the aggregator runs: its known-harmless warnings silenced, its global draws seeded."""
        with contextlib.ExitStack() as stack:
            if self.quiet_warnings:
                stack.enter_context(warnings.catch_warnings())
                for pattern in self.quiet_warnings:
                    warnings.filterwarnings("ignore", message=pattern)
            if self.uses_global_rng:
                stack.enter_context(seeded_global_rng(self.generator, device))
            yield


class TorchJDGramianWeighting(TorchJDStrategy, GramianWeighting):
    """A torchjd ``GramianWeightedAggregator``'s weights, from the trace-normalised Gramian ``G / tr G``,
    scaled back by ``tr(G)^((k-1)/2)``."""

    def gramian_weights(self, gramian: Tensor, losses: Tensor) -> Tensor:
        square = self.scale_of(gramian.diagonal().sum())
        with self.context(gramian.device):
            return self.scaled_back(self.aggregator.gramian_weighting(gramian / square), square.sqrt())


class TorchJDJacobianWeighting(TorchJDStrategy, JacobianWeighting):
    """A torchjd ``WeightedAggregator`` whose weighting reads ``J`` itself, applied to ``J / ‖J‖_F`` and scaled
    back by ``‖J‖^(k-1)`` (to ``J`` as it is without a scaling law)."""

    def jacobian_weights(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        norm = self.scale_of(jacobian.norm())
        with self.context(jacobian.device):
            return self.scaled_back(self.aggregator.weighting(jacobian / norm), norm)


class TorchJDAggregator(TorchJDStrategy, JacobianAggregator):
    """A torchjd aggregator that is not a weighting of the task gradients, applied to ``J`` as it is."""

    def aggregate(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        with self.context(jacobian.device):
            return self.aggregator(jacobian.detach())


class MGDA(TorchJDGramianWeighting):
    """MGDA: the min-norm point of the convex hull of the task gradients (Sener & Koltun 2018, NeurIPS).

    ``solver="nnls"`` (default) solves the QP exactly (:func:`~.gramian_solvers.min_norm_weights`);
    ``solver="frank-wolfe"`` is ``torchjd.aggregation.MGDA``'s Frank–Wolfe loop with ``epsilon`` (1e-7;
    torchjd's 1e-3 stops ~1e-3 short) and ``max_iters``, which only apply to it. ``wrt="representation"``
    gives MGDA-UB.
    """

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params",
                 solver: Literal["nnls", "frank-wolfe"] = "nnls", epsilon: float = 1e-7, max_iters: int = 100):
        if solver not in ("nnls", "frank-wolfe"):
            raise ValueError(f"solver must be 'nnls' or 'frank-wolfe', not {solver!r}")
        super().__init__(n_tasks, seed, wrt, {"solver": solver, "epsilon": epsilon, "max_iters": max_iters})

    def build_aggregator(self, solver: str = "nnls", epsilon: float = 1e-7, max_iters: int = 100) -> nn.Module:
        if solver == "nnls":
            from mmbench.components.weightings.gramian_solvers import MinNormWeighting

            return tja.GramianWeightedAggregator(MinNormWeighting())
        return tja.MGDA(epsilon=epsilon, max_iters=max_iters)


class PCGrad(TorchJDGramianWeighting):
    """PCGrad: project each gradient onto the normal plane of the gradients it conflicts with, in random
    order, and sum (Yu et al. 2020, NeurIPS; ``torchjd.aggregation.PCGrad``). No options."""

    aggregator_cls = "PCGrad"
    uses_global_rng = True

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params"):
        super().__init__(n_tasks, seed, wrt)


class CAGrad(TorchJDGramianWeighting):
    """CAGrad: the best worst-case improvement in a ball of radius ``c·‖g0‖`` around the mean gradient
    (Liu et al. 2021, NeurIPS, Alg. 1; torchjd's formulation, ``c=0.4`` as in the paper's experiments).

    Weights by :func:`~.gramian_solvers.cagrad_weights` (torchjd's formulation, solved exactly and ~15×
    faster than torchjd's per-step cvxpy problem). ``norm_eps`` (torchjd's) is relative here: the Gramian
    is trace-normalised.
    """

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", c: float = 0.4, norm_eps: float = 1e-4):
        super().__init__(n_tasks, seed, wrt, {"c": c, "norm_eps": norm_eps})

    def build_aggregator(self, c: float = 0.4, norm_eps: float = 1e-4) -> nn.Module:
        from mmbench.components.weightings.gramian_solvers import CAGradWeighting

        return tja.GramianWeightedAggregator(CAGradWeighting(c=c, norm_eps=norm_eps))


class IMTLG(TorchJDGramianWeighting):
    """IMTL-G: the direction with equal projections onto every unit task gradient
    (Liu et al. 2021, ICLR; ``torchjd.aggregation.IMTLG``). No options."""

    aggregator_cls = "IMTLG"

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params"):
        super().__init__(n_tasks, seed, wrt)


class NashMTL(TorchJDJacobianWeighting):
    """Nash-MTL: the Nash bargaining solution, ``Gᵀ G α = 1/α`` (Navon et al. 2022, ICML;
    ``torchjd.aggregation.NashMTL``, stateful: warm-started weights, cleared by ``reset``).

    Its direction does not depend on the gradients' scale (``homogeneity = 0``), so it is computed on
    ``J / ‖J‖`` (where the solver is accurate) and the weights divided by ``‖J‖``.
    """

    aggregator_cls = "NashMTL"
    pass_n_tasks = True
    homogeneity = 0
    min_tasks = 2
    quiet_warnings = ("You are solving a parameterized problem that is not DPP",)

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", max_norm: float = 1.0,
                 update_weights_every: int = 1, optim_niter: int = 20):
        super().__init__(n_tasks, seed, wrt, {"max_norm": max_norm, "update_weights_every": update_weights_every,
                                              "optim_niter": optim_niter})


class AlignedMTL(TorchJDGramianWeighting):
    """Aligned-MTL: align the principal components of the gradient matrix before combining
    (Senushkin et al. 2023, CVPR; ``torchjd.aggregation.AlignedMTL``). ``pref_vector``: one weight per task
    (default uniform); ``scale_mode``: ``"min"``, ``"median"`` or ``"rmse"``."""

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", pref_vector: list[float] | None = None,
                 scale_mode: Literal["min", "median", "rmse"] = "min"):
        super().__init__(n_tasks, seed, wrt, {"pref_vector": pref_vector, "scale_mode": scale_mode})

    def build_aggregator(self, pref_vector: list[float] | None = None, scale_mode: str = "min") -> nn.Module:
        return tja.AlignedMTL(pref_vector=per_task_vector(pref_vector, self.n_tasks, "pref_vector"),
                              scale_mode=scale_mode)


class UPGrad(TorchJDGramianWeighting):
    """UPGrad: project each gradient onto the dual cone of all gradients and average, so the update never
    conflicts with any task (Quinton & Rey 2024, arXiv:2406.16232; ``torchjd.aggregation.UPGrad``).
    ``norm_eps`` and ``reg_eps`` go to its ``QuadprogProjector`` (relative here: the Gramian is
    trace-normalised). :class:`~.torchjd_conflict.DualProj` shares these options with another
    ``aggregator_cls``."""

    aggregator_cls = "UPGrad"

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", pref_vector: list[float] | None = None,
                 norm_eps: float = 1e-4, reg_eps: float = 1e-4):
        super().__init__(n_tasks, seed, wrt, {"pref_vector": pref_vector, "norm_eps": norm_eps, "reg_eps": reg_eps})

    def build_aggregator(self, pref_vector: list[float] | None = None, norm_eps: float = 1e-4,
                         reg_eps: float = 1e-4) -> nn.Module:
        return getattr(tja, self.aggregator_cls)(
            pref_vector=per_task_vector(pref_vector, self.n_tasks, "pref_vector"),
            projector=QuadprogProjector(norm_eps=norm_eps, reg_eps=reg_eps))


class GradVac(TorchJDGramianWeighting):
    """Gradient Vaccine: raise each pair's cosine similarity towards an EMA target (rate ``beta``) by adding
    a scaled copy of the other gradient (Wang, Tsvetkov, Firat & Cao 2021, ICLR;
    ``torchjd.aggregation.GradVac``: whole-model variant, stateful, random visiting order)."""

    aggregator_cls = "GradVac"
    uses_global_rng = True

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", beta: float = 0.5, eps: float = 1e-8):
        super().__init__(n_tasks, seed, wrt, {"beta": beta, "eps": eps})


class GradDrop(TorchJDAggregator):
    """GradDrop: keep, per coordinate, only the gradients of the sign drawn with probability the positive
    sign purity (Chen et al. 2020, NeurIPS, "Just Pick a Sign"; ``torchjd.aggregation.GradDrop``, identity
    ``f``). ``leak``: one value per task in [0, 1] (default none). Not a weighted aggregator: the update is
    masked per coordinate, so it records no task weights (``last_weights`` is ``None``)."""

    aggregator_cls = "GradDrop"
    uses_global_rng = True

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", leak: list[float] | None = None):
        super().__init__(n_tasks, seed, wrt, {"leak": leak})

    def build_aggregator(self, leak: list[float] | None = None) -> nn.Module:
        return tja.GradDrop(leak=per_task_vector(leak, self.n_tasks, "leak"))
