"""The grid's ``robustness:`` settings (``true`` or a mapping), validated, with the built-in defaults.

```yaml
robustness:
  levels: [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]   # increasing, within [0, 1]
  seed: 0                      # perturbation seed (+ the modality's index in the dataset)
  missing: true                # also score each modality missing
  perturbations:               # names or {name: ..., option: value}; each applies to its modality kind
    - image-noise
    - {name: text-typos, swap: 0.0}
```
Without ``perturbations`` every modality kind gets its two built-ins (:data:`DEFAULT_PERTURBATIONS`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Mapping

DEFAULT_LEVELS: tuple[float, ...] = tuple(round(0.1 * i, 10) for i in range(10))
DEFAULT_PERTURBATIONS: dict[str, tuple[str, ...]] = {
    "image": ("image-noise", "image-occlusion"),
    "text": ("text-word-dropout", "text-typos"),
    "tabular": ("tabular-noise", "tabular-entry-dropout"),
}
KEYS = ("levels", "seed", "missing", "perturbations")


class RobustnessSettingsError(ValueError):
    """Robustness settings that cannot run; the message names the key."""


@dataclass(frozen=True)
class PerturbationChoice:
    """A registered perturbation name plus options."""

    name: str
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        """``name`` or ``name(opt=value,...)``: the curve's name in results and leaderboards."""
        opts = ",".join(f"{k}={v}" for k, v in self.options)
        return self.name + (f"({opts})" if opts else "")


@dataclass(frozen=True)
class RobustnessSettings:
    levels: tuple[float, ...] = DEFAULT_LEVELS
    seed: int = 0
    missing: bool = True
    #: ``None``: the defaults per modality kind
    perturbations: tuple[PerturbationChoice, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"levels": list(self.levels), "seed": self.seed, "missing": self.missing,
                "perturbations": None if self.perturbations is None else [p.label for p in self.perturbations]}


def _choice(raw: Any) -> PerturbationChoice:
    if isinstance(raw, str):
        return PerturbationChoice(raw)
    if isinstance(raw, Mapping) and isinstance(raw.get("name"), str):
        return PerturbationChoice(raw["name"], tuple(sorted((k, v) for k, v in raw.items() if k != "name")))
    raise RobustnessSettingsError(f"robustness.perturbations: expected a name or {{name: ..., option: value}}, got {raw!r}")


def parse_settings(raw: Mapping[str, Any] | None) -> RobustnessSettings:
    """Validate the ``robustness:`` mapping (``None`` or ``{}``: every default)."""
    raw = dict(raw or {})
    for key in raw:
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(KEYS)}"
            raise RobustnessSettingsError(f"unknown robustness setting {key!r}{hint} (docs/robustness.md)")
    levels = raw.get("levels", DEFAULT_LEVELS)
    if (not isinstance(levels, (list, tuple)) or not levels
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in levels)):
        raise RobustnessSettingsError(f"robustness.levels must be a non-empty list of numbers, got {levels!r}")
    levels = tuple(float(v) for v in levels)
    if any(not 0.0 <= v <= 1.0 for v in levels) or any(b <= a for a, b in zip(levels, levels[1:])):
        raise RobustnessSettingsError(f"robustness.levels must increase strictly within [0, 1], got {list(levels)}")
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise RobustnessSettingsError(f"robustness.seed must be a non-negative integer, got {seed!r}")
    missing = raw.get("missing", True)
    if not isinstance(missing, bool):
        raise RobustnessSettingsError(f"robustness.missing must be true or false, got {missing!r}")
    perts = raw.get("perturbations")
    if perts is not None:
        if not isinstance(perts, (list, tuple)):
            raise RobustnessSettingsError(f"robustness.perturbations must be a list, got {perts!r}")
        perts = tuple(_choice(p) for p in perts)
    return RobustnessSettings(levels, seed, missing, perts)


def choices_by_kind(settings: RobustnessSettings) -> dict[str, list[tuple[PerturbationChoice, Any]]]:
    """Per modality kind, the chosen perturbations built from the registry: ``[(choice, perturbation)]``.

    Unknown names raise the registry's error with close matches; a kind's order is the settings' order.
    """
    from mmbench.plugins import get_registry

    registry = get_registry("perturbations")
    chosen = settings.perturbations
    if chosen is None:
        chosen = tuple(PerturbationChoice(n) for names in DEFAULT_PERTURBATIONS.values() for n in names if n in registry)
    out: dict[str, list[tuple[PerturbationChoice, Any]]] = {}
    for choice in chosen:
        entry = registry.get(choice.name)
        kind = entry.metadata.get("modality")
        if not isinstance(kind, str):
            raise RobustnessSettingsError(f"perturbation {choice.name!r} (plugin {entry.plugin!r}) was registered "
                                          "without modality=...; it cannot be applied")
        out.setdefault(kind, []).append((choice, entry.create(**dict(choice.options))))
    return out
