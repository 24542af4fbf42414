"""Checks of a built component against its contract that need no data: used by the grid before any
training (:mod:`mmbench.grid.preflight`) and by the contract checks in :mod:`mmbench.testing`."""

from __future__ import annotations

from typing import Any

from mmbench.components.base import GramianWeighting, JacobianAggregator, JacobianWeighting, Need, Weighting


def weighting_need_problem(weighting: Any, declared: str | None = None) -> str | None:
    """What is wrong with a weighting's ``need`` (``None``: nothing).

    The class attribute ``need`` is the declaration (the instance's value is what the trainer serves; a
    ``wrt`` option may change it per instance). ``declared`` — the registration's optional ``need=`` — must
    equal the class's. The class must implement what its need calls: ``combine`` for losses; for a
    Jacobian, ``jacobian_weights`` (:class:`JacobianWeighting`), ``gramian_weights``
    (:class:`GramianWeighting`) or ``aggregate`` (:class:`JacobianAggregator`).
    """
    if not isinstance(weighting, Weighting):
        return f"the factory returned {type(weighting).__name__}, not an mmbench.Weighting"
    cls = type(weighting)
    need = getattr(weighting, "need", None)
    if not isinstance(need, Need):
        return f"need is {need!r}; declare it as a Need member (Need.LOSSES, Need.PARAM_JACOBIAN, Need.REPR_JACOBIAN)"
    default = getattr(cls, "need", None)
    if declared is not None and isinstance(default, Need) and declared != default.value:
        return (f"its registration metadata says need={declared!r} but the class {cls.__name__} declares "
                f"need = Need.{default.name} ({default.value!r}); the class attribute is what the trainer uses — drop "
                "need= from register() (or make the two agree)")
    if need is Need.LOSSES:
        if cls.combine is Weighting.combine:
            return f"{cls.__name__} has need = Need.LOSSES but does not implement combine(losses) -> scalar objective"
        return None
    if isinstance(weighting, GramianWeighting):
        if cls.jacobian_weights is GramianWeighting.jacobian_weights and cls.gramian_weights is GramianWeighting.gramian_weights:
            return f"{cls.__name__} is a GramianWeighting but does not implement gramian_weights(gramian, losses) -> [T]"
    elif isinstance(weighting, JacobianWeighting):
        if cls.jacobian_weights is JacobianWeighting.jacobian_weights:
            return f"{cls.__name__} is a JacobianWeighting but does not implement jacobian_weights(jacobian, losses) -> [T]"
    elif isinstance(weighting, JacobianAggregator):
        if cls.aggregate is JacobianAggregator.aggregate:
            return f"{cls.__name__} is a JacobianAggregator but does not implement aggregate(jacobian, losses) -> [N]"
    else:
        return (f"{cls.__name__} has need = Need.{need.name} but does not implement aggregate(jacobian, losses) nor "
                "jacobian_weights(jacobian, losses): a gradient strategy subclasses mmbench.JacobianWeighting (task "
                "weights [T], the trainer applies w @ J) or mmbench.JacobianAggregator (an update [N] that is not a "
                "weighting); or set need = Need.LOSSES and implement combine(losses)")
    return None
