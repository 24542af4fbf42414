"""Encoder inputs as the harness handles them: a tensor, or a dict of tensors (token ids and masks), with
``N`` rows — sliced into batches, counted and moved to the device the same way."""

from __future__ import annotations

import torch
from torch import Tensor

from mmbench.components.base import EncoderInputs


def take(inputs: EncoderInputs, index: Tensor | slice) -> EncoderInputs:
    """Rows ``index`` of encoder inputs (a tensor or a dict of tensors)."""
    if isinstance(inputs, dict):
        return {k: v[index] for k, v in inputs.items()}
    return inputs[index]


def to_device(inputs: EncoderInputs, device: torch.device | str) -> EncoderInputs:
    """Move encoder inputs (a tensor or a dict of tensors) to ``device``."""
    if isinstance(inputs, dict):
        return {k: v.to(device) for k, v in inputs.items()}
    return inputs.to(device)


def num_rows(inputs: EncoderInputs) -> int:
    """The number of rows of encoder inputs (a tensor or a dict of tensors)."""
    if isinstance(inputs, dict):
        return len(next(iter(inputs.values())))
    return len(inputs)


__all__ = ["num_rows", "take", "to_device"]
