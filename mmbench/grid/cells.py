"""Cells — one (dataset, modalities, tasks, encoders, aligner, fuser, weighting, seed, training) each —
and the expansion of a grid config into the four baseline families.

| family | modalities | tasks | what varies |
| st-sm  | one        | one   | encoder |
| st-cm  | all chosen | one   | aligner × fuser |
| mt-sm  | one        | all   | weighting |
| mt-cm  | all chosen | all   | aligner × fuser × weighting |

Components that do not apply are not crossed in: single-modal cells have no aligner or fuser, single-task
cells no weighting (their one loss is back-propagated as is).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Any

from mmbench.grid.config import FAMILIES, ComponentChoice, GridConfig, GridConfigError

#: Encoder used for a modality kind when the grid names none.
DEFAULT_ENCODERS = {"image": "cnn", "text": "sentence-transformer", "tabular": "mlp", "audio": "mlp"}


@dataclass(frozen=True)
class Cell:
    """One benchmark cell; ``cell_id`` is a stable hash of its full config."""

    family: str
    dataset: Any
    modalities: tuple[str, ...]
    tasks: tuple[str, ...]
    encoders: tuple[tuple[str, ComponentChoice], ...]
    aligner: ComponentChoice | None
    fuser: ComponentChoice | None
    weighting: ComponentChoice | None
    seed: int
    training: tuple[tuple[str, Any], ...]
    #: robustness evaluation settings (JSON text), or None; only then part of the config and the hash
    robustness: str | None = None

    def config(self) -> dict[str, Any]:
        """The full, JSON-able config (what the hash covers and the store records)."""
        extra = {"robustness": json.loads(self.robustness)} if self.robustness is not None else {}
        return extra | {
            "family": self.family,
            "dataset": self.dataset,
            "modalities": list(self.modalities),
            "tasks": list(self.tasks),
            "encoders": {m: c.as_dict() for m, c in self.encoders},
            "aligner": self.aligner.as_dict() if self.aligner else None,
            "fuser": self.fuser.as_dict() if self.fuser else None,
            "weighting": self.weighting.as_dict() if self.weighting else None,
            "seed": self.seed,
            "training": dict(self.training),
        }

    @property
    def cell_id(self) -> str:
        canonical = json.dumps(self.config(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        parts = ["+".join(self.modalities), "+".join(self.tasks),
                 "/".join(c.label for _, c in self.encoders)]
        parts += [c.label for c in (self.aligner, self.fuser, self.weighting) if c is not None]
        return f"[{self.family}] " + " | ".join(parts) + f" | seed {self.seed}"


@dataclass
class Expansion:
    """Every cell of a grid, plus notes on what was not crossed in and why."""

    cells: list[Cell]
    notes: list[str]

    def counts(self) -> dict[str, int]:
        return {fam: sum(c.family == fam for c in self.cells) for fam in FAMILIES}


def _check_names(kind: str, choices: list[ComponentChoice]) -> None:
    from mmbench.plugins import get_registry

    registry = get_registry(kind)
    for choice in choices:
        registry.get(choice.name)  # raises UnknownComponentError with close matches


def expand(config: GridConfig, modality_kinds: dict[str, str], task_names: list[str]) -> Expansion:
    """Expand ``config`` into cells; ``modality_kinds``/``task_names`` come from the dataset spec."""
    modalities = config.modalities or sorted(modality_kinds)
    tasks = config.tasks or list(task_names)
    for m in modalities:
        if m not in modality_kinds:
            raise GridConfigError(f"modality {m!r} is not in dataset {config.name!r}; it has: {', '.join(sorted(modality_kinds))}")
    for t in tasks:
        if t not in task_names:
            raise GridConfigError(f"task {t!r} is not in the dataset; it has: {', '.join(task_names)}")
    for m in config.encoders:
        if m not in modalities:
            raise GridConfigError(f"encoders given for modality {m!r}, which the grid does not use ({', '.join(modalities)})")
    encoders = {m: config.encoders.get(m) or [ComponentChoice(DEFAULT_ENCODERS[modality_kinds[m]])] for m in modalities}
    for m, choices in encoders.items():
        _check_names("encoders", choices)
    _check_names("aligners", config.aligners)
    _check_names("fusers", config.fusers)
    _check_names("weightings", config.weightings)

    training = tuple(sorted(config.training.items()))
    robustness = json.dumps(config.robustness, sort_keys=True) if config.robustness is not None else None
    notes: list[str] = []
    cells: list[Cell] = []

    def add(family: str, mods: list[str], tsk: list[str], aligner: Any, fuser: Any, weighting: Any) -> None:
        for combo in itertools.product(*(encoders[m] for m in mods)):
            for seed in config.seeds:
                cells.append(Cell(family, config.dataset, tuple(mods), tuple(tsk), tuple(zip(mods, combo)),
                                  aligner, fuser, weighting, seed, training, robustness))

    cross = len(modalities) >= 2
    multi = len(tasks) >= 2
    fams = set(config.families)
    if "st-sm" in fams:
        for t in tasks:
            for m in modalities:
                add("st-sm", [m], [t], None, None, None)
    if "st-cm" in fams and cross:
        for t in tasks:
            for a, f in itertools.product(config.aligners, config.fusers):
                add("st-cm", modalities, [t], a, f, None)
    if "mt-sm" in fams and multi:
        for m in modalities:
            for w in config.weightings:
                add("mt-sm", [m], tasks, None, None, w)
    if "mt-cm" in fams and multi and cross:
        for a, f, w in itertools.product(config.aligners, config.fusers, config.weightings):
            add("mt-cm", modalities, tasks, a, f, w)
    notes.append("aligners and fusers are not crossed into single-modal cells (one modality: nothing to align or fuse)")
    notes.append("weightings are not crossed into single-task cells (one loss: every weighting is the same)")
    if not cross:
        notes.append("one modality chosen: no cross-modal families")
    if not multi:
        notes.append("one task chosen: no multitask families")
    seen: set[str] = set()
    unique = []
    for cell in cells:
        if cell.cell_id not in seen:
            seen.add(cell.cell_id)
            unique.append(cell)
    return Expansion(unique, notes)
