"""Removed: the gradient-strategy base classes are public now (``from mmbench import JacobianWeighting``)."""

raise ImportError(
    "mmbench.components.weightings._jacobian was removed: use `from mmbench import JacobianWeighting` (also "
    "GramianWeighting, JacobianAggregator, and `from mmbench.components.base import Wrt, need_for`). A "
    "JacobianWeighting now implements weights(jacobian, losses) -> [T] task weights instead of aggregate(...) -> "
    "direction; see docs/plugins.md")
