"""Built-in multitask architectures, registered through ``mmbench_register_architectures`` like any plugin's.

Every factory is ``factory(in_dim: int, tasks: Sequence[str], width: int, **options) -> Architecture``;
see ``docs/components/architectures.md``.
"""

from __future__ import annotations

from typing import Any

from mmbench import hookimpl
from mmbench.plugins.registry import lazy

_PKG = "mmbench.components.architectures"


@hookimpl
def mmbench_register_architectures(register: Any) -> None:
    register("hps", lazy(f"{_PKG}.hps:HardSharing"),
             description="hard parameter sharing: one shared trunk (Linear+ReLU), one head per task",
             reference="Caruana 1997, Machine Learning")
