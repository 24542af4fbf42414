"""A component as a grid names it: a registered name plus options (``name`` or ``{name: ..., opt: ...}``).

Lives with the registries (the lowest layer that knows components) because every layer above reads it: the
trainer builds cells from choices, the grid expands configs into them, the store records them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ComponentChoice:
    """A component name plus options. After :func:`mmbench.plugins.resolve_choice` the name is canonical
    and ``options`` holds every option the factory takes, defaults filled in (sorted by name)."""

    name: str
    options: tuple[tuple[str, Any], ...] = ()
    #: the option names the grid config gave (the label shows only these); ``None``: show every option
    given: tuple[str, ...] | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, **dict(self.options)}

    @property
    def label(self) -> str:
        shown = [(k, v) for k, v in self.options if self.given is None or k in self.given]
        if not shown:
            return self.name
        return self.name + "(" + ",".join(f"{k}={v}" for k, v in shown) + ")"

    def with_options(self, **overrides: Any) -> "ComponentChoice":
        """A copy with some options replaced (tuned values); the label still shows only the given ones."""
        merged = dict(self.options) | overrides
        return ComponentChoice(self.name, tuple(sorted(merged.items())), self.given)


__all__ = ["ComponentChoice"]
