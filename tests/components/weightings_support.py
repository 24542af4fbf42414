"""What the weighting tests share: the built-in entries and the class behind an entry."""

from __future__ import annotations

import importlib

from mmbench.plugins import get_registry

PLUGIN = "mmbench.components.weightings"


def builtin_entries():
    return [e for e in get_registry("weightings") if e.plugin == PLUGIN]


def factory_class(entry) -> type:
    module, _, attr = entry.factory.__mmbench_target__.partition(":")
    return getattr(importlib.import_module(module), attr)


def make(name: str, n_tasks: int = 3, **options):
    return get_registry("weightings").create(name, n_tasks, **options)
