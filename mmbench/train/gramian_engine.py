"""The Gramian engine: ``G = J Jᵀ`` of the task losses w.r.t. the shared parameters without materialising ``J``.

torchjd's autogram ``Engine`` (Quinton & Rey 2024, arXiv:2406.16232, section 6) hooks modules and, in one
backward pass vectorised over the ``T`` losses, accumulates each module's contribution ``J_m J_mᵀ`` and drops
``J_m``: memory grows with ``T`` × the largest module rather than ``T`` × every shared parameter. A
:class:`~mmbench.components.base.GramianWeighting` needs nothing else; the trainer then applies ``w @ J``
as the backward pass of ``Σ_t w_t L_t`` (:mod:`mmbench.train.step`).

**Where it applies** (:func:`engine_for`): a ``GramianWeighting`` that implements ``gramian_weights`` (and
not ``jacobian_weights``), with ``wrt="params"``, on a model whose shared parameters are exactly the
parameters of a set of modules (a module holding both shared and task parameters itself cannot be
split), when the Jacobian would be large enough for its memory to matter (:data:`MIN_JACOBIAN_ENTRIES`).
Everything else takes the Jacobian path: other strategies, ``wrt="representation"`` (its Jacobian is
already small), and models the engine cannot follow — a module whose parameters a parent uses without
calling it, or whose output is not a tensor (torchjd's documented limits). Those are not detected up
front: on the first step :func:`gramian_checked` compares the engine's ``G`` with two random quadratic
forms ``cᵀGc = ‖Σ_t c_t g_t‖²`` (one backward pass each, no ``J``: a module missing from ``G`` changes them)
and, if they differ or the engine fails, the cell continues on the Jacobian path with a warning.
"""

from __future__ import annotations

import os
import warnings

import torch
from torch import Tensor, nn

from mmbench.components.base import GramianWeighting, Weighting
from mmbench.train.model import CellModel

#: below this many Jacobian entries (``T`` × shared parameters: 256 MiB in float32) ``auto`` takes the Jacobian
#: path: there the engine (one more backward pass a step) was slower or no faster on the models measured, and the
#: Jacobian path's few copies of ``J`` are small; above it the engine was faster and several times lighter
#: (docs/performance.md, "Gramian engine")
MIN_JACOBIAN_ENTRIES = 1 << 26
#: ``MMBENCH_GRAMIAN_ENGINE``: ``auto`` (default, the rule above), ``always`` (wherever it applies) or ``never``
ENGINE_SETTING = "MMBENCH_GRAMIAN_ENGINE"
SETTINGS = ("auto", "always", "never")


class EngineNotApplicable(ValueError):
    """The model's shared parameters are not the parameters of a set of whole modules."""


def shared_modules(model: CellModel) -> list[nn.Module]:
    """The largest modules all of whose trainable parameters are shared (together: every shared parameter),
    none inside another; :class:`EngineNotApplicable` if a module holds shared and task parameters itself."""
    shared = {id(p) for p in model.shared_parameters()}

    def visit(module: nn.Module) -> list[nn.Module]:
        params = [p for p in module.parameters() if p.requires_grad]
        if not params or not any(id(p) in shared for p in params):
            return []
        if all(id(p) in shared for p in params):
            return [module]
        if any(p.requires_grad for p in module.parameters(recurse=False)):
            raise EngineNotApplicable(f"{type(module).__name__} holds shared and task-specific parameters itself")
        return [found for child in module.children() for found in visit(child)]

    return visit(model)


def setting() -> str:
    """The engine setting from :data:`ENGINE_SETTING` (default ``auto``)."""
    value = os.environ.get(ENGINE_SETTING, "auto").strip().lower() or "auto"
    if value not in SETTINGS:
        raise ValueError(f"{ENGINE_SETTING}={value!r}: use one of {', '.join(SETTINGS)}")
    return value


def applies_to(weighting: Weighting | None) -> bool:
    """Whether ``weighting``'s weights come from the Gramian alone, of the parameter Jacobian."""
    if not isinstance(weighting, GramianWeighting) or getattr(weighting, "wrt", "params") != "params":
        return False
    cls = type(weighting)
    return (cls.gramian_weights is not GramianWeighting.gramian_weights
            and cls.jacobian_weights is GramianWeighting.jacobian_weights)


class GramianEngine:
    """torchjd's ``Engine`` over a cell model's shared modules, for one training run.

    :meth:`gramian` returns ``G [T, T]`` (``None`` once the engine has been given up); ``verified`` is set
    once the first step's ``G`` passed :func:`gramian_checked`; :meth:`close` removes the engine's hooks.
    """

    def __init__(self, modules: list[nn.Module]):
        from torchjd.autogram import Engine

        self.engine: object | None = Engine(*modules, batch_dim=None)  # losses are means: no batch dimension
        self.verified = False
        self.reason: str | None = None

    @property
    def active(self) -> bool:
        return self.engine is not None

    def gramian(self, losses: Tensor) -> Tensor | None:
        if self.engine is None:
            return None
        try:
            return self.engine.compute_gramian(losses)  # type: ignore[attr-defined]
        except (ValueError, RuntimeError) as exc:  # e.g. a hooked module whose output no task loss reaches
            self.close(f"torchjd's engine failed: {exc}")
            return None

    def close(self, reason: str | None = None) -> None:
        """Stop using the engine (and say why, once, when ``reason`` is given); its hooks leave the model."""
        if self.engine is None:
            return
        manager = getattr(self.engine, "_module_hook_manager", None)
        finalizer = getattr(manager, "_finalizer", None)
        if callable(finalizer):
            finalizer()  # torchjd removes its forward hooks (otherwise they go when the engine is collected)
        self.engine = None
        if reason is not None:
            self.reason = reason
            warnings.warn(f"Gramian engine not used for this cell ({reason}); the Jacobian path computes the same "
                          "update", RuntimeWarning, stacklevel=2)


def engine_for(model: CellModel, weighting: Weighting | None, mode: str | None = None) -> GramianEngine | None:
    """The engine for training ``model`` with ``weighting``, or ``None`` where the Jacobian path is used
    (see the module docstring). ``mode``: ``auto``, ``always`` or ``never`` (default: :func:`setting`).
    Build it before the first forward pass: it works through forward hooks."""
    mode = mode or setting()
    if mode == "never" or not applies_to(weighting):
        return None
    shared = model.shared_parameters()
    if not shared:
        return None
    assert weighting is not None
    if mode == "auto" and weighting.n_tasks * sum(p.numel() for p in shared) < MIN_JACOBIAN_ENTRIES:
        return None
    try:
        modules = shared_modules(model)
    except EngineNotApplicable:
        return None
    return GramianEngine(modules)


def gramian_checked(gramian: Tensor, losses: Tensor, shared: list[nn.Parameter], probes: int = 2) -> bool:
    """Whether ``G`` is the Gramian of the losses' gradients w.r.t. ``shared``: for seeded random ``c``,
    ``cᵀGc`` must equal ``‖∇(cᵀL)‖²`` up to float rounding (relative to ``(Σ_t |c_t| ‖g_t‖)²``, its bound).
    Memory ``O(P)``: one backward pass per probe, the graph retained."""
    generator = torch.Generator().manual_seed(0)
    norms = gramian.detach().diagonal().clamp_min(0).sqrt().double().cpu()
    for _ in range(probes):
        c = torch.randn(losses.shape[0], generator=generator, dtype=torch.float64)
        grads = torch.autograd.grad((c.to(losses) * losses).sum(), shared, retain_graph=True, allow_unused=True)
        actual = sum(float(g.double().square().sum()) for g in grads if g is not None)
        predicted = float(c @ gramian.detach().double().cpu() @ c)
        bound = float(c.abs() @ norms) ** 2
        if abs(predicted - actual) > 1e-4 * max(bound, actual) + 1e-30:
            return False
    return True


__all__ = ["ENGINE_SETTING", "EngineNotApplicable", "GramianEngine", "MIN_JACOBIAN_ENTRIES", "applies_to", "engine_for",
           "gramian_checked", "setting", "shared_modules"]
