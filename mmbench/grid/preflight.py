"""Everything about a grid checked once, before any cell trains (and by ``--dry-run``).

- the dataset loads and passes its checks (columns, label types) — once, not once per cell;
- every encoder accepts its modality's kind (registration metadata ``modality``);
- every declared ``search_space`` names options its factory takes;
- every component builds, as each distinct configuration of the grid would build it (the real
  ``build_model`` path on the CPU: options, factory signatures, ``lazy()`` targets, value checks), and
  every weighting's ``need`` agrees with its class and the class implements it;
- every distinct configuration takes one training step on a tiny batch of the grid's own data, each
  component's output checked against its contract (:mod:`mmbench.grid.first_step`): a wrong output shape,
  a missing ``out_dim`` or a NaN objective fails here, in seconds.

Every problem is collected (one per component) and raised together as one :class:`PreflightError`; each
names the component, its plugin and distribution (:func:`mmbench.plugins.options.describe`), the file and
line of its class, and the fix.
"""

from __future__ import annotations

from typing import Any

from mmbench.grid.cells import Expansion
from mmbench.plugins import ComponentChoice, get_registry
from mmbench.plugins.options import describe
from mmbench.train.cell import Cell


class PreflightError(ValueError):
    """A grid that would fail in its cells; found before any of them runs."""


class _Problems:
    """Problems found so far, at most one per key (a component, usually): a broken component shows once,
    not once per configuration it is part of."""

    def __init__(self) -> None:
        self.found: dict[Any, str] = {}

    def add(self, key: Any, message: str) -> None:
        self.found.setdefault(key, message)

    def raise_all(self) -> None:
        messages = list(self.found.values())
        if len(messages) == 1:
            raise PreflightError(messages[0])
        if messages:
            raise PreflightError(f"{len(messages)} problems, found before any cell trained:\n  - " + "\n  - ".join(messages))


def _kind_problem(modality: str, kind: str, choice: ComponentChoice) -> str | None:
    entry = get_registry("encoders").get(choice.name)
    declared = entry.metadata.get("modality")
    if declared is None:
        return None
    kinds = declared if isinstance(declared, (list, tuple)) else [declared]
    if kind in kinds:
        return None
    fits = [e.name for e in get_registry("encoders")
            if kind in (e.metadata.get("modality") if isinstance(e.metadata.get("modality"), (list, tuple))
                        else [e.metadata.get("modality")])]
    return (f"{describe(entry)} encodes {'/'.join(kinds)}, but modality {modality!r} is {kind}; "
            f"choose an encoder for {kind}: {', '.join(fits) or '(none registered)'}")


def _configuration(cell: Cell) -> tuple[Any, ...]:
    return (cell.modalities, cell.tasks, cell.encoders, cell.aligner, cell.fuser, cell.architecture, cell.weighting)


def _slot_choice(cell: Cell, slot: str) -> tuple[str, ComponentChoice] | None:
    """``(kind, choice)`` of the component in ``slot`` (``encoders.<m>``, ``aligner``, ``fuser``, ...)."""
    if slot.startswith("encoders."):
        return "encoders", dict(cell.encoders)[slot.split(".", 1)[1]]
    choice = (cell.architecture or ComponentChoice("hps")) if slot == "architecture" else getattr(cell, slot, None)
    return (slot + "s", choice) if isinstance(choice, ComponentChoice) else None


def _blamed(kind: str, choice: ComponentChoice, instance: Any) -> str:
    """``fuser 'max' (plugin 'example', distribution 'mmbench-example 0.1.0') with options {...}, class MaxFusion
    at /path/fusers.py:13`` — every name a plugin author needs to find the code."""
    from mmbench.plugins.options import target
    from mmbench.provenance import defined_at

    entry = get_registry(kind).get(choice.name)
    where = instance if instance is not None else target(entry)
    cls = where if isinstance(where, type) else type(where)
    options = f" with options {dict(choice.options)}" if choice.options else ""
    return f"{describe(entry)}{options}, class {cls.__name__} at {defined_at(where)}"


def preflight(expansion: Expansion, data: Any) -> None:
    """Raise :class:`PreflightError` listing every problem of ``expansion`` on the loaded ``data``."""
    from mmbench.grid.first_step import StepProblem, first_step

    problems = _Problems()
    _check_search_spaces(expansion, problems)
    batches: dict[tuple[str, ComponentChoice], Any] = {}
    for cell in expansion.cells:
        for m, choice in cell.encoders:
            bad = _kind_problem(m, data.modality_info[m].kind, choice)
            if bad:
                problems.add(("encoders", choice), bad)
                batches[(m, choice)] = None  # not built: the kind is the problem
    seen: set[tuple[Any, ...]] = set()
    for cell in expansion.cells:
        key = _configuration(cell)
        if key in seen:
            continue
        seen.add(key)
        for m, choice in cell.encoders:
            if (m, choice) not in batches:
                batches[(m, choice)] = _encoder(m, choice, data, problems)
        if any(batches[(m, c)] is None for m, c in cell.encoders):
            continue  # its encoder is reported already
        try:
            first_step(cell, data, {m: batches[(m, c)] for m, c in cell.encoders})
        except StepProblem as exc:
            found = _slot_choice(cell, exc.slot)
            if found is None:
                problems.add(str(exc), f"a component of {_label(cell)}: {exc}")
            else:
                kind, choice = found
                problems.add((kind, choice), f"{_blamed(kind, choice, exc.component)} fails one training step on a batch "
                                             f"of the grid's data, before any cell trains: {exc}")
        except Exception as exc:  # noqa: BLE001 - no component could be told from the instance: by source file
            problems.add(f"{type(exc).__name__}: {exc}", f"{_culprit(cell, exc)}: {type(exc).__name__}: {exc}")
    problems.raise_all()


def _encoder(m: str, choice: ComponentChoice, data: Any, problems: _Problems) -> Any:
    """The encoder of ``m`` built and readied for the tiny batch, or ``None`` (its problem recorded)."""
    from mmbench.grid.first_step import StepProblem, encoder_batch

    entry = get_registry("encoders").get(choice.name)
    try:
        encoder = entry.create(data.modality_info[m], **dict(choice.options))
    except Exception as exc:  # noqa: BLE001 - the plugin's error, named
        problems.add(("encoders", choice), f"{describe(entry)} cannot be built for modality {m!r} with options "
                                           f"{dict(choice.options)}: {type(exc).__name__}: {exc}")
        return None
    try:
        return encoder_batch(encoder, m, data)
    except StepProblem as exc:
        problems.add(("encoders", choice), f"{_blamed('encoders', choice, encoder)}: {exc}")
    except Exception as exc:  # noqa: BLE001
        problems.add(("encoders", choice), f"{_blamed('encoders', choice, encoder)} fails on a batch of modality "
                                           f"{m!r}: {type(exc).__name__}: {exc}")
    return None


def _label(cell: Cell) -> str:
    return cell.label.rsplit(" | seed", 1)[0]


def _culprit(cell: Cell, exc: BaseException) -> str:
    """The component whose code raised (its source file is in the traceback), else every component of the cell."""
    import inspect
    import traceback

    from mmbench.plugins.options import target

    files = {f.filename for f in traceback.extract_tb(exc.__traceback__)}
    slots = [("aligners", cell.aligner), ("fusers", cell.fuser), ("architectures", cell.architecture),
             ("weightings", cell.weighting)]
    for kind, choice in reversed(slots):
        if choice is None:
            continue
        entry = get_registry(kind).get(choice.name)
        try:
            source = inspect.getsourcefile(target(entry))
        except TypeError:
            continue
        if source and source in files:
            return f"{describe(entry)} with options {dict(choice.options)} cannot be built"
    return f"a component of {_label(cell)} cannot be built or fails its first training step"


def _check_search_spaces(expansion: Expansion, problems: _Problems) -> None:
    """A declared ``search_space`` may only name options its factory takes (a typo would never be tuned)."""
    from mmbench.plugins.options import options_signature

    seen: set[tuple[str, str]] = set()
    for cell in expansion.cells:
        used = [("aligners", cell.aligner), ("fusers", cell.fuser), ("architectures", cell.architecture),
                ("weightings", cell.weighting)] + [("encoders", c) for _, c in cell.encoders]
        for kind, choice in used:
            if choice is None or (kind, choice.name) in seen:
                continue
            seen.add((kind, choice.name))
            entry = get_registry(kind).get(choice.name)
            params, var_kw = options_signature(entry)
            unknown = [k for k in (entry.metadata.get("search_space") or {}) if k not in params]
            if unknown and not var_kw:
                what = "an option" if len(unknown) == 1 else "options"
                problems.add((kind, choice.name, "search_space"),
                             f"{describe(entry)} declares a search_space for {', '.join(map(repr, unknown))}, {what} its "
                             f"factory does not take (it takes: {', '.join(params) or 'no options'}); fix register(...)")
