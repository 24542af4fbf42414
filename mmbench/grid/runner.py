"""Run a grid: plan it, check everything once, skip finished cells, run the rest (tuning them first when
the grid says so), and write each outcome to the store as it ends.

**Stale cells.** A finished row whose recorded provenance (:mod:`mmbench.provenance`: per component the
plugin's distribution and version and the digest of its defining module, or a local plugin file's digest;
the dataset's data fingerprint) differs from the current one is *stale*: it is recomputed and the run says
which and why. ``keep_stale=True`` keeps such rows instead; the store's ``stale_kept`` meta lists them and
the leaderboard marks them. The store's ``grid_cells`` meta lists the cells of the latest grid run, so the
leaderboard can tell current rows from superseded ones.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

from mmbench.grid.cells import Expansion, expand, with_dataset
from mmbench.grid.config import GridConfig
from mmbench.grid.execution.context import WorkerSettings
from mmbench.grid.execution.jobs import CellSource, JobSource, Outcome, TrialOutcome, longest_first
from mmbench.grid.lock import RunLock
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
    from mmbench.plugins import add_local_plugins

    if config.plugins:
        add_local_plugins(config.plugins)
    spec = resolve(config.dataset)
    return expand(config, {m: s.kind for m, s in spec.modalities.items()}, list(spec.tasks),
                  {t: s.type for t, s in spec.tasks.items()})


def check_plugins(allow_problems: bool = False) -> list[str]:
    """The plugin problems that stop a run (raises :class:`PluginProblemsError` unless ``allow_problems``)."""
    from mmbench.plugins.manager import errors

    found = errors()
    if found and not allow_problems:
        raise PluginProblemsError("plugin problems, fix them before running (or pass --allow-plugin-problems):\n  - "
                                  + "\n  - ".join(found))
    return found


def check(config: GridConfig, expansion: Expansion) -> Expansion:
    """Load the dataset once, build and try every component on it (:mod:`mmbench.grid.preflight`), and return
    the expansion with the dataset's identity — the data fingerprint, of the grid's modalities, at each cell's
    split — in every cell's provenance (:func:`~mmbench.grid.cells.with_dataset`): a stored cell whose split
    was drawn otherwise is stale, never reused.
    """
    from mmbench.grid.execution.context import forget_datasets, loaded_dataset, split_fingerprint
    from mmbench.grid.preflight import preflight
    from mmbench.provenance import dataset_identity

    forget_datasets()  # a new run reads its data afresh; its cells then share this copy
    data = loaded_dataset(config.dataset, None, config.modalities)
    preflight(expansion, data)
    identities: dict[int | None, str] = {None: dataset_identity(data)}
    for split_seed in sorted({c.split_seed for c in expansion.cells if c.split_seed is not None}):
        identities[split_seed] = dataset_identity(split_fingerprint(config.dataset, split_seed, config.modalities))
    return with_dataset(expansion, identities)


def grid_cells(config: GridConfig, expansion: Expansion) -> list[Cell]:
    """The cells as the store will hold them: a tuned grid's carry its tuning protocol (part of their id)."""
    if config.tuning is None:
        return list(expansion.cells)
    protocol = config.tuning.to_json()
    return [replace(c, tuning=protocol) for c in expansion.cells]


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
    #: cells stored as failed and left alone (no ``rerun_failed``)
    failed: int = 0

    def counts(self, keep_stale: bool = False) -> dict[str, int]:
        """``finished`` (current), ``stale``, ``failed`` (left alone) and ``to run`` (new, or failed and rerun):
        what ``--dry-run`` prints; they add up to the grid's cells. A run trains ``to run`` plus the stale ones
        (unless ``keep_stale``)."""
        stale = len(self.stale)
        return {"finished": self.skipped - self.failed - (stale if keep_stale else 0), "stale": stale,
                "failed": self.failed, "to run": len(self.todo) - (0 if keep_stale else stale)}


def select(cells: Sequence[Cell], store: ResultStore, rerun_failed: bool, force: bool, keep_stale: bool = False) -> Selection:
    """The cells still to run, how many are skipped because they finished, and the stale finished ones
    (other component versions or data; or, for tuned cells, other hyperparameters than tuning now chooses —
    judged only once tuning chose them: a template cell has none yet)."""
    if force:
        return Selection(list(cells), 0, [])
    statuses, provenances = store.statuses(), store.provenances()
    tuned = {r.cell_id: r.config.get("hparams") for r in store.rows()} if any(c.tuning for c in cells) else {}
    todo, stale, failed = [], [], 0
    for c in cells:
        status = statuses.get(c.cell_id)
        if status is None or (rerun_failed and status == "failed"):
            todo.append(c)
            continue
        failed += status == "failed"
        reason = staleness(provenances.get(c.cell_id), c.provenance) if status == "ok" else None
        if (reason is None and status == "ok" and c.tuning is not None and c.hparams
                and tuned.get(c.cell_id) != dict(c.hparams)):
            reason = f"tuning now chooses {dict(c.hparams)}, the stored cell trained with {tuned.get(c.cell_id)}"
        if reason is not None:
            stale.append((c, reason))
            if not keep_stale:
                todo.append(c)
    return Selection(todo, len(cells) - len(todo), stale, failed)


def preview(config: GridConfig, expansion: Expansion, out: str | Path, rerun_failed: bool = False,
            force: bool = False, keep_stale: bool = False) -> Selection:
    """What a run of the checked ``expansion`` in ``out`` would do, nothing written (``--dry-run``)."""
    cells = grid_cells(config, expansion)
    try:
        store = ResultStore(out, create=False)
    except FileNotFoundError:  # nothing run there yet
        return Selection(list(cells), 0, [])
    with store:
        return select(cells, store, rerun_failed, force, keep_stale)


def run_grid(config: GridConfig, out: str | Path, *, jobs: int | None = 1, executor: str = "local", address: str | None = None,
             rerun_failed: bool = False, force: bool = False, keep_stale: bool = False, cache_dir: str | None = None,
             cache_enabled: bool = True, allow_plugin_problems: bool = False,
             on_start: Callable[[int, int], None] | None = None,
             on_outcome: Callable[[Outcome], None] | None = None,
             on_stale: Callable[[list[tuple[Cell, str]], bool], None] | None = None,
             checked: Expansion | None = None) -> GridSummary:
    """Run every unfinished cell of ``config``, storing each outcome in ``out/results.sqlite`` as it ends.
    ``jobs``: local worker processes (1: this process; ``None``: one per core, or one per GPU on CUDA —
    :func:`~mmbench.grid.execution.executors.default_jobs`). ``checked``: the expansion the caller already
    planned and checked (plan, plugins, preflight)."""
    from mmbench.data.loading import split_variance
    from mmbench.grid.execution.executors import default_jobs, start
    from mmbench.plugins.manager import local_plugin_specs
    from mmbench.train.features import default_cache_dir

    started = time.perf_counter()
    jobs = jobs if jobs is not None else default_jobs(config.device)
    expansion = checked
    if expansion is None:
        expansion = plan(config)
        check_plugins(allow_plugin_problems)
        expansion = check(config, expansion)
    settings = WorkerSettings(config.dataset, config.device, str(cache_dir or default_cache_dir()), cache_enabled,
                              plugins=tuple(local_plugin_specs()),
                              modalities=tuple(config.modalities) if config.modalities else None)
    summary = GridSummary(total=len(expansion.cells))
    with RunLock(out), ResultStore(out) as store:
        store.set_meta("grid", {"name": config.name, "dataset": config.dataset, "seeds": config.seeds,
                                "counts": expansion.counts(), "notes": expansion.notes,
                                "split_seeds": config.split_seeds,
                                "split_variance": split_variance(config.dataset) if config.split_seeds else "none",
                                "tuning": config.tuning.as_dict() if config.tuning is not None else None,
                                "claims": config.claims.as_dict() if config.claims is not None else None})
        store.set_meta("grid_cells", sorted(c.cell_id for c in grid_cells(config, expansion)))
        stale_seen: list[tuple[Cell, str]] = []
        driver = None
        if config.tuning is None:
            chosen = select(expansion.cells, store, rerun_failed, force, keep_stale)
            summary.skipped, stale_seen = chosen.skipped, list(chosen.stale)
            source: JobSource = CellSource(longest_first(chosen.todo) if jobs > 1 or executor == "ray" else chosen.todo)
            planned = chosen.todo
            todo_count = len(chosen.todo)
        else:
            from mmbench.grid.execution.context import settings_dataset
            from mmbench.grid.tuning import TuningDriver

            def select_finals(finals: list[Cell]) -> list[Cell]:
                chosen = select(finals, store, rerun_failed, force, keep_stale)
                summary.skipped += chosen.skipped
                stale_seen.extend(chosen.stale)
                if on_stale and chosen.stale:
                    on_stale(chosen.stale, keep_stale)
                return chosen.todo

            data = settings_dataset(settings, expansion.cells[0].split_seed if expansion.cells else None)
            driver = TuningDriver(expansion.cells, config.tuning, out, {t: i.type for t, i in data.task_info.items()},
                                  select_finals)
            source = driver
            planned = list(expansion.cells)  # the configurations' cells: trials and finals use their encoders
            todo_count = driver.remaining_trials() + len(driver.ready)
        summary.stale = [(c.label, why) for c, why in stale_seen]
        if on_stale and stale_seen and config.tuning is None:
            on_stale(stale_seen, keep_stale)
        outcomes = start(source, settings, jobs=jobs, executor=executor, address=address,  # local workers start here
                         cells=planned)
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
