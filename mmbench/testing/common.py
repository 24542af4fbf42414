"""Checks shared by every kind's contract (see :mod:`mmbench.testing`)."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor, nn


class ContractError(AssertionError):
    """A component breaks the mmbench component contract; the message says which rule and how to fix it."""


def fail(component: Any, rule: str, fix: str) -> None:
    raise ContractError(f"{type(component).__name__}: {rule}. {fix}")


def check_parameters_registered(module: nn.Module) -> None:
    """Fail when a parameter, sub-module or trainable tensor hides in a plain list, tuple or dict.

    Such tensors do not appear in ``parameters()``, are never optimised and do not move with ``.to()``.
    """
    for owner_name, owner in module.named_modules():
        for attr, value in vars(owner).items():
            if attr.startswith("_") or not isinstance(value, (list, tuple, dict)):
                continue
            items = value.values() if isinstance(value, dict) else value
            for item in items:
                hidden = isinstance(item, (nn.Parameter, nn.Module)) or (
                    isinstance(item, Tensor) and item.requires_grad
                )
                if hidden:
                    where = f"{owner_name}.{attr}" if owner_name else attr
                    fail(module, f"attribute {where!r} keeps a parameter or module in a plain {type(value).__name__}",
                         "Use nn.ParameterList / nn.ModuleList / nn.ModuleDict so it is registered, trained and moved.")


def check_gradients_flow(module: nn.Module, loss: Tensor, allow_unused: tuple[str, ...] = ()) -> None:
    """Fail when a trainable parameter gets no gradient from ``loss`` (a branch the forward never uses)."""
    module.zero_grad(set_to_none=True)
    loss.backward()
    for name, param in module.named_parameters():
        if not param.requires_grad or any(name.startswith(p) for p in allow_unused):
            continue
        if param.grad is None:
            fail(module, f"parameter {name!r} receives no gradient", "Check that forward uses it, or freeze it.")
        if not torch.isfinite(param.grad).all():
            fail(module, f"parameter {name!r} has a non-finite gradient", "Check the forward for divisions or logs of zero.")


def check_dtype_move(module: nn.Module, run: Callable[[nn.Module, torch.dtype], Any]) -> None:
    """Move to float64 and run; a tensor kept outside the module's buffers breaks with a dtype mismatch.

    Stands in for a device move on CPU-only machines (``check_device_move`` does the real thing on CUDA).
    """
    module.to(torch.float64)
    try:
        run(module, torch.float64)
    except RuntimeError as exc:
        fail(module, f"does not follow .to(torch.float64): {exc}",
             "Register constant tensors with register_buffer so they move with the module.")
    finally:
        module.to(torch.float32)


def check_device_move(module: nn.Module, run: Callable[[nn.Module, torch.device], Any]) -> None:
    """Move to CUDA (when present) and run there; every parameter and buffer must follow."""
    if not torch.cuda.is_available():
        return
    device = torch.device("cuda")
    module.to(device)
    try:
        for name, tensor in list(module.named_parameters()) + list(module.named_buffers()):
            if tensor.device.type != "cuda":
                fail(module, f"tensor {name!r} stayed on {tensor.device}", "Register it as a parameter or buffer.")
        run(module, device)
    finally:
        module.to("cpu")


def check_deterministic(build_and_run: Callable[[int], Tensor], what: str) -> None:
    """Two builds and runs under the same seed must agree exactly; different seeds may differ."""
    first, second = build_and_run(0), build_and_run(0)
    if not torch.equal(first, second):
        raise ContractError(f"{what}: two runs under the same seed differ; draw randomness from torch under the seed.")
