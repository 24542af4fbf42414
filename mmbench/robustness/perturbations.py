"""The perturbation contract: ``perturbation(values, level, generator) -> values`` on *decoded* values.

Decoded values are what :class:`~mmbench.data.spec.Split` holds: images ``float [N, C, H, W]`` in
``[0, 1]``, tabular ``float [N, F]``, text ``list[str]`` (audio ``float [N, T]``). A perturbation

- keeps the type, shape, dtype and length of its input and never modifies it in place;
- returns its input unchanged at ``level == 0``; ``level`` lies in ``[0, 1]``;
- draws every random number from ``generator`` (a CPU :class:`torch.Generator`), so equal seeds give
  equal outputs;
- names its function in :meth:`Perturbation.fingerprint` (perturbed frozen features are cached under it).

Plugins subclass :class:`Perturbation` and implement :meth:`Perturbation.apply`, then register the class
through ``mmbench_register_perturbations`` with ``modality="image"|"text"|"tabular"``
(``factory(**options) -> Perturbation``). :func:`check_perturbation` checks the contract.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Sequence

import torch
from torch import Tensor

Values = Any  # Tensor (image, tabular, audio) or list[str] (text)


class Perturbation:
    """Base class: validates ``level``, short-circuits ``level == 0``, and delegates to :meth:`apply`.

    Subclasses set ``modality`` (the modality kind they apply to), keep their options as attributes (they
    enter the fingerprint) and bump ``version`` whenever their output for the same inputs changes.
    """

    modality: ClassVar[str] = ""
    version: ClassVar[int] = 1

    def __call__(self, values: Values, level: float, generator: torch.Generator) -> Values:
        level = float(level)
        if not 0.0 <= level <= 1.0:
            raise ValueError(f"{type(self).__name__}: level must lie in [0, 1], got {level}")
        if level == 0.0:
            return values
        return self.apply(values, level, generator)

    def apply(self, values: Values, level: float, generator: torch.Generator) -> Values:  # pragma: no cover - abstract
        """Perturb ``values`` at ``0 < level <= 1`` with randomness from ``generator``."""
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        """The options this perturbation was built with (its public attributes)."""
        return {k: v for k, v in sorted(vars(self).items()) if not k.startswith("_")}

    def fingerprint(self) -> str:
        """A stable identity of the function: class, version and options."""
        cls = type(self)
        return f"{cls.__module__}.{cls.__qualname__}:v{cls.version}:" + json.dumps(self.options(), sort_keys=True, default=str)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({opts})"


def as_float_tensor(values: Values, what: str, dims: int) -> Tensor:
    """``values`` as a floating tensor with ``dims`` dimensions, or a clear error."""
    if not isinstance(values, Tensor):
        raise TypeError(f"{what}: expected a tensor, got {type(values).__name__}")
    if values.dim() != dims or not values.is_floating_point():
        raise ValueError(f"{what}: expected a float tensor with {dims} dimensions, got {values.dtype} {tuple(values.shape)}")
    return values


def as_texts(values: Values, what: str) -> list[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not all(isinstance(v, str) for v in values):
        raise TypeError(f"{what}: expected a list of str")
    return list(values)


def _same_kind(a: Values, b: Values) -> bool:
    if isinstance(a, Tensor):
        return isinstance(b, Tensor) and a.shape == b.shape and a.dtype == b.dtype
    return isinstance(b, list) and len(a) == len(b) and all(isinstance(v, str) for v in b)


def _equal(a: Values, b: Values) -> bool:
    if isinstance(a, Tensor):
        return torch.equal(torch.nan_to_num(a, nan=-1e30), torch.nan_to_num(b, nan=-1e30))
    return list(a) == list(b)


def _copy(values: Values) -> Values:
    return values.clone() if isinstance(values, Tensor) else list(values)


def check_perturbation(perturbation: Perturbation, values: Values, levels: Sequence[float] = (0.3, 0.9), seed: int = 0) -> None:
    """Check the contract on example ``values``: level 0 is the identity, outputs keep type and shape,
    the input is untouched, equal seeds give equal outputs, and the fingerprint is a non-empty string.
    Raises ``AssertionError`` naming what failed."""
    name = type(perturbation).__name__
    before = _copy(values)
    assert _equal(perturbation(values, 0.0, torch.Generator().manual_seed(seed)), values), f"{name}: level 0 is not the identity"
    for level in levels:
        out = perturbation(values, level, torch.Generator().manual_seed(seed))
        again = perturbation(values, level, torch.Generator().manual_seed(seed))
        assert _same_kind(values, out), f"{name}: level {level} changed the type, shape or dtype"
        assert _equal(out, again), f"{name}: level {level} is not deterministic under a seed"
        assert _equal(values, before), f"{name}: level {level} modified its input in place"
    fp = perturbation.fingerprint()
    assert isinstance(fp, str) and fp, f"{name}: fingerprint() must be a non-empty string"


__all__ = ["Perturbation", "Values", "as_float_tensor", "as_texts", "check_perturbation"]
