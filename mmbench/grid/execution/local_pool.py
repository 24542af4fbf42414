"""``--jobs N``: jobs (cells and tuning trials) in N local worker processes, each fed one job at a time
by the driver from a job source (:class:`~mmbench.grid.execution.jobs.JobSource`), so work that becomes
ready later (a configuration's final cells once it is tuned) is handed out as soon as a worker is free.

The driver knows which job every worker is running, so a worker that dies (killed, out of memory, a
component calling ``os._exit``) costs only its own job: that cell (or trial) is recorded as failed with
the exit code, a fresh worker takes its place, and the other workers never notice.
A driver that dies (``kill -9``) takes its workers with it, so rerunning the command resumes at once.

Workers are forked from the driver when that is safe (see :func:`start_method`), so they inherit its
imports, plugins and loaded dataset instead of paying seconds of start-up each.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Iterator, Sequence

from mmbench.grid.execution.context import WorkerSettings, feature_cache, settings_dataset, usable_cores
from mmbench.grid.execution.jobs import Job, JobSource, Outcome, TrialOutcome, failed
from mmbench.grid.execution.worker import execute


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

    for split_seed in dict.fromkeys(split_seeds):
        settings_dataset(settings, split_seed)
    feature_cache(settings)


def _die_with(driver: int) -> None:
    """Have the kernel kill this worker when the driver dies (Linux; ``kill -9`` included): an orphan would
    go on training a cell nobody stores and, forked, hold the driver's lock on the run directory, so that
    rerunning the command would be refused until it finished."""
    if sys.platform != "linux":
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - no prctl: the pipe's EOF still ends an idle worker
        return
    if os.getppid() != driver:  # the driver died before the request took effect
        os._exit(0)


def _worker_main(conn: Connection, settings: WorkerSettings, device: str | None, driver: int) -> None:
    """A worker: run each job the driver sends until it sends ``None`` (``execute`` sets the thread
    count from ``settings.threads`` before any torch op)."""
    _die_with(driver)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; it stops the workers
    try:
        while True:
            message = conn.recv()
            if message is None:
                return
            index, job = message
            outcome = execute(job, settings, device)
            try:
                conn.send((index, outcome))
            except (EOFError, OSError):
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled
                conn.send((index, failed(job, f"could not send the result to the driver: {type(exc).__name__}: {exc}")))
    except (EOFError, OSError):
        return  # the driver is gone (killed): nothing left to report to


@dataclass
class _Worker:
    process: Any
    conn: Connection
    device: str | None
    job: Job | None = None  # what it is running
    index: int = -1


def _death_message(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.valid_signals() else str(-exitcode)
        how = f"was killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
    else:
        how = f"exited with code {exitcode}"
    return (f"the worker process running this cell {how}; the other cells went on. "
            "Fix the cause (or use fewer --jobs if memory ran out), then rerun with --rerun-failed")


class LocalPool:
    """Run the jobs of ``source`` in ``jobs`` local worker processes; iterate for outcomes as they finish.

    Workers start when this object is built, before the caller starts threads of its own (a progress
    bar), so a fork never copies a lock held by another thread; replacements for dead workers spawn.
    After each outcome is consumed, idle workers get the source's next ready jobs. ``close()`` stops the
    workers, killing any still running a job.
    """

    def __init__(self, source: JobSource, settings: WorkerSettings, jobs: int, devices: Sequence[str] | None = None,
                 split_seeds: Sequence[int | None] = (None,)):
        self.settings = settings
        self.source = source
        self.start_method = "spawn" if devices else start_method(settings)
        if self.start_method == "fork":
            try:
                preload(settings, split_seeds)
            except Exception:  # noqa: BLE001 - e.g. a broken dataset: each cell then fails with the reason, as in a serial run
                pass
        self._sent = 0
        known = len(source) if hasattr(source, "__len__") else jobs  # type: ignore[arg-type]
        self._workers = [self._start(self.start_method, devices[i] if devices else None) for i in range(min(jobs, known))]
        self._feed_idle()

    def _start(self, method: str, device: str | None) -> _Worker:
        ctx = mp.get_context(method)
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_worker_main, args=(child, self.settings, device, os.getpid()), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent, device)

    def _feed_idle(self) -> None:
        for worker in self._workers:
            if worker.job is None:
                job = self.source.next_job()
                if job is None:
                    return
                worker.job, worker.index = job, self._sent
                self._sent += 1
                worker.conn.send((worker.index, job))

    def __iter__(self) -> Iterator[Outcome | TrialOutcome]:
        while True:
            busy = [w for w in self._workers if w.job is not None]
            if not busy:
                return
            ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy]))
            for worker in busy:
                if worker.conn in ready or worker.process.sentinel in ready:
                    yield self._collect(worker)
                    self._feed_idle()  # after the consumer handled the outcome: new work may be ready

    def _collect(self, worker: _Worker) -> Outcome | TrialOutcome:
        job = worker.job
        assert job is not None
        try:
            got, outcome = worker.conn.recv()
            assert got == worker.index
            worker.job = None
            return outcome
        except (EOFError, OSError):  # the worker died mid-job
            worker.process.join()
            worker.job = None
            outcome = failed(job, _death_message(worker.process.exitcode))
            self._workers.remove(worker)
            worker.conn.close()
            if not self.source.done():  # the driver may have threads by now (a progress bar): spawn, never fork
                self._workers.append(self._start("spawn", worker.device))
            return outcome

    def close(self) -> None:
        for worker in self._workers:
            if worker.job is None and worker.process.is_alive():
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
        for worker in self._workers:
            worker.process.join(timeout=5 if worker.job is None else 0)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join()
            worker.conn.close()
        self._workers = []


def cpu_threads(jobs: int) -> int:
    """Torch threads per worker: the usable cores split evenly, at least one."""
    return max(1, usable_cores() // jobs)
