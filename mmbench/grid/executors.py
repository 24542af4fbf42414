"""Where cells run: in this process, in ``--jobs N`` local worker processes, or as Ray tasks.

Every executor yields :class:`~mmbench.grid.worker.Outcome` objects as cells finish; only the driver
writes the store, so resume behaves the same whichever executor ran the cells.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator, Sequence

from mmbench.grid.local_pool import LocalPool, cpu_threads
from mmbench.grid.scheduling import longest_first
from mmbench.grid.worker import Outcome, WorkerSettings, run_one
from mmbench.train.cell import Cell

EXECUTORS = ("local", "ray")


def run_serial(cells: Sequence[Cell], settings: WorkerSettings) -> Iterator[Outcome]:
    for cell in cells:
        yield run_one(cell, settings)


def _gpu_devices(settings: WorkerSettings, jobs: int) -> list[str] | None:
    """One CUDA device per worker when several GPUs exist and the grid may use them."""
    if settings.device not in ("auto", "cuda"):
        return None
    import torch

    count = torch.cuda.device_count()
    if count < 2:
        return None
    return [f"cuda:{i % count}" for i in range(jobs)]


def run_processes(cells: Sequence[Cell], settings: WorkerSettings, jobs: int) -> LocalPool:
    """Run cells in ``jobs`` local worker processes (``cores // jobs`` torch threads each on CPU); the
    workers start now. Iterate the result for outcomes and ``close()`` it when done."""
    worker_settings = replace(settings, threads=settings.threads or cpu_threads(jobs))
    return LocalPool(longest_first(cells), worker_settings, jobs, _gpu_devices(settings, jobs))


def run_ray(cells: Sequence[Cell], settings: WorkerSettings, address: str | None = None, retries: int = 2) -> Iterator[Outcome]:
    """Run cells as Ray tasks (1 CPU, and 1 GPU each when the cluster has GPUs); retried when a worker dies."""
    from mmbench.grid.ray_executor import run_ray as _run

    yield from _run(cells, settings, address=address, retries=retries)
