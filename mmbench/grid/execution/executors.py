"""Where jobs run: in this process, in ``--jobs N`` local worker processes, or as Ray tasks.

Every executor pulls jobs (cells and tuning trials) from a :class:`~mmbench.grid.execution.jobs.JobSource`,
runs each with :func:`~mmbench.grid.execution.worker.execute` and yields the outcomes as they finish;
only the driver writes the results store and the tuning studies, so resume behaves the same whichever
executor ran the jobs. Local runs first compute every frozen encoder's features in the driver with
every core (:func:`~mmbench.grid.execution.context.warm_features`), serial and parallel alike, so both
read the same features.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Iterator, Sequence

from mmbench.grid.execution.context import WorkerSettings, usable_cores, warm_features
from mmbench.grid.execution.jobs import JobSource, Outcome, TrialOutcome
from mmbench.grid.execution.local_pool import LocalPool, cpu_threads
from mmbench.grid.execution.worker import execute


def default_jobs(device: str = "auto") -> int:
    """Local workers when ``--jobs`` is not given: one per GPU when ``device`` resolves to CUDA, else one per
    usable CPU core (each worker then runs one torch thread)."""
    from mmbench.provenance import resolve_device

    if resolve_device(device).type == "cuda":
        import torch

        return max(1, torch.cuda.device_count())
    return usable_cores()


def start(source: JobSource, settings: WorkerSettings, *, jobs: int = 1, executor: str = "local",
          address: str | None = None, cells: Sequence[Any] = ()) -> Iterable[Outcome | TrialOutcome]:
    """The outcomes of ``source``'s jobs as they finish: Ray tasks (``executor="ray"``), ``jobs`` local worker
    processes (they start here, before the caller starts a progress bar), or this process. ``cells``: the
    cells the jobs come from; a local run computes their frozen features here first, with every core. Call the
    result's ``close()``, when it has one, once done."""
    if source.done():
        return []
    if executor == "ray":
        from mmbench.grid.execution.ray_executor import run_ray

        return run_ray(source, settings, address=address)
    warm_features(cells, settings)
    if jobs > 1:
        return run_processes(source, settings, jobs, cells)
    return run_serial(source, settings)


def run_serial(source: JobSource, settings: WorkerSettings) -> Iterator[Outcome | TrialOutcome]:
    """Run jobs one after another in this process."""
    while (job := source.next_job()) is not None:
        yield execute(job, settings)
    if not source.done():  # pragma: no cover - a source must hand out work whenever none is running
        raise RuntimeError("the job source has work left but none ready while nothing runs")


def _gpu_devices(settings: WorkerSettings, jobs: int) -> list[str] | None:
    """One CUDA device per worker when several GPUs exist and the grid may use them."""
    if settings.device not in ("auto", "cuda"):
        return None
    import torch

    count = torch.cuda.device_count()
    if count < 2:
        return None
    return [f"cuda:{i % count}" for i in range(jobs)]


def run_processes(source: JobSource, settings: WorkerSettings, jobs: int, cells: Sequence[Any] = ()) -> LocalPool:
    """Run jobs in ``jobs`` local worker processes (``cores // jobs`` torch threads each on CPU); the
    workers start now, after the driver loaded the datasets of ``cells`` (each split seed) for forked
    workers to inherit. Iterate the result for outcomes and ``close()`` it when done."""
    worker_settings = replace(settings, threads=settings.threads or cpu_threads(jobs))
    split_seeds = sorted({c.split_seed for c in cells}, key=lambda s: (s is None, s or 0)) or [None]
    return LocalPool(source, worker_settings, jobs, _gpu_devices(settings, jobs), split_seeds)
