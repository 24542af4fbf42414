"""``--jobs N``: cells in N local worker processes, each fed one cell at a time by the driver.

The driver knows which cell every worker is running, so a worker that dies (killed, out of memory, a
component calling ``os._exit``) costs only its own cell: that cell is recorded as failed with the exit
code, a fresh worker takes its place, and the other workers never notice.

Workers are forked from the driver when that is safe (see :func:`start_method`), so they inherit its
imports, plugins and loaded dataset instead of paying seconds of start-up each.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Iterator, Sequence

from mmbench.train.cell import Cell
from mmbench.grid.worker import Outcome, WorkerSettings, run_one


def _on_cpu(settings: WorkerSettings) -> bool:
    from mmbench.provenance import resolve_device

    return settings.device == "cpu" or (settings.device == "auto" and resolve_device("auto").type == "cpu")


def start_method(settings: WorkerSettings) -> str:
    """``fork`` for one-thread (``settings.threads == 1``) CPU workers on Linux, ``spawn`` otherwise.

    Forking is only safe when the child uses no CUDA and one thread: the child of a process that already
    ran a multi-threaded OpenMP region hangs in its own first multi-threaded region (GNU libgomp is not
    fork-safe), so every other case spawns a fresh interpreter.
    """
    if sys.platform == "linux" and settings.threads == 1 and _on_cpu(settings):
        return "fork"
    return "spawn"


def preload(settings: WorkerSettings, split_seeds: Sequence[int | None] = (None,)) -> None:
    """Import the training stack and load the dataset (each split seed the cells use) in the driver, for
    forked workers to inherit."""
    import torch._dynamo  # noqa: F401 - torch.optim imports it when the first optimiser is built (seconds)

    import mmbench.train.cell_runner  # noqa: F401 - torch, sklearn and the components
    from mmbench.grid.worker import loaded_dataset, feature_cache

    for split_seed in dict.fromkeys(split_seeds):
        loaded_dataset(settings.dataset, split_seed)
    feature_cache(settings)


def _worker_main(conn: Connection, settings: WorkerSettings, device: str | None) -> None:
    """A worker: run each cell the driver sends until it sends ``None`` (``run_one`` sets the thread
    count from ``settings.threads`` before any torch op)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; it stops the workers
    try:
        while True:
            message = conn.recv()
            if message is None:
                return
            index, cell = message
            outcome = run_one(cell, settings, device)
            try:
                conn.send((index, outcome))
            except (EOFError, OSError):
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled
                conn.send((index, Outcome(cell, "failed", None, f"could not send the cell's result to the driver: "
                                                                 f"{type(exc).__name__}: {exc}", outcome.started_at)))
    except (EOFError, OSError):
        return  # the driver is gone (killed): nothing left to report to


@dataclass
class _Worker:
    process: Any
    conn: Connection
    device: str | None
    index: int | None = None  # the cell it is running


def _death_message(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.valid_signals() else str(-exitcode)
        how = f"was killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
    else:
        how = f"exited with code {exitcode}"
    return (f"the worker process running this cell {how}; the other cells went on. "
            "Fix the cause (or use fewer --jobs if memory ran out), then rerun with --rerun-failed")


class LocalPool:
    """Run cells in ``jobs`` local worker processes; iterate for outcomes as cells finish.

    Workers start when this object is built, before the caller starts threads of its own (a progress
    bar), so a fork never copies a lock held by another thread; replacements for dead workers spawn.
    ``close()`` stops the workers, killing any still running a cell.
    """

    def __init__(self, cells: Sequence[Cell], settings: WorkerSettings, jobs: int, devices: Sequence[str] | None = None):
        self.settings = settings
        self.start_method = "spawn" if devices else start_method(settings)
        if self.start_method == "fork":
            try:
                preload(settings, [c.split_seed for c in cells])
            except Exception:  # noqa: BLE001 - e.g. a broken dataset: each cell then fails with the reason, as in a serial run
                pass
        self._cells = list(cells)
        self._todo = deque(range(len(self._cells)))
        self._workers = [self._start(self.start_method, devices[i] if devices else None)
                         for i in range(min(jobs, len(self._cells)))]
        for worker in self._workers:
            self._feed(worker)

    def _start(self, method: str, device: str | None) -> _Worker:
        ctx = mp.get_context(method)
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_worker_main, args=(child, self.settings, device), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent, device)

    def _feed(self, worker: _Worker) -> None:
        if self._todo:
            worker.index = self._todo.popleft()
            worker.conn.send((worker.index, self._cells[worker.index]))

    def __iter__(self) -> Iterator[Outcome]:
        while True:
            busy = [w for w in self._workers if w.index is not None]
            if not busy:
                return
            ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy]))
            for worker in busy:
                if worker.conn in ready or worker.process.sentinel in ready:
                    yield self._collect(worker)

    def _collect(self, worker: _Worker) -> Outcome:
        index = worker.index
        assert index is not None
        try:
            got, outcome = worker.conn.recv()
            assert got == index
            worker.index = None
            self._feed(worker)
            return outcome
        except (EOFError, OSError):  # the worker died mid-cell
            worker.process.join()
            worker.index = None
            outcome = Outcome(self._cells[index], "failed", None, _death_message(worker.process.exitcode), 0.0)
            self._workers.remove(worker)
            worker.conn.close()
            if self._todo:  # the driver may have threads by now (a progress bar): spawn, never fork
                replacement = self._start("spawn", worker.device)
                self._workers.append(replacement)
                self._feed(replacement)
            return outcome

    def close(self) -> None:
        for worker in self._workers:
            if worker.index is None and worker.process.is_alive():
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
        for worker in self._workers:
            worker.process.join(timeout=5 if worker.index is None else 0)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join()
            worker.conn.close()
        self._workers = []


def cpu_threads(jobs: int) -> int:
    """Torch threads per worker: the cores split evenly, at least one."""
    return max(1, (os.cpu_count() or 1) // jobs)
