"""Run a grid: expand, skip finished cells, run the rest, write each outcome to the store as it ends."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from mmbench.grid.cells import Cell, Expansion, expand
from mmbench.grid.config import GridConfig
from mmbench.grid.worker import Outcome, WorkerSettings
from mmbench.store.sqlite import ResultStore


@dataclass
class GridSummary:
    total: int = 0
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def plan(config: GridConfig) -> Expansion:
    """Expand a grid config against its dataset's spec (no data is loaded)."""
    from mmbench.data.loading import resolve

    spec = resolve(config.dataset)
    return expand(config, {m: s.kind for m, s in spec.modalities.items()}, list(spec.tasks))


def select(cells: Sequence[Cell], store: ResultStore, rerun_failed: bool, force: bool) -> tuple[list[Cell], int]:
    """The cells still to run, and how many are skipped because they already finished."""
    if force:
        return list(cells), 0
    statuses = store.statuses()
    todo = [c for c in cells if statuses.get(c.cell_id) is None or (rerun_failed and statuses[c.cell_id] == "failed")]
    return todo, len(cells) - len(todo)


def _executor(todo: Sequence[Cell], settings: WorkerSettings, jobs: int, executor: str, address: str | None) -> Iterable[Outcome]:
    """Where the cells run; local worker processes start here, before the caller's progress bar."""
    from mmbench.grid import executors

    if not todo:
        return []
    if executor == "ray":
        return executors.run_ray(todo, settings, address=address)
    if jobs > 1:
        return executors.run_processes(todo, settings, jobs)
    return executors.run_serial(todo, settings)


def run_grid(config: GridConfig, out: str | Path, *, jobs: int = 1, executor: str = "local", address: str | None = None,
             rerun_failed: bool = False, force: bool = False, cache_dir: str | None = None, cache_enabled: bool = True,
             on_start: Callable[[int, int], None] | None = None,
             on_outcome: Callable[[Outcome], None] | None = None) -> GridSummary:
    """Run every unfinished cell of ``config``, storing each outcome in ``out/results.sqlite`` as it ends."""
    from mmbench.train.features import default_cache_dir

    started = time.perf_counter()
    expansion = plan(config)
    settings = WorkerSettings(config.dataset, config.device, str(cache_dir or default_cache_dir()), cache_enabled)
    summary = GridSummary(total=len(expansion.cells))
    with ResultStore(out) as store:
        store.set_meta("grid", {"name": config.name, "dataset": config.dataset, "seeds": config.seeds,
                                "counts": expansion.counts(), "notes": expansion.notes})
        todo, summary.skipped = select(expansion.cells, store, rerun_failed, force)
        outcomes = _executor(todo, settings, jobs, executor, address)
        if on_start:
            on_start(len(todo), summary.skipped)
        try:
            _store_all(outcomes, store, config.name, summary, on_outcome)
        finally:
            close = getattr(outcomes, "close", None)
            if close is not None:
                close()
    summary.seconds = time.perf_counter() - started
    return summary


def _store_all(outcomes: Iterable[Outcome], store: ResultStore, grid_name: str, summary: GridSummary,
               on_outcome: Callable[[Outcome], None] | None) -> None:
    for outcome in outcomes:
        cell = outcome.cell
        store.put(cell.cell_id, outcome.status, cell.family, cell.seed, cell.label, cell.config(),
                  outcome.result, outcome.error, grid_name, outcome.started_at)
        if outcome.status == "ok":
            summary.ok += 1
        else:
            summary.failed += 1
            summary.failures.append((cell.label, outcome.error or "unknown error"))
        if on_outcome:
            on_outcome(outcome)
