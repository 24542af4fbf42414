"""Contract check for loss-weighting strategies."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from mmbench.components.base import Need, Weighting
from mmbench.components.checks import weighting_need_problem
from mmbench.testing.common import ContractError, check_parameters_registered, fail


def _step(w: Weighting, losses: Tensor, jac: Tensor) -> Tensor:
    if w.need is Need.LOSSES:
        leaf = losses.clone().requires_grad_(True)
        out = w.combine(leaf)
        if out.dim() != 0 or not torch.isfinite(out):
            fail(w, "combine did not return a finite scalar", "Return the scalar objective to back-propagate.")
        out.backward()
        if leaf.grad is None or not torch.isfinite(leaf.grad).all():
            fail(w, "combine's result does not depend on the losses", "Build it from the loss tensor.")
        result = leaf.grad.detach().clone()
    else:
        result = w.aggregate(jac, losses)
        if tuple(result.shape) != (jac.shape[1],) or not torch.isfinite(result).all():
            fail(w, f"aggregate returned {tuple(result.shape)}, expected a finite [{jac.shape[1]}]", "Return one direction.")
        result = result.detach().clone()
    if w.wants_post_step_losses:
        w.after_step(losses * 0.9)
    weights = torch.as_tensor(w.last_weights)
    if tuple(weights.shape) != (w.n_tasks,):
        fail(w, f"last_weights has shape {tuple(weights.shape)}, expected [{w.n_tasks}] (one weight per task)",
             "Record the weight applied to each task at the last step.")
    if not torch.isfinite(weights).all():
        fail(w, f"last_weights holds non-finite values {weights.tolist()} for finite losses {losses.tolist()}",
             "Check the strategy's divisions, logs and normalisations; the trainer fails such a cell and blames the strategy.")
    return result


def check_weighting(factory: Callable[..., Weighting], n_tasks: int = 3, n_params: int = 7, steps: int = 4,
                    declared_need: str | None = None, **options: Any) -> None:
    """Check a weighting factory over a few steps with fixed losses and Jacobians.

    Checks the declared need (and that the class implements it: ``combine`` for losses, ``aggregate``
    for Jacobians; ``declared_need``, the registration metadata's ``need``, must match the class),
    output shapes, finite results and recorded weights (said in words when they are not), registered
    parameters, ``end_epoch``, and that ``reset(seed)`` makes a rerun reproduce the same sequence exactly.
    """
    w = factory(n_tasks, seed=0, **options)
    if not isinstance(w, Weighting):
        raise ContractError(f"{factory!r} returned {type(w).__name__}, not an mmbench Weighting")
    if not isinstance(w.need, Need):
        fail(w, f"need is {w.need!r}", "Declare need as an mmbench.components.base.Need member.")
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
