"""Plugin loading (pluggy) and the per-kind component registries."""

from mmbench.plugins.registry import (
    KINDS,
    ComponentError,
    DuplicateComponentError,
    Entry,
    Registry,
    UnknownComponentError,
    lazy,
)
from mmbench.plugins.manager import get_plugin_manager, get_registries, get_registry, reset

__all__ = [
    "KINDS",
    "ComponentError",
    "DuplicateComponentError",
    "Entry",
    "Registry",
    "UnknownComponentError",
    "get_plugin_manager",
    "get_registries",
    "get_registry",
    "lazy",
    "reset",
]
