"""Everything about a grid checked once, before any cell trains (and by ``--dry-run``).

- the dataset loads and passes its checks (columns, label types) — once, not once per cell;
- every encoder accepts its modality's kind (registration metadata ``modality``);
- every component builds, as each distinct configuration of the grid would build it (the real
  ``build_model`` path on the CPU: options, factory signatures, ``lazy()`` targets, value checks);
- every weighting's ``need`` agrees with its class and the class implements it.

Errors are :class:`PreflightError`, naming the component, its plugin and distribution, and the fix.
"""

from __future__ import annotations

from typing import Any

from mmbench.grid.cells import Expansion
from mmbench.plugins import ComponentChoice, get_registry
from mmbench.plugins.options import describe
from mmbench.train.cell import Cell


class PreflightError(ValueError):
    """A grid that would fail in its cells; found before any of them runs."""


def _check_kind(modality: str, kind: str, choice: ComponentChoice) -> None:
    entry = get_registry("encoders").get(choice.name)
    declared = entry.metadata.get("modality")
    if declared is None:
        return
    kinds = declared if isinstance(declared, (list, tuple)) else [declared]
    if kind not in kinds:
        fits = [e.name for e in get_registry("encoders")
                if kind in (e.metadata.get("modality") if isinstance(e.metadata.get("modality"), (list, tuple))
                            else [e.metadata.get("modality")])]
        raise PreflightError(f"{describe(entry)} encodes {'/'.join(kinds)}, but modality {modality!r} is {kind}; "
                             f"choose an encoder for {kind}: {', '.join(fits) or '(none registered)'}")


def _configuration(cell: Cell) -> tuple[Any, ...]:
    return (cell.modalities, cell.tasks, cell.encoders, cell.aligner, cell.fuser, cell.architecture, cell.weighting)


def preflight(expansion: Expansion, data: Any) -> None:
    """Raise :class:`PreflightError` for the first problem of ``expansion`` on the loaded ``data``."""
    import torch

    from mmbench.components.checks import weighting_need_problem
    from mmbench.train.cell_runner import build_model

    check_search_spaces(expansion)
    for cell in expansion.cells:
        for m, choice in cell.encoders:
            _check_kind(m, data.modality_info[m].kind, choice)
    encoders: dict[tuple[str, ComponentChoice], Any] = {}
    seen: set[tuple[Any, ...]] = set()
    cpu = torch.device("cpu")
    for cell in expansion.cells:
        key = _configuration(cell)
        if key in seen:
            continue
        seen.add(key)
        built = {}
        for m, choice in cell.encoders:
            if (m, choice) not in encoders:
                entry = get_registry("encoders").get(choice.name)
                try:
                    encoders[(m, choice)] = entry.create(data.modality_info[m], **dict(choice.options))
                except Exception as exc:  # noqa: BLE001 - the plugin's error, named
                    raise PreflightError(f"{describe(entry)} cannot be built for modality {m!r} with options "
                                         f"{dict(choice.options)}: {type(exc).__name__}: {exc}") from None
            built[m] = encoders[(m, choice)]
        try:
            with torch.random.fork_rng(devices=[]):
                _, weighting = build_model(cell, data, built, cpu)
        except Exception as exc:  # noqa: BLE001
            raise PreflightError(f"{_culprit(cell, exc)}: {type(exc).__name__}: {exc}") from None
        if weighting is not None:
            entry = get_registry("weightings").get(cell.weighting.name)
            problem = weighting_need_problem(weighting, entry.metadata.get("need"))
            if problem:
                raise PreflightError(f"{describe(entry)}: {problem}")


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
    return "a component of " + cell.label.rsplit(" | seed", 1)[0] + " cannot be built"


def check_search_spaces(expansion: Expansion) -> None:
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
                raise PreflightError(f"{describe(entry)} declares a search_space for {unknown[0]!r}, an option its factory "
                                     f"does not take (it takes: {', '.join(params) or 'no options'}); fix register(...)")
