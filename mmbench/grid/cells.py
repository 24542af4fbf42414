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

import itertools
import json
from dataclasses import dataclass
from typing import Any

from mmbench.components.choice import ComponentChoice
from mmbench.grid.config import FAMILIES, GridConfig, GridConfigError
from mmbench.train.cell import Cell

#: Encoder used for a modality kind when the grid names none.
DEFAULT_ENCODERS = {"image": "cnn", "text": "sentence-transformer", "tabular": "mlp", "audio": "mlp"}


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
