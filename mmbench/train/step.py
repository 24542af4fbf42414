"""One optimisation step's backward pass, served according to what the weighting strategy needs.

No branching on strategy names: the strategy's declared :class:`~mmbench.components.base.Need` decides.

- no strategy (single task) or ``Need.LOSSES``: back-propagate the (combined) loss.
- ``Need.PARAM_JACOBIAN``: one ``autograd.grad`` per task over the shared and head parameters gives
  ``J [T, P]``; the strategy aggregates the shared columns; each head keeps its own task's gradient.
- ``Need.REPR_JACOBIAN``: the same w.r.t. the shared representation (trunk output, MGDA-UB style, Sener &
  Koltun 2018); the aggregate is back-propagated from the representation into the shared parameters.
The alignment loss (weighted by ``align_weight``) is always added to the shared gradient unchanged.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from mmbench.components.base import Need, Weighting
from mmbench.train.model import CellModel, Forward


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss; the cell is stored as failed with this message."""


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


def backward(model: CellModel, fwd: Forward, losses: Tensor, weighting: Weighting | None, align_weight: float = 1.0) -> int:
    """Fill ``.grad`` for one step; returns the number of backward passes made."""
    align = fwd.align_loss * align_weight if fwd.align_loss is not None else None
    shared = model.shared_parameters() if weighting is not None and weighting.need is not Need.LOSSES else []
    if not shared:  # single task, a loss-only strategy, or nothing shared to aggregate over
        total = weighting.combine(losses) if weighting is not None and weighting.need is Need.LOSSES else losses.sum()
        (total + align if align is not None else total).backward()
        return 1
    if weighting.need is Need.PARAM_JACOBIAN:
        heads = model.task_parameters()
        jac = _jacobian(losses, shared + heads)  # one pass per task; head columns give the heads' gradients
        n_shared = sum(p.numel() for p in shared)
        direction = weighting.aggregate(jac[:, :n_shared], losses.detach())
        for p, g in zip(shared + heads, _split(torch.cat([direction, jac[:, n_shared:].sum(dim=0)]), shared + heads)):
            p.grad = g.clone()
        if align is not None:
            for p, g in zip(shared, torch.autograd.grad(align, shared, allow_unused=True)):
                if g is not None:
                    p.grad += g
        return losses.shape[0] + (align is not None)
    reps = fwd.representation
    jac = _jacobian(losses, reps)
    direction = weighting.aggregate(jac, losses.detach())
    heads = model.task_parameters()
    head_grads = torch.autograd.grad(losses.sum(), heads, retain_graph=True, allow_unused=True)
    for p, g in zip(heads, head_grads):
        if g is not None:
            p.grad = g if p.grad is None else p.grad + g
    roots, grads = list(reps), _split(direction, reps)
    if align is not None:
        roots.append(align)
        grads.append(torch.ones_like(align))
    torch.autograd.backward(roots, grads)
    return losses.shape[0] + 2
