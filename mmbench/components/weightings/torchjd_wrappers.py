"""Gradient strategies wrapping torchjd's aggregators (Quinton & Rey 2024, https://github.com/TorchJD/torchjd).

Each class builds one ``torchjd.aggregation`` aggregator and calls it on the Jacobian ``[T, N]``;
nothing is re-implemented. ``last_weights`` is the vector ``w`` with ``result = wᵀ J``: torchjd's own
weighting output for its weighted aggregators (captured with a forward hook), otherwise the
least-squares solution of ``Jᵀ w ≈ result``.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any, ClassVar, Iterator

import torch
from torch import Tensor, nn

from mmbench.components.weightings._jacobian import JacobianWeighting, Wrt

INSTALL_HINT = 'pip install "torchjd[full]"'

try:
    from torchjd import aggregation as tja
except ImportError as exc:  # pragma: no cover - torchjd is a dependency of mmbench
    raise ImportError(f"mmbench's gradient weightings need torchjd: {INSTALL_HINT}") from exc


def least_squares_weights(jacobian: Tensor, result: Tensor) -> Tensor:
    """The ``w`` ``[T]`` minimising ``‖Jᵀ w − result‖`` (minimum norm if ``J`` is rank-deficient)."""
    solution = torch.linalg.lstsq(jacobian.detach().T.double().cpu(), result.detach().double().cpu().unsqueeze(1),
                                  driver="gelsd").solution
    return solution.squeeze(1).to(dtype=jacobian.dtype, device=jacobian.device)


class TorchJDWeighting(JacobianWeighting):
    """Base of the torchjd wrappers: build the aggregator, call it, record the weights, reset its state.

    Subclasses set ``aggregator_cls`` (a name in ``torchjd.aggregation``) and ``defaults``; options given
    to the factory override ``defaults`` and go to the aggregator's constructor. ``uses_global_rng``
    marks aggregators that draw from torch's global generator (PCGrad's random task order): they run
    inside ``torch.random.fork_rng`` seeded from ``self.generator``, so ``reset(seed)`` reproduces them
    and the global stream is left untouched.
    """

    aggregator_cls: ClassVar[str]
    defaults: ClassVar[dict[str, Any]] = {}
    pass_n_tasks: ClassVar[bool] = False
    uses_global_rng: ClassVar[bool] = False
    #: regexes of known-harmless solver warnings to silence (Nash-MTL's cvxpy "not DPP" notice each step)
    quiet_warnings: ClassVar[tuple[str, ...]] = ()
    #: the fewest tasks the aggregator handles (torchjd's Nash-MTL problem is ill-formed for one task)
    min_tasks: ClassVar[int] = 1

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", **options: Any):
        if n_tasks < self.min_tasks:
            raise ValueError(f"{type(self).__name__} needs at least {self.min_tasks} tasks, got {n_tasks}")
        super().__init__(n_tasks, seed, wrt)
        kwargs = {**self.defaults, **options}
        if self.pass_n_tasks:
            kwargs["n_tasks"] = n_tasks
        try:
            self.aggregator: nn.Module = getattr(tja, self.aggregator_cls)(**kwargs)
        except ImportError as exc:
            raise ImportError(f"{type(self).__name__} needs torchjd's optional solvers ({exc}); "
                              f"install them with: {INSTALL_HINT}") from exc
        self._captured: Tensor | None = None
        if isinstance(self.aggregator, tja.WeightedAggregator):
            self.aggregator.weighting.register_forward_hook(self._capture)

    def _capture(self, module: nn.Module, args: Any, output: Tensor) -> None:
        self._captured = output

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        clear = getattr(self.aggregator, "reset", None)  # torchjd's Stateful aggregators (Nash-MTL)
        if callable(clear):
            clear()

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        if not self.quiet_warnings:
            yield
            return
        with warnings.catch_warnings():
            for pattern in self.quiet_warnings:
                warnings.filterwarnings("ignore", message=pattern)
            yield

    def aggregate(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        self._captured = None
        with self._quiet():
            if self.uses_global_rng:
                seed = int(torch.randint(0, 2**62, (1,), generator=self.generator))
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(seed)
                    result = self.aggregator(jacobian)
            else:
                result = self.aggregator(jacobian)
        weights = self._captured if self._captured is not None else least_squares_weights(jacobian, result)
        self._captured = None
        self.last_weights = weights.detach()
        return result


class MGDA(TorchJDWeighting):
    """MGDA: the min-norm point of the convex hull of the task gradients, by Frank-Wolfe
    (Sener & Koltun 2018, NeurIPS; ``torchjd.aggregation.MGDA``). Use ``wrt="representation"`` for MGDA-UB."""

    aggregator_cls = "MGDA"


class PCGrad(TorchJDWeighting):
    """PCGrad: project each gradient onto the normal plane of the gradients it conflicts with, in random
    order, and sum (Yu et al. 2020, NeurIPS; ``torchjd.aggregation.PCGrad``)."""

    aggregator_cls = "PCGrad"
    uses_global_rng = True


class CAGrad(TorchJDWeighting):
    """CAGrad: the best worst-case improvement in a ball of radius ``c·‖g0‖`` around the mean gradient
    (Liu et al. 2021, NeurIPS; ``torchjd.aggregation.CAGrad``, ``c=0.4`` as in the paper's experiments)."""

    aggregator_cls = "CAGrad"
    defaults = {"c": 0.4}


class IMTLG(TorchJDWeighting):
    """IMTL-G: the direction with equal projections onto every unit task gradient
    (Liu et al. 2021, ICLR; ``torchjd.aggregation.IMTLG``)."""

    aggregator_cls = "IMTLG"


class NashMTL(TorchJDWeighting):
    """Nash-MTL: the Nash bargaining solution, ``Gᵀ G α = 1/α`` (Navon et al. 2022, ICML;
    ``torchjd.aggregation.NashMTL``, stateful: warm-started weights, cleared by ``reset``)."""

    aggregator_cls = "NashMTL"
    pass_n_tasks = True
    min_tasks = 2
    quiet_warnings = ("You are solving a parameterized problem that is not DPP",)


class AlignedMTL(TorchJDWeighting):
    """Aligned-MTL: align the principal components of the gradient matrix before combining
    (Senushkin et al. 2023, CVPR; ``torchjd.aggregation.AlignedMTL``)."""

    aggregator_cls = "AlignedMTL"


class UPGrad(TorchJDWeighting):
    """UPGrad: project each gradient onto the dual cone of all gradients and average, so the update
    never conflicts with any task (Quinton & Rey 2024, arXiv:2406.16232; ``torchjd.aggregation.UPGrad``)."""

    aggregator_cls = "UPGrad"
