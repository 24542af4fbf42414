"""Contract check for loss-weighting strategies."""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import Tensor

from mmbench.components.base import JacobianAggregator, JacobianWeighting, Need, Weighting
from mmbench.components.checks import weighting_need_problem
from mmbench.testing.common import ContractError, check_parameters_registered, fail


def _loss_step(w: Weighting, losses: Tensor) -> Tensor:
    leaf = losses.clone().requires_grad_(True)
    out = w.combine(leaf)
    value = float(out.detach()) if isinstance(out, Tensor) and out.numel() == 1 else out
    if isinstance(value, (int, float)) and not math.isfinite(value):  # said first: a NaN is the bug, not its type
        fail(w, f"combine returned a non-finite objective ({value}) for finite losses {losses.tolist()}",
             "Check the strategy's divisions, logs and normalisations; the trainer fails such a cell, and the checks "
             "before training refuse the grid, blaming the strategy.")
    if not isinstance(out, Tensor) or out.dim() != 0:
        fail(w, f"combine returned {type(out).__name__} {tuple(getattr(out, 'shape', ()))}, not a 0-dim tensor",
             "Return the scalar objective, built from the losses tensor, to back-propagate.")
    out.backward()
    if leaf.grad is None or not torch.isfinite(leaf.grad).all():
        fail(w, "combine's result does not depend on the losses", "Build it from the loss tensor.")
    return leaf.grad.detach().clone()


def _step(w: Weighting, losses: Tensor, jac: Tensor) -> Tensor:
    """One step as the trainer takes it; returns the gradient w.r.t. the losses (loss-only) or the update."""
    if w.need is Need.LOSSES:
        result = _loss_step(w, losses)
    elif isinstance(w, JacobianWeighting):
        weights = w.weigh(jac, losses)
        if not torch.isfinite(weights).all():
            fail(w, f"jacobian_weights returned non-finite weights {weights.tolist()} for finite inputs",
                 "Check the strategy's divisions, logs and normalisations.")
        result = weights.to(jac) @ jac
    else:
        assert isinstance(w, JacobianAggregator)  # weighting_need_problem has ruled out anything else
        result = w.aggregate(jac, losses)
        if tuple(result.shape) != (jac.shape[1],) or not torch.isfinite(result).all():
            fail(w, f"aggregate returned {tuple(result.shape)}, expected a finite [{jac.shape[1]}]", "Return one update.")
        result = result.detach().clone()
    if w.wants_post_step_losses:
        w.after_step(losses * 0.9)
    if w.last_weights is None:
        if not isinstance(w, JacobianAggregator):
            fail(w, "last_weights is None", "Only a JacobianAggregator (not a weighted method) may leave it None.")
        return result
    weights = torch.as_tensor(w.last_weights)
    if tuple(weights.shape) != (w.n_tasks,):
        fail(w, f"last_weights has shape {tuple(weights.shape)}, expected [{w.n_tasks}] (one weight per task)",
             "Record the weight applied to each task at the last step.")
    if not torch.isfinite(weights).all():
        fail(w, f"last_weights holds non-finite values {weights.tolist()} for finite losses {losses.tolist()}",
             "Check the strategy's divisions, logs and normalisations; the trainer fails such a cell and blames the strategy.")
    if w.need is Need.LOSSES and not torch.allclose(weights.to(result), result, rtol=1e-4, atol=1e-6 * float(result.abs().max())):
        fail(w, f"last_weights {weights.tolist()} are not the factors combine applied to the losses, "
                f"d objective / d L_t = {result.tolist()}",
             "Set self.last_weights in combine to the gradient of the objective w.r.t. each task loss "
             "(the default ones fit only the plain sum).")
    return result


def check_weighting(factory: Callable[..., Weighting], n_tasks: int = 3, n_params: int = 7, steps: int = 4,
                    declared_need: str | None = None, **options: Any) -> None:
    """Check a weighting factory over a few steps with fixed losses and Jacobians.

    Checks the declared need (and that the class implements what it calls: ``combine`` for losses,
    ``jacobian_weights`` / ``gramian_weights`` / ``aggregate`` for Jacobians; ``declared_need``, the
    registration's optional ``need``, must match the class), output shapes and finite results (said in
    words when they are not), recorded weights — a loss-only strategy's ``last_weights`` must equal the
    factors its objective applied, ``∂objective/∂L_t`` — registered parameters, ``end_epoch``, and that
    ``reset(seed)`` makes a rerun reproduce the same sequence exactly.
    """
    w = factory(n_tasks, seed=0, **options)
    if not isinstance(w, Weighting):
        raise ContractError(f"{factory!r} returned {type(w).__name__}, not an mmbench Weighting")
    if not isinstance(w.need, Need):
        fail(w, f"need is {w.need!r}", "Declare need as an mmbench.Need member.")
    problem = weighting_need_problem(w, declared_need)
    if problem:
        raise ContractError(f"{type(w).__name__}: {problem}")
    check_parameters_registered(w)
    g = torch.Generator().manual_seed(1)
    losses_seq = [torch.rand(n_tasks, generator=g) + 0.5 for _ in range(steps)]
    jac_seq = [torch.randn(n_tasks, n_params, generator=g) for _ in range(steps)]

    def run() -> list[Tensor]:
        outs = []
        for i, (losses, jac) in enumerate(zip(losses_seq, jac_seq)):
            outs.append(_step(w, losses, jac))
            if i == steps // 2:
                w.end_epoch(losses)
        return outs

    params0 = {k: v.detach().clone() for k, v in w.state_dict().items()}
    first = run()
    w.reset(0)
    w.load_state_dict(params0)
    second = run()
    for a, b in zip(first, second):
        if not torch.allclose(a, b, atol=1e-6):
            raise ContractError(f"{type(w).__name__}: reset(seed) does not reproduce the same updates; "
                                "clear all state in reset and draw randomness from self.generator.")
