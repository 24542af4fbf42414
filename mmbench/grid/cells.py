"""The expansion of a grid config into cells (:class:`~mmbench.train.cell.Cell`): the four baseline families.

| family | modalities | tasks | what varies |
| st-sm  | one        | one   | encoder |
| st-cm  | all chosen | one   | aligner × fuser |
| mt-sm  | one        | all   | architecture × weighting |
| mt-cm  | all chosen | all   | aligner × fuser × architecture × weighting |

Components that do not apply are not crossed in: single-modal cells have no aligner or fuser, single-task
cells no weighting (their one loss is back-propagated as is) and hard sharing as their architecture (one
task: nothing to share); a strategy needing the shared representation (``wrt="representation"``) is not
crossed with an architecture that has none. Every component is resolved to its canonical name and full
options first (:func:`mmbench.plugins.resolve_choice`), so that the cell id covers what runs.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from mmbench.data.subset import unknown_modality
from mmbench.grid.config import GridConfig, GridConfigError, dataset_label
from mmbench.plugins import ComponentChoice, ComponentError, ComponentOptionError, Entry, resolve_choice
from mmbench.provenance import provider
from mmbench.train.cell import Cell
from mmbench.vocabulary import FAMILIES

#: Encoder used for a modality kind when the grid names none.
DEFAULT_ENCODERS = {"image": "cnn", "text": "sentence-transformer", "tabular": "mlp", "audio": "mlp"}


@dataclass
class Expansion:
    """Every cell of a grid, plus notes on what was not crossed in and why."""

    cells: list[Cell]
    notes: list[str]

    def counts(self) -> dict[str, int]:
        return {fam: sum(c.family == fam for c in self.cells) for fam in FAMILIES}


def with_dataset(expansion: Expansion, identities: Mapping[int | None, str]) -> Expansion:
    """The expansion with the dataset's identity (:func:`mmbench.provenance.dataset_identity`, known once the
    data is loaded) in every cell's provenance: the identity of the data at the cell's split seed
    (``identities[cell.split_seed]``), so a change in how a split is drawn makes its cells stale."""
    def stamped(cell: Cell) -> Cell:
        made = json.loads(cell.provenance or "{}") | {"dataset": identities[cell.split_seed]}
        return replace(cell, provenance=json.dumps(made, sort_keys=True))

    return Expansion([stamped(c) for c in expansion.cells], list(expansion.notes))


def raise_all(problems: list[ComponentError]) -> None:
    """Raise every component problem at once: one as it is, several as one :class:`ComponentOptionError`
    listing them all (a grid with two option typos needs one run to see both)."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ComponentOptionError(f"{len(problems)} problems with the grid's components:\n  - "
                                   + "\n  - ".join(str(p) for p in problems))


class _Resolver:
    """Resolves every choice once, remembering its registry entry (for provenance and facts); collects every
    unknown name and bad option instead of stopping at the first."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, ComponentChoice], Entry] = {}
        self.problems: list[ComponentError] = []

    def __call__(self, kind: str, choices: list[ComponentChoice]) -> list[ComponentChoice]:
        out = []
        for choice in choices:
            try:
                resolved, entry = resolve_choice(kind, choice)
            except ComponentError as exc:
                if str(exc) not in map(str, self.problems):
                    self.problems.append(exc)
                continue
            self.entries[(kind, resolved)] = entry
            if resolved not in out:  # `max` and `example:max`, or an option given at its default: one choice
                out.append(resolved)
        return out

    def entry(self, kind: str, choice: ComponentChoice) -> Entry:
        return self.entries[(kind, choice)]


def _needs_representation(weighting: Entry, choice: ComponentChoice, task_types: list[str]) -> bool:
    from mmbench.components.base import Need
    from mmbench.plugins.options import accepts, describe

    extra = {"task_types": task_types} if accepts(weighting, "task_types") else {}
    try:
        instance = weighting.create(len(task_types), seed=0, **extra, **dict(choice.options))
    except Exception as exc:  # noqa: BLE001 - the plugin's error, reported before any training
        raise ComponentOptionError(f"{describe(weighting)} with options {dict(choice.options)} cannot be built: "
                                   f"{type(exc).__name__}: {exc}") from None
    return getattr(instance, "need", None) is Need.REPR_JACOBIAN


def _has_shared_representation(entry: Entry) -> bool:
    from mmbench.plugins.options import target

    return bool(getattr(target(entry), "has_shared_representation", False))


def expand(config: GridConfig, modality_kinds: dict[str, str], task_names: list[str],
           task_types: dict[str, str] | None = None) -> Expansion:
    """Expand ``config`` into cells; ``modality_kinds``/``task_names`` (and ``task_types``) come from the
    dataset spec. Every problem (unknown modalities or tasks; unknown components and options) is reported
    in one error. The cells' provenance names each component's :func:`~mmbench.provenance.provider`; the
    dataset's identity needs its data and is added by :func:`with_dataset`."""
    modalities = config.modalities or sorted(modality_kinds)
    tasks = config.tasks or list(task_names)
    bad = [unknown_modality(m, modality_kinds, dataset_label(config.dataset)) for m in modalities if m not in modality_kinds]
    bad += [f"task {t!r} is not in the dataset; it has: {', '.join(task_names)}" for t in tasks if t not in task_names]
    bad += [f"encoders given for modality {m!r}, which the grid does not use ({', '.join(modalities)})"
            for m in config.encoders if m not in modalities]
    if bad:
        raise GridConfigError(bad[0] if len(bad) == 1 else f"{len(bad)} problems:\n  - " + "\n  - ".join(bad))
    resolve = _Resolver()
    encoders = {m: resolve("encoders", config.encoders.get(m) or [ComponentChoice(DEFAULT_ENCODERS[modality_kinds[m]])])
                for m in modalities}
    aligners, fusers = resolve("aligners", config.aligners), resolve("fusers", config.fusers)
    architectures, weightings = resolve("architectures", config.architectures), resolve("weightings", config.weightings)
    hps = resolve("architectures", [ComponentChoice("hps")])[0]
    raise_all(resolve.problems)

    training = tuple(sorted(config.training.items()))
    robustness = json.dumps(config.robustness, sort_keys=True) if config.robustness is not None else None
    notes: list[str] = []
    cells: list[Cell] = []

    def add(family: str, mods: list[str], tsk: list[str], aligner: Any, fuser: Any, arch: ComponentChoice,
            weighting: Any) -> None:
        for combo in itertools.product(*(encoders[m] for m in mods)):
            made = {f"encoders.{m}": provider(resolve.entry("encoders", c)) for m, c in zip(mods, combo)}
            for slot, kind, choice in (("aligner", "aligners", aligner), ("fuser", "fusers", fuser),
                                       ("architecture", "architectures", arch), ("weighting", "weightings", weighting)):
                if choice is not None:
                    made[slot] = provider(resolve.entry(kind, choice))
            provenance = json.dumps(made, sort_keys=True)
            for seed in config.seeds:
                cells.append(Cell(family, config.dataset, tuple(mods), tuple(tsk), tuple(zip(mods, combo)),
                                  aligner, fuser, weighting, seed, training, robustness, arch,
                                  seed if config.split_seeds else None, provenance=provenance))

    cross = len(modalities) >= 2
    multi = len(tasks) >= 2
    fams = set(config.families)
    pairs = list(itertools.product(architectures, weightings))
    if multi and ({"mt-sm", "mt-cm"} & fams):
        shared = {a: _has_shared_representation(resolve.entry("architectures", a)) for a in architectures}
        types = [(task_types or {}).get(t, "classification") for t in tasks]
        needs, unbuilt = {}, []
        for w in weightings:
            try:
                needs[w] = _needs_representation(resolve.entry("weightings", w), w, types)
            except ComponentError as exc:
                unbuilt.append(exc)
        raise_all(unbuilt)
        for a, w in list(pairs):
            if needs[w] and not shared[a]:
                pairs.remove((a, w))
                notes.append(f"weighting {w.label} is not crossed with architecture {a.label}: it needs the shared "
                             "representation (wrt=representation) and that architecture has none")
    if "st-sm" in fams:
        for t in tasks:
            for m in modalities:
                add("st-sm", [m], [t], None, None, hps, None)
    if "st-cm" in fams and cross:
        for t in tasks:
            for a, f in itertools.product(aligners, fusers):
                add("st-cm", modalities, [t], a, f, hps, None)
    if "mt-sm" in fams and multi:
        for m in modalities:
            for arch, w in pairs:
                add("mt-sm", [m], tasks, None, None, arch, w)
    if "mt-cm" in fams and multi and cross:
        for a, f in itertools.product(aligners, fusers):
            for arch, w in pairs:
                add("mt-cm", modalities, tasks, a, f, arch, w)
    notes.append("aligners and fusers are not crossed into single-modal cells (one modality: nothing to align or fuse)")
    notes.append("weightings are not crossed into single-task cells (one loss: every weighting is the same)")
    if architectures != [hps]:
        notes.append("architectures are not crossed into single-task cells (one task: nothing to share; they use hps)")
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
