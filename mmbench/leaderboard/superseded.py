"""Which stored rows a leaderboard shows by default: the *current* ones, produced by the latest grid run of the
directory and by the installed code; the others are *superseded* and hidden unless asked for
(``mmbench leaderboard DIR --show-superseded``), with their number on the page.

A row is superseded when

- it is not a cell of the latest grid run (the store's meta ``grid_cells``, written by every run): an earlier
  grid's settings, a component option whose default has changed since (``bilinear(dim=32)`` once the default
  is 16), a component no longer in the grid; or
- a component's recorded provenance (:func:`mmbench.provenance.provider`: its package version and the digest of
  its defining module) differs from the installed code's: the code changed after the run, which would
  recompute it. A component the installed code cannot resolve (a local plugin file not loaded here, an
  uninstalled package) is not judged; neither is the dataset (its identity needs the data loaded: the latest
  run judged it).

Cells a run kept although stale (``--keep-stale``, meta ``stale_kept``) stay shown, marked ‡: the run was told
to keep them. A directory written before runs recorded ``grid_cells`` shows every row, as it always did.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

#: why a row is superseded, as the page counts them
EARLIER_GRID = "not a cell of the latest grid run"
CHANGED_CODE = "produced by other code than installed"


def superseded(rows: Iterable[Any], latest: Iterable[str] | None, kept: Iterable[str] = ()) -> dict[str, str] | None:
    """``cell_id → why`` for every superseded row among ``rows`` (store rows: ``cell_id``, ``config``,
    ``provenance``); ``latest``: the meta ``grid_cells`` (``None``: the directory does not record it, and
    ``None`` is returned — show everything); ``kept``: the meta ``stale_kept``."""
    if latest is None:
        return None
    latest, kept = set(map(str, latest)), set(map(str, kept))
    providers: dict[tuple[str, str], str | None] = {}
    out: dict[str, str] = {}
    for row in rows:
        if row.cell_id not in latest:
            out[row.cell_id] = EARLIER_GRID
        elif row.cell_id not in kept and (changes := _changed(row, providers)):
            out[row.cell_id] = f"{CHANGED_CODE} ({'; '.join(changes)})"
    return out


def _changed(row: Any, providers: dict[tuple[str, str], str | None]) -> list[str]:
    """The components whose recorded provider differs from the installed code's (``slot: old → new``)."""
    try:
        made = json.loads(row.provenance) if row.provenance else {}
    except ValueError:
        return []
    changes = []
    for slot, recorded in sorted(made.items()):
        kind, choice = _component(slot, row.config)
        if choice is None:
            continue
        key = (kind, choice)
        if key not in providers:
            providers[key] = _installed(kind, choice)
        now = providers[key]
        if now is not None and now != recorded:
            changes.append(f"{slot}: {recorded} → {now}")
    return changes


def _component(slot: str, config: dict[str, Any]) -> tuple[str, str | None]:
    """``(kind, registered name)`` of a provenance slot (``encoders.<m>``, ``fuser``...); no name for ``dataset``."""
    if slot.startswith("encoders."):
        value = (config.get("encoders") or {}).get(slot.split(".", 1)[1])
        return "encoders", value.get("name") if isinstance(value, dict) else None
    value = config.get(slot)
    return slot + "s", value.get("name") if slot != "dataset" and isinstance(value, dict) else None


def _installed(kind: str, name: str) -> str | None:
    """What would produce ``name`` now (:func:`~mmbench.provenance.provider`), ``None`` when nothing installed
    registers it."""
    from mmbench.plugins import get_registry
    from mmbench.plugins.registry import KINDS
    from mmbench.provenance import provider

    if kind not in KINDS or name not in get_registry(kind):
        return None
    return provider(get_registry(kind).get(name))


__all__ = ["CHANGED_CODE", "EARLIER_GRID", "superseded"]
