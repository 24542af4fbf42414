"""One optimisation step's backward pass, served according to what the weighting strategy needs.

No branching on strategy names: the strategy's declared :class:`~mmbench.components.base.Need` decides.

- no strategy (single task) or ``Need.LOSSES``: back-propagate the (combined) loss.
- ``Need.PARAM_JACOBIAN``: one ``autograd.grad`` per task over the shared and task-specific parameters
  gives ``J [T, P]``; the update of the shared columns is :func:`shared_update`; each task-specific
  parameter (heads, per-task layers) keeps its own task's gradient, times ``task_parameter_weights``.
  With a Gramian engine (:mod:`mmbench.train.gramian_engine`; Gramian weightings only) the engine gives
  ``G = J Jᵀ`` without ``J``, the weights come from ``G`` (``weigh_gramian``), and ``w @ J`` is the backward
  pass of ``Σ_t w_t L_t`` into the shared parameters (the heads get their own pass, as above); its first
  step's ``G`` is checked (:func:`~mmbench.train.gramian_engine.gramian_checked`).
- ``Need.REPR_JACOBIAN``: the same w.r.t. the shared representation (MGDA-UB, Sener & Koltun 2018);
  the update is back-propagated from the representation into the parameters before it, and every
  parameter after it (heads, per-task layers, a late fuser's weights) gets the gradient of the task
  losses (times ``task_parameter_weights``).

**The update** (:func:`shared_update`): a :class:`~mmbench.components.base.JacobianWeighting` returns task
weights ``w`` (recorded in ``last_weights`` by its base class) and the update is ``w @ J``, so the
recorded weights are exactly the applied ones; a :class:`~mmbench.components.base.JacobianAggregator`
returns the update itself (not a weighted method).

**Alignment loss.** It enters with weight ``align_weight × mean(w)``, where ``w`` are the task weights
the strategy applied at that step (``last_weights``; EW: all 1; no strategy, or not a weighted method: 1).
So its weight relative to the average task is ``align_weight`` under every strategy, whether its weights
sum to T (EW), to 1 (RLW, FAMO, MGDA) or to anything else (PCGrad).

**Checks.** Non-finite task weights, objective or update direction from the strategy (with finite task
losses) raise :class:`StrategyError`, which blames the strategy rather than the learning rate.
"""

from __future__ import annotations

import contextlib
import math
from typing import Iterator, Sequence

import torch
from torch import Tensor

from mmbench.components.base import GramianWeighting, JacobianAggregator, JacobianWeighting, Need, Weighting
from mmbench.train.gramian_engine import GramianEngine, gramian_checked
from mmbench.train.model import CellModel, Forward


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss; the cell is stored as failed with this message."""


class StrategyError(DivergenceError):
    """The weighting strategy produced non-finite weights, objective or update from finite task losses."""


def _jacobian(losses: Tensor, wrt: Sequence[Tensor]) -> Tensor:
    rows = []
    for t in range(losses.shape[0]):
        grads = torch.autograd.grad(losses[t], wrt, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([(g if g is not None else torch.zeros_like(w)).reshape(-1) for g, w in zip(grads, wrt)]))
    return torch.stack(rows)


def _split(vector: Tensor, like: Sequence[Tensor]) -> list[Tensor]:
    out, offset = [], 0
    for t in like:
        out.append(vector[offset: offset + t.numel()].view_as(t))
        offset += t.numel()
    return out


def _blame(weighting: Weighting, what: str, value: Tensor) -> StrategyError:
    from mmbench.provenance import defined_at

    cls = type(weighting)
    return StrategyError(
        f"weighting strategy {cls.__name__} ({defined_at(cls)}) produced {what} from finite task losses "
        f"({value.detach().flatten()[:8].tolist()}); the task losses and learning rate are not the cause. "
        "Fix the strategy (check divisions, logs and normalisations), or drop it from the grid")


def all_finite(values: Tensor) -> bool:
    """Whether every element of ``values`` is finite. Small tensors (per-task losses, weights, a scalar
    objective) are read as Python floats: the same answer as ``torch.isfinite(values).all()`` in a tenth of
    its time (about 1 µs instead of 10 µs, paid several times a step); on CUDA either one synchronises."""
    if values.numel() <= 64:
        return all(map(math.isfinite, values.detach().reshape(-1).tolist()))
    return bool(torch.isfinite(values).all())


def checked_weights(weighting: Weighting) -> Tensor | None:
    """The strategy's ``last_weights`` as a float tensor (``None``: not a weighted method), or
    :class:`StrategyError` when not finite."""
    if weighting.last_weights is None:
        return None
    w = torch.as_tensor(weighting.last_weights, dtype=torch.float32).detach()
    if not all_finite(w):
        raise _blame(weighting, "non-finite task weights (last_weights)", w)
    return w


def _align_scale(weighting: Weighting | None, align_weight: float) -> Tensor | float:
    weights = None if weighting is None else checked_weights(weighting)
    return align_weight if weights is None else align_weight * weights.mean()


def shared_update(weighting: Weighting, jacobian: Tensor, losses: Tensor) -> Tensor:
    """The update ``[N]`` of the shared part from the Jacobian ``[T, N]``: ``w @ J`` with ``w`` the task weights
    of a :class:`JacobianWeighting` (``weigh`` records them), or a :class:`JacobianAggregator`'s own update."""
    if isinstance(weighting, JacobianWeighting):
        weights = weighting.weigh(jacobian, losses)
        if not all_finite(weights):
            raise _blame(weighting, "non-finite task weights", weights)
        update = weights.to(jacobian) @ jacobian
    elif isinstance(weighting, JacobianAggregator):
        update = weighting.aggregate(jacobian, losses.detach())
    else:
        raise TypeError(f"{type(weighting).__name__} has need = {weighting.need} but is neither a JacobianWeighting nor "
                        "a JacobianAggregator (mmbench.components.checks.weighting_need_problem says what to change)")
    if not all_finite(update):
        raise _blame(weighting, "a non-finite update direction", update)
    return update


def _task_weights(weighting: Weighting, losses: Tensor) -> Tensor | None:
    w = weighting.task_parameter_weights(losses.detach())
    if w is None:
        return None
    w = torch.as_tensor(w).to(losses)
    if not all_finite(w):
        raise _blame(weighting, "non-finite task_parameter_weights", w)
    return w


def _engine_backward(model: CellModel, fwd: Forward, losses: Tensor, weighting: GramianWeighting, engine: GramianEngine,
                     head_w: Tensor | None, align_weight: float) -> int | None:
    """The Gramian engine's step (``None``: the engine was given up, take the Jacobian path). One pass
    vectorised over the ``T`` losses gives ``G``; one pass of ``Σ_t w_t L_t`` (plus the alignment loss) fills
    the shared parameters' ``.grad`` with ``w @ J``; one pass through the heads gives their own gradients."""
    gramian = engine.gramian(losses)
    if gramian is None:
        return None
    shared, own = model.shared_parameters(), model.task_parameters()
    if not engine.verified:
        if not gramian_checked(gramian, losses, shared):
            engine.close("its Gramian differs from J Jᵀ: a module whose parameters are used without calling it, "
                         "or whose output is not a tensor")
            return None
        engine.verified = True
    weights = weighting.weigh_gramian(gramian, losses.detach())
    if not all_finite(weights):
        raise _blame(weighting, "non-finite task weights", weights)
    if own:
        factors = torch.ones_like(losses) if head_w is None else head_w
        for p, g in zip(own, torch.autograd.grad((factors * losses).sum(), own, retain_graph=True, allow_unused=True)):
            p.grad = g if g is not None else torch.zeros_like(p)
    objective = (weights.to(losses) * losses).sum()
    if fwd.align_loss is not None:
        objective = objective + fwd.align_loss * _align_scale(weighting, align_weight)
    for p, g in zip(shared, torch.autograd.grad(objective, shared, allow_unused=True)):
        p.grad = g if g is not None else torch.zeros_like(p)
    return losses.shape[0] + 1


def backward(model: CellModel, fwd: Forward, losses: Tensor, weighting: Weighting | None, align_weight: float = 1.0,
             engine: GramianEngine | None = None) -> int:
    """Fill ``.grad`` for one step; returns the number of backward passes made (the engine's vectorised pass
    counts as ``T``). ``engine``: the cell's Gramian engine, when :func:`~mmbench.train.gramian_engine.engine_for`
    gave one."""
    align = fwd.align_loss
    need = weighting.need if weighting is not None else Need.LOSSES
    shared = model.shared_parameters() if need is not Need.LOSSES else []
    if weighting is None or need is Need.LOSSES or not shared:  # single task, loss-only, or nothing shared
        if weighting is not None and need is Need.LOSSES:
            total = weighting.combine(losses)
            if not all_finite(total):
                raise _blame(weighting, f"a non-finite objective ({float(total.detach())})", losses)
        else:
            total = losses.sum()
        if align is not None:
            total = total + align * _align_scale(weighting if need is Need.LOSSES else None, align_weight)
        total.backward()
        return 1
    head_w = _task_weights(weighting, losses)
    if need is Need.PARAM_JACOBIAN and engine is not None and engine.active and isinstance(weighting, GramianWeighting):
        passes = _engine_backward(model, fwd, losses, weighting, engine, head_w, align_weight)
        if passes is not None:
            return passes
    if need is Need.PARAM_JACOBIAN:
        own = model.task_parameters()
        jac = _jacobian(losses, shared + own)  # one pass per task; own columns give each task's own gradient
        n_shared = sum(p.numel() for p in shared)
        direction = shared_update(weighting, jac[:, :n_shared], losses.detach())
        own_grad = jac[:, n_shared:].sum(dim=0) if head_w is None else head_w @ jac[:, n_shared:]
        for p, g in zip(shared + own, _split(torch.cat([direction, own_grad]), shared + own)):
            p.grad = g.clone()
        if align is not None:
            scaled = align * _align_scale(weighting, align_weight)
            for p, g in zip(shared, torch.autograd.grad(scaled, shared, allow_unused=True)):
                if g is not None:
                    p.grad += g
        return losses.shape[0] + (align is not None)
    reps = fwd.representation
    if not reps:
        raise ValueError(f"{type(weighting).__name__} needs the shared representation, and this model's "
                         "architecture has none; use wrt='params' (the grid never crosses these in)")
    jac = _jacobian(losses, reps)
    direction = shared_update(weighting, jac, losses.detach())
    upstream = {id(p) for p in model.upstream_parameters()}
    after = [p for p in model.parameters() if p.requires_grad and id(p) not in upstream]
    if after:
        objective = losses.sum() if head_w is None else (head_w * losses).sum()
        for p, g in zip(after, torch.autograd.grad(objective, after, retain_graph=True, allow_unused=True)):
            if g is not None:
                p.grad = g if p.grad is None else p.grad + g
    roots, grads = list(reps), _split(direction, reps)
    if align is not None:
        roots.append(align * _align_scale(weighting, align_weight))
        grads.append(torch.ones_like(align))
    torch.autograd.backward(roots, grads)
    return losses.shape[0] + 2


@contextlib.contextmanager
def batch_stats_kept(model: torch.nn.Module) -> Iterator[None]:
    """Run a forward pass in training mode without moving batch-norm running statistics: FAMO's
    post-step forward (its losses after the update) must not count as a second batch of the step, or its
    cells would evaluate with other statistics than every other strategy's."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    kept = [{k: v.clone() for k, v in m.named_buffers(recurse=False)} for m in norms]
    try:
        yield
    finally:
        with torch.no_grad():
            for m, buffers in zip(norms, kept):
                for k, v in buffers.items():
                    getattr(m, k).copy_(v)
