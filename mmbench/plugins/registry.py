"""Typed, lazy registries of components, one per kind, with "did you mean" lookup errors.

Names are global per kind. A second plugin registering a taken name is rejected with an error naming
both plugins; every component is also reachable under its qualified name ``<plugin>:<name>``.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

#: The component kinds, in the order the pipeline uses them.
KINDS: tuple[str, ...] = ("encoders", "aligners", "fusers", "architectures", "weightings", "datasets", "perturbations")

SINGULAR = {kind: kind[:-1] for kind in KINDS}


class ComponentError(LookupError):
    """Base class of registry errors."""


class UnknownComponentError(ComponentError, KeyError):
    """A component name that no plugin registered."""

    def __init__(self, kind: str, name: str, known: list[str]):
        self.kind, self.name, self.known = kind, name, known
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        msg = f"unknown {SINGULAR.get(kind, kind)} {name!r}"
        if close:
            msg += "; did you mean " + " or ".join(repr(c) for c in close) + "?"
        else:
            msg += f"; known: {', '.join(sorted(known)) or '(none)'}"
        msg += " (run `mmbench list " + kind + "` to see every one)"
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


class DuplicateComponentError(ComponentError):
    """Two plugins registered the same name for one kind."""


def lazy(target: str) -> Callable[..., Any]:
    """A factory that imports ``"package.module:attr"`` only when first called (keeps start-up fast)."""
    module_name, _, attr = target.partition(":")

    def factory(*args: Any, **kwargs: Any) -> Any:
        obj = getattr(importlib.import_module(module_name), attr)
        return obj(*args, **kwargs)

    factory.__qualname__ = factory.__name__ = attr
    factory.__mmbench_target__ = target  # type: ignore[attr-defined]
    return factory


@dataclass(frozen=True)
class Entry:
    """One registered component: its factory and what ``mmbench list`` shows about it."""

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def qualified_name(self) -> str:
        return f"{self.plugin}:{self.name}"

    def create(self, *args: Any, **options: Any) -> Any:
        """Build the component."""
        return self.factory(*args, **options)

    def as_dict(self) -> dict[str, Any]:
        meta = {k: v for k, v in self.metadata.items() if _jsonable(v)}
        return {"name": self.name, "plugin": self.plugin, "description": self.description, **meta}


def _jsonable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, type(None), list, tuple, dict))


class Registry:
    """The components of one kind, in registration order."""

    def __init__(self, kind: str):
        if kind not in KINDS:
            raise ValueError(f"unknown component kind {kind!r}; kinds: {', '.join(KINDS)}")
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._qualified: dict[str, Entry] = {}

    def add(self, entry: Entry) -> None:
        """Add ``entry``; raise :class:`DuplicateComponentError` naming both plugins on a clash."""
        if not entry.name or ":" in entry.name:
            raise ComponentError(f"invalid {SINGULAR[self.kind]} name {entry.name!r} from plugin {entry.plugin!r}")
        if not callable(entry.factory):
            raise ComponentError(f"{SINGULAR[self.kind]} {entry.name!r} from plugin {entry.plugin!r}: factory is not callable")
        if entry.name in self._entries:
            first = self._entries[entry.name]
            raise DuplicateComponentError(
                f"{SINGULAR[self.kind]} {entry.name!r} is registered by both plugin {first.plugin!r} and "
                f"plugin {entry.plugin!r}; keeping {first.plugin!r}'s. Use {entry.qualified_name!r} for the other, "
                "or rename it in the plugin."
            )
        self._entries[entry.name] = entry
        self._qualified[entry.qualified_name] = entry

    def add_shadowed(self, entry: Entry) -> None:
        """Keep a clashing entry reachable under its qualified name only."""
        self._qualified[entry.qualified_name] = entry

    def get(self, name: str) -> Entry:
        """The entry called ``name`` (plain or ``plugin:name``), or :class:`UnknownComponentError`."""
        entry = self._entries.get(name) or self._qualified.get(name)
        if entry is None:
            raise UnknownComponentError(self.kind, name, list(self._entries))
        return entry

    def create(self, name: str, *args: Any, **options: Any) -> Any:
        return self.get(name).create(*args, **options)

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._qualified

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)
