"""Shared base of the gradient strategies: which Jacobian they ask the trainer for."""

from __future__ import annotations

from typing import Literal

from mmbench.components.base import Need, Weighting

Wrt = Literal["params", "representation"]

_NEEDS: dict[str, Need] = {"params": Need.PARAM_JACOBIAN, "representation": Need.REPR_JACOBIAN}


def need_for(wrt: str) -> Need:
    """The :class:`Need` for ``wrt="params"`` (Jacobian w.r.t. shared parameters) or ``"representation"``."""
    try:
        return _NEEDS[wrt]
    except KeyError:
        raise ValueError(f"wrt must be 'params' or 'representation', not {wrt!r}") from None


class JacobianWeighting(Weighting):
    """A strategy that aggregates the per-task Jacobian ``[T, N]`` into one direction ``[N]``.

    ``wrt="params"`` (default) asks for the Jacobian w.r.t. the shared parameters; ``wrt="representation"``
    asks for the cheaper Jacobian w.r.t. the shared representation (the "upper bound" trick of
    Sener & Koltun 2018, NeurIPS), which sets ``need`` on the instance.
    """

    need = Need.PARAM_JACOBIAN

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params"):
        super().__init__(n_tasks, seed)
        self.wrt = wrt
        self.need = need_for(wrt)  # per-instance override of the class default
