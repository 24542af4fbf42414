"""Contract check for multitask architectures (call it from a plugin's own tests)."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import Tensor, nn

from mmbench.components.base import Architecture, ArchitectureOutput
from mmbench.testing.common import (
    ContractError,
    check_deterministic,
    check_device_move,
    check_dtype_move,
    check_gradients_flow,
    check_parameters_registered,
    fail,
)

DEFAULT_TASK_SETS: tuple[tuple[str, ...], ...] = (("a", "b", "c"), ("only",))


def _input(batch: int, in_dim: int, dtype: torch.dtype = torch.float32) -> Tensor:
    return torch.randn(batch, in_dim, generator=torch.Generator().manual_seed(0)).to(dtype)


def _task_losses(out: ArchitectureOutput, tasks: Sequence[str]) -> list[Tensor]:
    """A fixed random linear functional of each task's representation (a stand-in for head + loss)."""
    g = torch.Generator().manual_seed(1)
    return [(out.tasks[t] * torch.randn(out.tasks[t].shape, generator=g).to(out.tasks[t])).sum() for t in tasks]


def _reached(grad: Tensor | None) -> bool:
    return grad is not None and bool(grad.abs().sum() > 0)


def _check_output(arch: Architecture, out: Any, tasks: Sequence[str], batch: int) -> None:
    if not isinstance(out, ArchitectureOutput):
        fail(arch, f"forward returned {type(out).__name__}", "Return mmbench.components.base.ArchitectureOutput.")
    if list(out.tasks) != list(tasks):
        fail(arch, f"returned representations for {list(out.tasks)}, expected exactly {list(tasks)}",
             "Return one representation per task given to the factory, in that order.")
    for t, rep in out.tasks.items():
        if tuple(rep.shape) != (batch, arch.out_dim):
            fail(arch, f"task {t!r} has shape {tuple(rep.shape)}, expected {(batch, arch.out_dim)}",
                 "Set out_dim to the width of every task's representation.")
    if arch.has_shared_representation != (out.shared is not None):
        fail(arch, f"has_shared_representation is {arch.has_shared_representation} but forward returned "
                   f"shared={'a tensor' if out.shared is not None else 'None'}",
             "Return shared exactly when the class declares has_shared_representation = True.")
    if out.shared is not None and (out.shared.dim() != 2 or out.shared.shape[0] != batch):
        fail(arch, f"shared has shape {tuple(out.shared.shape)}, expected [{batch}, D]", "Return the [B, D] tensor.")


def _check_split(arch: Architecture, tasks: Sequence[str]) -> dict[int, str | None]:
    """Each parameter in exactly one group: ``{id: task}`` (``None`` for shared)."""
    names = {id(p): n for n, p in arch.named_parameters()}
    owner: dict[int, str | None] = {}
    groups: list[tuple[str | None, list[nn.Parameter]]] = [(None, arch.shared_parameters())]
    groups += [(t, arch.task_parameters(t)) for t in tasks]
    for group, params in groups:
        label = "shared_parameters()" if group is None else f"task_parameters({group!r})"
        for p in params:
            if id(p) not in names:
                fail(arch, f"{label} returns a tensor that is not one of the module's parameters",
                     "Return parameters registered on the architecture (self.parameters()).")
            if id(p) in owner:
                other = "shared_parameters()" if owner[id(p)] is None else f"task_parameters({owner[id(p)]!r})"
                fail(arch, f"parameter {names[id(p)]!r} is in both {other} and {label}",
                     "Declare each parameter once: shared, or one task's own.")
            owner[id(p)] = group
    for pid, name in names.items():
        if pid not in owner:
            fail(arch, f"parameter {name!r} is in neither shared_parameters() nor any task_parameters(t)",
                 "Keep the default shared_parameters() (everything not task-owned), or return it from one group.")
    return owner


def _check_gradients(arch: Architecture, x: Tensor, tasks: Sequence[str], owner: dict[int, str | None]) -> None:
    check_gradients_flow(arch, sum(_task_losses(arch(x), tasks)))  # every parameter, from the sum of losses
    params = [(n, p) for n, p in arch.named_parameters() if p.requires_grad]  # frozen ones are the author's choice
    losses = _task_losses(arch(x), tasks)
    per_task = [torch.autograd.grad(loss, [p for _, p in params], retain_graph=True, allow_unused=True) for loss in losses]
    for i, (name, p) in enumerate(params):
        reached_by = [t for t, grads in zip(tasks, per_task) if _reached(grads[i])]
        if not reached_by:
            fail(arch, f"parameter {name!r} receives no (or an all-zero) gradient from the task losses",
                 "Every expert and gate must feed some task's representation; drop or freeze unused ones.")
        own = owner[id(p)]
        if own is not None and reached_by != [own]:
            fail(arch, f"parameter {name!r} is declared task_parameters({own!r}) but the losses of "
                       f"{[t for t in reached_by if t != own]} reach it",
                 "Declare it shared (leave it out of task_parameters), or keep it on that task's path only.")
        if own is None and len(tasks) > 1 and len(reached_by) == 1:
            fail(arch, f"parameter {name!r} is shared but only the loss of task {reached_by[0]!r} reaches it",
                 f"Return it from task_parameters({reached_by[0]!r}) so gradient strategies treat it as that task's.")


def _check_shared_representation(arch: Architecture, x: Tensor, tasks: Sequence[str], owner: dict[int, str | None]) -> None:
    """Task representations must depend on the input and the shared parameters only through ``shared``,
    and ``shared`` on no task's parameters (what ``wrt="representation"`` strategies rely on)."""
    x = x.clone().requires_grad_(True)
    out = arch(x)
    assert out.shared is not None
    total = sum(_task_losses(out, tasks))
    (g_shared,) = torch.autograd.grad(total, out.shared, retain_graph=True, allow_unused=True)
    if g_shared is None:
        fail(arch, "the task representations are not computed from the returned shared tensor",
             "Return as shared the tensor the task-specific layers read.")
    shared = [(n, p) for n, p in arch.named_parameters() if owner[id(p)] is None and p.requires_grad]
    wrt = [x] + [p for _, p in shared]
    direct = torch.autograd.grad(total, wrt, retain_graph=True, allow_unused=True)
    via = torch.autograd.grad(out.shared, wrt, grad_outputs=g_shared, retain_graph=True, allow_unused=True)
    names = ["the input"] + [f"parameter {n!r}" for n, _ in shared]
    for name, d, v in zip(names, direct, via):
        d = torch.zeros((), dtype=torch.float64) if d is None else d
        v = torch.zeros((), dtype=torch.float64) if v is None else v
        if not torch.allclose(d, v, rtol=1e-6, atol=1e-9):
            fail(arch, f"the task representations depend on {name} other than through shared "
                       "(a skip connection, or a shared layer after the shared tensor)",
                 "Return as shared the last tensor before the task-specific layers, or set "
                 "has_shared_representation = False.")
    task_params = [p for p in arch.parameters() if owner[id(p)] is not None and p.requires_grad]
    if task_params:
        back = torch.autograd.grad(out.shared, task_params, grad_outputs=torch.ones_like(out.shared), allow_unused=True)
        if any(_reached(g) for g in back):
            fail(arch, "shared depends on task-specific parameters",
                 "Only shared parameters may lie before the shared representation.")


def _check_one(factory: Callable[..., Architecture], in_dim: int, tasks: Sequence[str], width: int, batch: int,
               options: dict[str, Any]) -> None:
    torch.manual_seed(0)
    arch = factory(in_dim, list(tasks), width, **options)
    if not isinstance(arch, Architecture):
        raise ContractError(f"{factory!r} returned {type(arch).__name__}, not an mmbench Architecture")
    check_parameters_registered(arch)
    if not isinstance(getattr(arch, "out_dim", None), int) or arch.out_dim < 1:
        fail(arch, f"out_dim is {getattr(arch, 'out_dim', None)!r}", "Set out_dim to a positive int in __init__.")
    if arch.task_names != list(tasks):
        fail(arch, f"task_names is {arch.task_names}, expected {list(tasks)}", "Call super().__init__(tasks).")
    x = _input(batch, in_dim)
    _check_output(arch, arch(x), tasks, batch)
    owner = _check_split(arch, tasks)
    if any(p.requires_grad for p in arch.parameters()):
        _check_gradients(arch, x, tasks, owner)
    check_dtype_move(arch, lambda mod, dt: _check_output(mod, mod(_input(batch, in_dim, dt)), tasks, batch))
    check_device_move(arch, lambda mod, dev: _check_output(mod, mod(x.to(dev)), tasks, batch))
    if arch.has_shared_representation:  # in float64, so the two chain-rule paths compare tightly
        _check_shared_representation(arch.to(torch.float64), x.to(torch.float64), tasks, owner)
        arch.to(torch.float32)

    def run(seed: int) -> Tensor:
        torch.manual_seed(seed)
        with torch.no_grad():
            out = factory(in_dim, list(tasks), width, **options).eval()(x)
        return torch.cat([out.tasks[t] for t in tasks] + ([out.shared] if out.shared is not None else []), dim=1)

    check_deterministic(run, f"architecture {type(arch).__name__}")


def check_architecture(factory: Callable[..., Architecture], in_dim: int = 10, tasks: Sequence[str] | None = None,
                       width: int = 8, batch: int = 6, **options: Any) -> None:
    """Check an architecture factory ``factory(in_dim, tasks, width, **options)``.

    Checks: an :class:`Architecture` with a positive ``out_dim``; ``[B, out_dim]`` for exactly the tasks
    given; registered parameters that follow ``.to()`` (float64; CUDA when present); every parameter in
    exactly one of ``shared_parameters()`` / ``task_parameters(t)``; a gradient from the task losses
    reaching every parameter (every expert and gate), a task's own parameters reached by its loss only
    and a shared one by more than one; ``shared`` returned iff ``has_shared_representation``, and then
    the only path from the input and shared parameters to the task representations; determinism under a
    seed. Without ``tasks`` it runs with three tasks and with one.
    """
    for task_set in ([tuple(tasks)] if tasks else DEFAULT_TASK_SETS):
        _check_one(factory, in_dim, task_set, width, batch, dict(options))


__all__ = ["check_architecture"]
