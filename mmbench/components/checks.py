"""Checks of a built component against its contract that need no data: used by the grid before any
training (:mod:`mmbench.grid.preflight`) and by the contract checks in :mod:`mmbench.testing`."""

from __future__ import annotations

from typing import Any

from mmbench.components.base import Need, Weighting


def weighting_need_problem(weighting: Any, declared: str | None = None) -> str | None:
    """What is wrong with a weighting's ``need`` (``None``: nothing).

    The instance's ``need`` is what the trainer serves (a ``wrt`` option may change it per instance); the
    ``need`` given in the registration metadata (``declared``) must equal the class's default, and the
    class must implement the method its need calls: ``combine`` for losses, ``aggregate`` for Jacobians.
    """
    if not isinstance(weighting, Weighting):
        return f"the factory returned {type(weighting).__name__}, not an mmbench.components.base.Weighting"
    cls = type(weighting)
    need = getattr(weighting, "need", None)
    if not isinstance(need, Need):
        return f"need is {need!r}; declare it as a Need member (Need.LOSSES, Need.PARAM_JACOBIAN, Need.REPR_JACOBIAN)"
    default = getattr(cls, "need", None)
    if declared is not None and isinstance(default, Need) and declared != default.value:
        return (f"its registration metadata says need={declared!r} but the class {cls.__name__} declares "
                f"need = Need.{default.name} ({default.value!r}); the class attribute is what the trainer uses — make "
                "the two agree (or drop need= from register())")
    if need is Need.LOSSES and cls.combine is Weighting.combine:
        return f"{cls.__name__} has need = Need.LOSSES but does not implement combine(losses) -> scalar objective"
    if need is not Need.LOSSES and cls.aggregate is Weighting.aggregate:
        return (f"{cls.__name__} has need = Need.{need.name} but does not implement aggregate(jacobian, losses) -> "
                "direction; implement it, or set need = Need.LOSSES and implement combine(losses)")
    return None
