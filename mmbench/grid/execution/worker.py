"""What runs a job wherever an executor puts it (this process, a worker process, a Ray task):
:func:`execute` prepares the process (threads, local plugins), runs the cell or the tuning trial
(:mod:`mmbench.grid.execution.trial`), and turns the job's own failure into an outcome instead of an
exception."""

from __future__ import annotations

import time
import traceback
from typing import Any

from mmbench.grid.execution.context import WorkerSettings, feature_cache, settings_dataset
from mmbench.grid.execution.jobs import Job, Outcome, TrialJob, TrialOutcome
from mmbench.grid.execution.trial import trial_outcome
from mmbench.train.cell import Cell


def execute(job: Job, settings: WorkerSettings, device_override: str | None = None) -> Outcome | TrialOutcome:
    """Run ``job`` (a cell or a tuning trial) in this process; never raises for the job's own failure
    (divergence, a component raising). ``device_override``: this worker's device (one GPU per worker)."""
    import torch

    if settings.threads:
        torch.set_num_threads(settings.threads)
    if settings.plugins:
        from mmbench.plugins import add_local_plugins

        add_local_plugins(list(settings.plugins))
    if isinstance(job, TrialJob):
        return trial_outcome(job, settings, device_override)
    return _cell_outcome(job, settings, device_override)


def cell_result(cell: Cell, data: Any, device: Any, cache: Any) -> dict[str, Any]:
    """The record a grid stores for ``cell``: trained (:func:`~mmbench.train.cell_runner.train_cell`), then,
    when its grid asks, scored under missing and perturbed modalities. Raises on failure."""
    from mmbench.train.cell_runner import train_cell

    trained = train_cell(cell, data, device, cache)
    if cell.robustness is not None:
        from mmbench.robustness.evaluate import evaluate_robustness

        trained.result["robustness"] = evaluate_robustness(
            trained.model, encoders=trained.encoders, data=data, cell=cell, scale=trained.scale, device=device,
            cache=cache, batch_size=int(cell.effective_training()["batch_size"]))
    return trained.result


def _cell_outcome(cell: Cell, settings: WorkerSettings, device_override: str | None) -> Outcome:
    from mmbench.provenance import resolve_device

    started = time.time()
    try:
        device = resolve_device(device_override or settings.device)
        result = cell_result(cell, settings_dataset(settings, cell.split_seed), device, feature_cache(settings))
        return Outcome(cell, "ok", result, None, started)
    except Exception as exc:  # noqa: BLE001 - a failing cell is a result, not a crash
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" (in {frames[-1].filename}:{frames[-1].lineno}, {frames[-1].name})" if frames else ""
        return Outcome(cell, "failed", {"traceback": traceback.format_exc(), "labels": cell.component_labels()},
                       f"{type(exc).__name__}: {exc}{where}", started)
