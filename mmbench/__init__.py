"""mmbench: fair, cheap benchmarking of cross-modal fusion, alignment and multitask loss weighting.

The plugin author's API is flat: ``from mmbench import Fuser, JacobianWeighting, hookimpl, lazy``. Importing
:mod:`mmbench` stays cheap — each name below loads its module (and torch) on first access, so
``mmbench --help`` imports neither. Plugins use :data:`hookimpl` to implement the hooks in
:mod:`mmbench.hookspecs`.
"""

from __future__ import annotations

import importlib
from typing import Any

import pluggy

__version__ = "0.3.0"

#: Marker for plugin hook implementations: ``@mmbench.hookimpl def mmbench_register_fusers(register): ...``
hookimpl = pluggy.HookimplMarker("mmbench")

#: the public names and the module each lives in (imported on first access; the modules are their homes)
_LAZY: dict[str, str] = {
    **dict.fromkeys(["Register"], "mmbench.hookspecs"),
    **dict.fromkeys(["lazy"], "mmbench.plugins.registry"),
    **dict.fromkeys(["Encoder", "ModalityInfo", "Aligner", "AlignerOutput", "Fuser", "Architecture", "ArchitectureOutput",
                     "Need", "Weighting", "JacobianWeighting", "GramianWeighting", "JacobianAggregator"],
                    "mmbench.components.base"),
    **dict.fromkeys(["DatasetSpec", "ModalitySpec", "TaskSpec"], "mmbench.data.spec"),
    **dict.fromkeys(["Perturbation"], "mmbench.robustness.perturbations"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mmbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["__version__", "hookimpl", *_LAZY]
