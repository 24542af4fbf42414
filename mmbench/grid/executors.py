"""Where cells run: in this process, in ``--jobs N`` local worker processes, or as Ray tasks.

Every executor yields :class:`~mmbench.grid.worker.Outcome` objects as cells finish; only the driver
writes the store, so resume behaves the same whichever executor ran the cells.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Iterator, Sequence

from mmbench.grid.cells import Cell
from mmbench.grid.worker import Outcome, WorkerSettings, run_one

EXECUTORS = ("local", "ray")


def longest_first(cells: Sequence[Cell]) -> list[Cell]:
    """Cells in a rough longest-first order (tasks × modalities, more for multitask strategies), so that
    parallel workers do not end with one long cell running alone."""
    return sorted(cells, key=lambda c: -(len(c.tasks) * len(c.modalities) + (c.weighting is not None) * len(c.tasks)))


def run_serial(cells: Sequence[Cell], settings: WorkerSettings) -> Iterator[Outcome]:
    for cell in cells:
        yield run_one(cell, settings)


_WORKER_DEVICE: str | None = None


def _init_worker(devices: "mp.Queue[str] | None") -> None:
    global _WORKER_DEVICE
    if devices is not None:
        _WORKER_DEVICE = devices.get()


def _run_in_worker(cell: Cell, settings: WorkerSettings) -> Outcome:
    return run_one(cell, settings, _WORKER_DEVICE)


def _gpu_devices(settings: WorkerSettings, jobs: int) -> list[str] | None:
    """One CUDA device per worker when several GPUs exist and the grid may use them."""
    if settings.device not in ("auto", "cuda"):
        return None
    import torch

    count = torch.cuda.device_count()
    if count < 2:
        return None
    return [f"cuda:{i % count}" for i in range(jobs)]


def run_processes(cells: Sequence[Cell], settings: WorkerSettings, jobs: int) -> Iterator[Outcome]:
    """Run cells in ``jobs`` spawned worker processes (one torch thread each on CPU)."""
    devices = _gpu_devices(settings, jobs)
    ctx = mp.get_context("spawn")
    queue = None
    if devices:
        queue = ctx.Queue()
        for d in devices:
            queue.put(d)
    cpu_threads = max(1, (os.cpu_count() or 1) // jobs)
    worker_settings = WorkerSettings(settings.dataset, settings.device, settings.cache_dir, settings.cache_enabled,
                                     settings.threads or cpu_threads)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(queue,)) as pool:
        pending = {pool.submit(_run_in_worker, cell, worker_settings): cell for cell in longest_first(cells)}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    cell = pending.pop(fut)
                    try:
                        yield fut.result()
                    except Exception as exc:  # noqa: BLE001 - a worker died (killed, out of memory)
                        yield Outcome(cell, "failed", None, f"worker process died: {type(exc).__name__}: {exc}", 0.0)
        finally:
            for fut in pending:
                fut.cancel()


def run_ray(cells: Sequence[Cell], settings: WorkerSettings, address: str | None = None, retries: int = 2) -> Iterator[Outcome]:
    """Run cells as Ray tasks (1 CPU, and 1 GPU each when the cluster has GPUs); retried when a worker dies."""
    from mmbench.grid.ray_executor import run_ray as _run

    yield from _run(cells, settings, address=address, retries=retries)
