"""Run a grid: plan it, check everything once, skip finished cells, run the rest (tuning them first when
the grid says so), and write each outcome to the store as it ends.

**Stale cells.** A finished row whose recorded provenance (which plugin and version produced each
component; mmbench's own version and the defining module's hash for built-ins; a local plugin file's
content hash) differs from the
current one is *stale*: it is recomputed and the run says which and why. ``keep_stale=True`` keeps
such rows instead; the store's ``stale_kept`` meta lists them and the leaderboard marks them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from mmbench.grid.cells import Expansion, expand
from mmbench.grid.config import GridConfig
from mmbench.grid.jobs import CellSource, JobSource, TrialOutcome
from mmbench.grid.lock import RunLock
from mmbench.grid.scheduling import longest_first
from mmbench.grid.worker import Outcome, WorkerSettings
from mmbench.store.sqlite import ResultStore
from mmbench.train.cell import Cell


class PluginProblemsError(RuntimeError):
    """Plugins reported problems (failed imports, unknown hooks...): refused before any training."""


@dataclass
class GridSummary:
    total: int = 0
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    stale: list[tuple[str, str]] = field(default_factory=list)
    not_converged: int = 0
    seconds: float = 0.0
    #: tuning: configurations, counted trials, pruned, failed, trial seconds (None when untuned)
    tuning: dict | None = None


def plan(config: GridConfig) -> Expansion:
    """Expand a grid config against its dataset's spec (no data is loaded); local plugins load first."""
    from mmbench.data.loading import resolve
    from mmbench.plugins import add_local_plugins, get_registry

    if config.plugins:
        add_local_plugins(config.plugins)
    spec = resolve(config.dataset)
    name = config.dataset if isinstance(config.dataset, str) else config.dataset.get("name")
    datasets = get_registry("datasets")
    entry = datasets.get(name) if isinstance(name, str) and name in datasets else None
    return expand(config, {m: s.kind for m, s in spec.modalities.items()}, list(spec.tasks), entry,
                  {t: s.type for t, s in spec.tasks.items()})


def check_plugins(allow_problems: bool = False) -> list[str]:
    """The plugin problems that stop a run (raises :class:`PluginProblemsError` unless ``allow_problems``)."""
    from mmbench.plugins.manager import errors

    found = errors()
    if found and not allow_problems:
        raise PluginProblemsError("plugin problems, fix them before running (or pass --allow-plugin-problems):\n  - "
                                  + "\n  - ".join(found))
    return found


def check(config: GridConfig, expansion: Expansion) -> None:
    """Load the dataset once and build every component once (:mod:`mmbench.grid.preflight`)."""
    from mmbench.grid.preflight import preflight
    from mmbench.grid.worker import forget_datasets, loaded_dataset

    forget_datasets()  # a new run reads its data afresh; its cells then share this copy
    first = expansion.cells[0].split_seed if expansion.cells else None
    preflight(expansion, loaded_dataset(config.dataset, first))


def staleness(stored: str | None, current: str | None) -> str | None:
    """Why a stored row is stale (``None``: it is not)."""
    if stored == current:
        return None
    if stored is None:
        return "recorded before mmbench tracked component versions"
    old, new = json.loads(stored), json.loads(current or "{}")
    changes = [f"{k}: {old.get(k, '—')} → {new.get(k, '—')}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return "; ".join(changes) or "provenance differs"


@dataclass
class Selection:
    todo: list[Cell]
    skipped: int
    stale: list[tuple[Cell, str]]


def select(cells: Sequence[Cell], store: ResultStore, rerun_failed: bool, force: bool, keep_stale: bool = False) -> Selection:
    """The cells still to run, how many are skipped because they finished, and the stale finished ones
    (other component versions; or, for tuned cells, other hyperparameters than tuning now chooses)."""
    if force:
        return Selection(list(cells), 0, [])
    statuses, provenances = store.statuses(), store.provenances()
    tuned = {r.cell_id: r.config.get("hparams") for r in store.rows()} if any(c.tuning for c in cells) else {}
    todo, stale = [], []
    for c in cells:
        status = statuses.get(c.cell_id)
        if status is None or (rerun_failed and status == "failed"):
            todo.append(c)
            continue
        reason = staleness(provenances.get(c.cell_id), c.provenance) if status == "ok" else None
        if reason is None and status == "ok" and c.tuning is not None and tuned.get(c.cell_id) != dict(c.hparams):
            reason = f"tuning now chooses {dict(c.hparams)}, the stored cell trained with {tuned.get(c.cell_id)}"
        if reason is not None:
            stale.append((c, reason))
            if not keep_stale:
                todo.append(c)
    return Selection(todo, len(cells) - len(todo), stale)


def _executor(source: JobSource, settings: WorkerSettings, jobs: int, executor: str, address: str | None,
              split_seeds: Sequence[int | None]) -> Iterable[Outcome | TrialOutcome]:
    """Where the jobs run; local worker processes start here, before the caller's progress bar."""
    from mmbench.grid import executors

    if source.done():
        return []
    if executor == "ray":
        return executors.run_ray(source, settings, address=address)
    if jobs > 1:
        return executors.run_processes(source, settings, jobs, split_seeds)
    return executors.run_serial(source, settings)


def run_grid(config: GridConfig, out: str | Path, *, jobs: int = 1, executor: str = "local", address: str | None = None,
             rerun_failed: bool = False, force: bool = False, keep_stale: bool = False, cache_dir: str | None = None,
             cache_enabled: bool = True, allow_plugin_problems: bool = False,
             on_start: Callable[[int, int], None] | None = None,
             on_outcome: Callable[[Outcome], None] | None = None,
             on_stale: Callable[[list[tuple[Cell, str]], bool], None] | None = None,
             checked: Expansion | None = None) -> GridSummary:
    """Run every unfinished cell of ``config``, storing each outcome in ``out/results.sqlite`` as it ends.
    ``checked``: the expansion the caller already planned and checked (plan, plugins, preflight)."""
    from mmbench.data.loading import split_variance
    from mmbench.plugins.manager import local_plugin_specs
    from mmbench.train.features import default_cache_dir

    started = time.perf_counter()
    expansion = checked
    if expansion is None:
        expansion = plan(config)
        check_plugins(allow_plugin_problems)
        check(config, expansion)
    settings = WorkerSettings(config.dataset, config.device, str(cache_dir or default_cache_dir()), cache_enabled,
                              plugins=tuple(local_plugin_specs()))
    summary = GridSummary(total=len(expansion.cells))
    with RunLock(out), ResultStore(out) as store:
        store.set_meta("grid", {"name": config.name, "dataset": config.dataset, "seeds": config.seeds,
                                "counts": expansion.counts(), "notes": expansion.notes,
                                "split_seeds": config.split_seeds,
                                "split_variance": split_variance(config.dataset) if config.split_seeds else "none",
                                "tuning": config.tuning.as_dict() if config.tuning is not None else None})
        stale_seen: list[tuple[Cell, str]] = []
        driver = None
        if config.tuning is None:
            chosen = select(expansion.cells, store, rerun_failed, force, keep_stale)
            summary.skipped, stale_seen = chosen.skipped, list(chosen.stale)
            source: JobSource = CellSource(longest_first(chosen.todo) if jobs > 1 or executor == "ray" else chosen.todo)
            todo_count = len(chosen.todo)
        else:
            from mmbench.grid.tuning import TuningDriver
            from mmbench.grid.worker import loaded_dataset

            def select_finals(finals: list[Cell]) -> list[Cell]:
                chosen = select(finals, store, rerun_failed, force, keep_stale)
                summary.skipped += chosen.skipped
                stale_seen.extend(chosen.stale)
                if on_stale and chosen.stale:
                    on_stale(chosen.stale, keep_stale)
                return chosen.todo

            data = loaded_dataset(config.dataset, expansion.cells[0].split_seed if expansion.cells else None)
            driver = TuningDriver(expansion.cells, config.tuning, out, {t: i.type for t, i in data.task_info.items()},
                                  select_finals)
            source = driver
            todo_count = driver.remaining_trials() + len(driver.ready)
        summary.stale = [(c.label, why) for c, why in stale_seen]
        if on_stale and stale_seen and config.tuning is None:
            on_stale(stale_seen, keep_stale)
        outcomes = _executor(source, settings, jobs, executor, address, sorted({c.split_seed for c in expansion.cells},
                                                                                key=lambda s: (s is None, s or 0)))
        if on_start:
            on_start(todo_count, summary.skipped)
        try:
            for outcome in outcomes:
                if isinstance(outcome, TrialOutcome):
                    driver.record(outcome)  # type: ignore[union-attr]
                    if on_outcome:
                        on_outcome(outcome)
                else:
                    _store(outcome, store, config.name, summary, on_outcome, driver)
                for cell, why in (driver.failed_finals if driver is not None else []):
                    _store(Outcome(cell, "failed", None, why, time.time()), store, config.name, summary, on_outcome, driver)
                if driver is not None:
                    driver.failed_finals.clear()
        finally:
            close = getattr(outcomes, "close", None)
            if close is not None:
                close()
        kept = sorted(set(store.get_meta("stale_kept", []) or []) - {c.cell_id for c, _ in stale_seen if not keep_stale})
        if keep_stale:
            kept = sorted(set(kept) | {c.cell_id for c, _ in stale_seen})
        store.set_meta("stale_kept", kept)
        if driver is not None:
            summary.tuning = driver.summary()
        ids = {c.cell_id for c in expansion.cells}
        summary.not_converged = sum(1 for r in store.rows("ok") if r.cell_id in ids and (r.result or {}).get("converged") is False)
    summary.seconds = time.perf_counter() - started
    return summary


def _store(outcome: Outcome, store: ResultStore, grid_name: str, summary: GridSummary,
           on_outcome: Callable[[Outcome], None] | None, driver: object | None) -> None:
    cell = outcome.cell
    result = outcome.result
    record = driver.record_for(cell) if driver is not None else None  # type: ignore[attr-defined]
    if record is not None and result is not None:
        result = result | {"tuning": record}
    store.put(cell.cell_id, outcome.status, cell.family, cell.seed, cell.label, cell.config(),
              result, outcome.error, grid_name, outcome.started_at, cell.provenance)
    if outcome.status == "ok":
        summary.ok += 1
    else:
        summary.failed += 1
        summary.failures.append((cell.label, outcome.error or "unknown error"))
    if on_outcome:
        on_outcome(outcome)
