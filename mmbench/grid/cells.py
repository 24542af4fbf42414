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

import importlib.util
import inspect
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmbench.grid.config import FAMILIES, GridConfig, GridConfigError
from mmbench.plugins import ComponentChoice, ComponentOptionError, Entry, resolve_choice
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


def provider(entry: Entry) -> str:
    """``mmbench 0.2.0 image.py@sha256:…``, ``mmbench-example 0.1.1`` or ``my_methods sha256:…``: what
    produced a component. A built-in also names a digest of the module that defines it, so editing that
    module between releases (same version) makes its stored results stale, as editing a local plugin's
    file does. Only that module: edits to shared helpers or to the training loop count with mmbench's
    version (docs/grids.md, "Stale results")."""
    from mmbench.plugins.manager import file_version, plugin_info

    info = plugin_info(entry.plugin)
    if info is None:
        return f"{entry.plugin} unknown"
    made = f"{info.distribution or info.name} {info.version}"
    source = defining_file(entry.factory) if info.builtin else None
    try:
        return f"{made} {source.name}@{file_version(source)}" if source is not None else made
    except OSError:  # not a readable file (a zip install): the version alone
        return made


def defining_file(factory: object) -> Path | None:
    """The source file of a factory (a :func:`~mmbench.plugins.registry.lazy` one's target module is found
    without importing it)."""
    target = getattr(factory, "__mmbench_target__", None)
    try:
        if target is not None:
            spec = importlib.util.find_spec(target.partition(":")[0])
            origin = spec.origin if spec is not None else None
        else:
            origin = inspect.getsourcefile(factory)  # type: ignore[arg-type]
    except (TypeError, ImportError, ValueError):
        return None
    return Path(origin) if origin and origin.endswith(".py") else None


class _Resolver:
    """Resolves every choice once, remembering its registry entry (for provenance and facts)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, ComponentChoice], Entry] = {}

    def __call__(self, kind: str, choices: list[ComponentChoice]) -> list[ComponentChoice]:
        out = []
        for choice in choices:
            resolved, entry = resolve_choice(kind, choice)
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
           dataset_entry: Entry | None = None, task_types: dict[str, str] | None = None) -> Expansion:
    """Expand ``config`` into cells; ``modality_kinds``/``task_names`` (and ``task_types``) come from the
    dataset spec; ``dataset_entry`` is the registered dataset, for the cells' provenance."""
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
    resolve = _Resolver()
    encoders = {m: resolve("encoders", config.encoders.get(m) or [ComponentChoice(DEFAULT_ENCODERS[modality_kinds[m]])])
                for m in modalities}
    aligners, fusers = resolve("aligners", config.aligners), resolve("fusers", config.fusers)
    architectures, weightings = resolve("architectures", config.architectures), resolve("weightings", config.weightings)
    hps = resolve("architectures", [ComponentChoice("hps")])[0]

    training = tuple(sorted(config.training.items()))
    robustness = json.dumps(config.robustness, sort_keys=True) if config.robustness is not None else None
    notes: list[str] = []
    cells: list[Cell] = []
    base = {"dataset": provider(dataset_entry)} if dataset_entry is not None else {}

    def add(family: str, mods: list[str], tsk: list[str], aligner: Any, fuser: Any, arch: ComponentChoice,
            weighting: Any) -> None:
        for combo in itertools.product(*(encoders[m] for m in mods)):
            made = dict(base)
            made |= {f"encoders.{m}": provider(resolve.entry("encoders", c)) for m, c in zip(mods, combo)}
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
        needs = {w: _needs_representation(resolve.entry("weightings", w), w, types) for w in weightings}
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
