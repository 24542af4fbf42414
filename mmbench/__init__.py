"""mmbench: fair, cheap benchmarking of cross-modal fusion, alignment and multitask loss weighting.

Importing :mod:`mmbench` is cheap: torch, timm and friends load only when a component is built.
Plugins use :data:`hookimpl` to implement the hooks in :mod:`mmbench.hookspecs`.
"""

from __future__ import annotations

import pluggy

__version__ = "0.2.0"

#: Marker for plugin hook implementations: ``@mmbench.hookimpl def mmbench_register_fusers(register): ...``
hookimpl = pluggy.HookimplMarker("mmbench")

__all__ = ["__version__", "hookimpl"]
