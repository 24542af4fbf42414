"""Gradient strategies wrapping torchjd's aggregators (Quinton & Rey 2024, https://github.com/TorchJD/torchjd).

Each class builds one ``torchjd.aggregation`` aggregator from its explicit options and applies it to the
Jacobian ``[T, N]``. ``last_weights`` is the vector ``w`` with ``result = wᵀ J``: the aggregator's own
weights for weighted aggregators, otherwise the least-squares solution of ``Jᵀ w ≈ result``.

**Scale.** Several torchjd aggregators compare absolute quantities with fixed epsilons (CAGrad and
UPGrad's QP zero or flatten a Gramian whose trace is below ``norm_eps = 1e-4``; GradVac adds ``1e-8`` to
products of norms; Nash-MTL's solver loses accuracy), so they mis-handle small gradients. The wrappers
therefore weight the **trace-normalised** Gramian ``G / tr(G)`` (the Jacobian ``J / ‖J‖_F`` for
aggregators that need the matrix) and scale back with the aggregator's scaling law
``A(sJ) = s^k A(J)`` (``homogeneity`` ``k``: 1 for all but Nash-MTL, whose direction does not depend on
the gradients' scale, ``k = 0``). Every epsilon is thus relative to the gradients' size.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any, ClassVar, Iterator, Literal, Sequence

import torch
from torch import Tensor, nn

from mmbench.components.weightings._jacobian import JacobianWeighting, Wrt

INSTALL_HINT = 'pip install "torchjd[full]"'

try:
    from torchjd import aggregation as tja
    from torchjd.linalg import QuadprogProjector
except ImportError as exc:  # pragma: no cover - torchjd is a dependency of mmbench
    raise ImportError(f"mmbench's gradient weightings need torchjd>=0.18: {INSTALL_HINT}") from exc


def least_squares_weights(jacobian: Tensor, result: Tensor) -> Tensor:
    """The ``w`` ``[T]`` minimising ``‖Jᵀ w − result‖`` (minimum norm if ``J`` is rank-deficient).

    Through the ``T × T`` normal equations, ``w = pinv(J Jᵀ) J result`` (one pass over ``J``; a dense
    least-squares solve of the ``N × T`` system would cost far more than most aggregators). Eigenvalues
    below ``rtol`` of the largest (1e-6 for single precision, where ``J Jᵀ`` carries that much rounding)
    count as zero.
    """
    j, r = jacobian.detach(), result.detach().to(jacobian.dtype)
    gram, rhs = (j @ j.T).double().cpu(), (j @ r).double().cpu()
    rtol = 1e-12 if jacobian.dtype == torch.float64 else 1e-6
    w = torch.linalg.pinv(gram, rtol=rtol, hermitian=True) @ rhs
    return w.to(dtype=jacobian.dtype, device=jacobian.device)


def _vector(values: Sequence[float] | None, n_tasks: int, name: str) -> Tensor | None:
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


class TorchJDWeighting(JacobianWeighting):
    """Base of the torchjd wrappers: build the aggregator, apply it scale-free, record the weights, reset.

    Subclasses declare their options as explicit keyword parameters and pass them on as ``options``;
    ``build_aggregator(**options)`` makes the aggregator (default: ``torchjd.aggregation.<aggregator_cls>``).

    - ``homogeneity`` ``k``: ``A(sJ) = s^k A(J)``; ``rescale``: aggregate ``G / tr G`` (or ``J / ‖J‖``)
      and scale back (see the module docstring). Off for aggregators with no absolute thresholds whose
      rescaling would copy the Jacobian (GradDrop).
    - ``uses_global_rng``: the aggregator draws from torch's global generator (PCGrad, GradVac, GradDrop);
      it runs inside ``torch.random.fork_rng`` seeded from ``self.generator``, so ``reset(seed)``
      reproduces it and the global stream is left untouched.
    """

    aggregator_cls: ClassVar[str]
    pass_n_tasks: ClassVar[bool] = False
    uses_global_rng: ClassVar[bool] = False
    homogeneity: ClassVar[int] = 1
    rescale: ClassVar[bool] = True
    #: regexes of known-harmless solver warnings to silence (Nash-MTL's cvxpy "not DPP" notice each step)
    quiet_warnings: ClassVar[tuple[str, ...]] = ()
    #: the fewest tasks the aggregator handles (torchjd's Nash-MTL problem is ill-formed for one task)
    min_tasks: ClassVar[int] = 1

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", options: dict[str, Any] | None = None):
        if n_tasks < self.min_tasks:
            raise ValueError(f"{type(self).__name__} needs at least {self.min_tasks} tasks, got {n_tasks}")
        super().__init__(n_tasks, seed, wrt)
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
        super().reset(seed)
        clear = getattr(self.aggregator, "reset", None)  # torchjd's Stateful aggregators (Nash-MTL, GradVac)
        if callable(clear):
            clear()

    @contextlib.contextmanager
    def _context(self, device: torch.device) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            if self.quiet_warnings:
                stack.enter_context(warnings.catch_warnings())
                for pattern in self.quiet_warnings:
                    warnings.filterwarnings("ignore", message=pattern)
            if self.uses_global_rng:
                stack.enter_context(seeded_global_rng(self.generator, device))
            yield

    def _weights_and_result(self, jacobian: Tensor) -> tuple[Tensor, Tensor]:
        agg, k = self.aggregator, self.homogeneity
        if isinstance(agg, tja.GramianWeightedAggregator) and self.rescale:
            gramian = jacobian @ jacobian.T
            trace = gramian.diagonal().sum()
            square = torch.where(trace > 0, trace, torch.ones_like(trace))  # no branch: no host sync on GPU
            weights = agg.gramian_weighting(gramian / square) * square.sqrt() ** (k - 1)
            return weights, weights @ jacobian
        if not self.rescale:
            if isinstance(agg, tja.WeightedAggregator):
                weights = agg.weighting(jacobian)
                return weights, weights @ jacobian
            result = agg(jacobian)
            return least_squares_weights(jacobian, result), result
        norm = jacobian.norm()
        norm = torch.where(norm > 0, norm, torch.ones_like(norm))
        if isinstance(agg, tja.WeightedAggregator):
            weights = agg.weighting(jacobian / norm) * norm ** (k - 1)
            return weights, weights @ jacobian
        result = agg(jacobian / norm) * norm**k
        return least_squares_weights(jacobian, result), result

    def aggregate(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        with self._context(jacobian.device):
            weights, result = self._weights_and_result(jacobian.detach())
        self.last_weights = weights.detach()
        return result


class MGDA(TorchJDWeighting):
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


class PCGrad(TorchJDWeighting):
    """PCGrad: project each gradient onto the normal plane of the gradients it conflicts with, in random
    order, and sum (Yu et al. 2020, NeurIPS; ``torchjd.aggregation.PCGrad``). No options."""

    aggregator_cls = "PCGrad"
    uses_global_rng = True

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params"):
        super().__init__(n_tasks, seed, wrt)


class CAGrad(TorchJDWeighting):
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


class IMTLG(TorchJDWeighting):
    """IMTL-G: the direction with equal projections onto every unit task gradient
    (Liu et al. 2021, ICLR; ``torchjd.aggregation.IMTLG``). No options."""

    aggregator_cls = "IMTLG"

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params"):
        super().__init__(n_tasks, seed, wrt)


class NashMTL(TorchJDWeighting):
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


class AlignedMTL(TorchJDWeighting):
    """Aligned-MTL: align the principal components of the gradient matrix before combining
    (Senushkin et al. 2023, CVPR; ``torchjd.aggregation.AlignedMTL``). ``pref_vector``: one weight per task
    (default uniform); ``scale_mode``: ``"min"``, ``"median"`` or ``"rmse"``."""

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", pref_vector: list[float] | None = None,
                 scale_mode: Literal["min", "median", "rmse"] = "min"):
        super().__init__(n_tasks, seed, wrt, {"pref_vector": pref_vector, "scale_mode": scale_mode})

    def build_aggregator(self, pref_vector: list[float] | None = None, scale_mode: str = "min") -> nn.Module:
        return tja.AlignedMTL(pref_vector=_vector(pref_vector, self.n_tasks, "pref_vector"), scale_mode=scale_mode)


class UPGrad(TorchJDWeighting):
    """UPGrad: project each gradient onto the dual cone of all gradients and average, so the update never
    conflicts with any task (Quinton & Rey 2024, arXiv:2406.16232; ``torchjd.aggregation.UPGrad``).
    ``norm_eps`` and ``reg_eps`` go to its ``QuadprogProjector`` (relative here: the Gramian is
    trace-normalised)."""

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", pref_vector: list[float] | None = None,
                 norm_eps: float = 1e-4, reg_eps: float = 1e-4):
        super().__init__(n_tasks, seed, wrt, {"pref_vector": pref_vector, "norm_eps": norm_eps, "reg_eps": reg_eps})

    def build_aggregator(self, pref_vector: list[float] | None = None, norm_eps: float = 1e-4,
                         reg_eps: float = 1e-4) -> nn.Module:
        return tja.UPGrad(pref_vector=_vector(pref_vector, self.n_tasks, "pref_vector"),
                          projector=QuadprogProjector(norm_eps=norm_eps, reg_eps=reg_eps))


class GradVac(TorchJDWeighting):
    """Gradient Vaccine: raise each pair's cosine similarity towards an EMA target (rate ``beta``) by adding
    a scaled copy of the other gradient (Wang, Tsvetkov, Firat & Cao 2021, ICLR;
    ``torchjd.aggregation.GradVac``: whole-model variant, stateful, random visiting order)."""

    aggregator_cls = "GradVac"
    uses_global_rng = True

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", beta: float = 0.5, eps: float = 1e-8):
        super().__init__(n_tasks, seed, wrt, {"beta": beta, "eps": eps})


class GradDrop(TorchJDWeighting):
    """GradDrop: keep, per coordinate, only the gradients of the sign drawn with probability the positive
    sign purity (Chen et al. 2020, NeurIPS, "Just Pick a Sign"; ``torchjd.aggregation.GradDrop``, identity
    ``f``). ``leak``: one value per task in [0, 1] (default none). Not a weighted aggregator: the result is
    masked per coordinate, so ``last_weights`` is the least-squares fit."""

    aggregator_cls = "GradDrop"
    uses_global_rng = True
    rescale = False  # exactly scale-equivariant, no thresholds; rescaling would only copy the Jacobian

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", leak: list[float] | None = None):
        super().__init__(n_tasks, seed, wrt, {"leak": leak})

    def build_aggregator(self, leak: list[float] | None = None) -> nn.Module:
        return tja.GradDrop(leak=_vector(leak, self.n_tasks, "leak"))
