"""What runs a cell wherever it runs (this process, a worker process, a Ray task): load the dataset once
per process, run the cell, and turn any failure into a stored reason instead of an exception."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any

from mmbench.train.cell import Cell


@dataclass
class Outcome:
    """A finished cell: ``status`` is ``ok`` (with ``result``) or ``failed`` (with ``error``)."""

    cell: Cell
    status: str
    result: dict[str, Any] | None
    error: str | None
    started_at: float


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker needs besides the cell; small and picklable."""

    dataset: Any
    device: str = "auto"
    cache_dir: str | None = None
    cache_enabled: bool = True
    threads: int | None = None
    #: local plugins (files or modules) every worker loads before building components
    plugins: tuple[str, ...] = ()


_DATA: dict[str, Any] = {}
_CACHE: dict[tuple[str | None, bool], Any] = {}


def forget_datasets() -> None:
    """Drop the datasets decoded in this process: a new run reads its data afresh (it may have changed)."""
    _DATA.clear()


def loaded_dataset(dataset: Any, split_seed: int | None = None) -> Any:
    """The dataset decoded once per process and split seed (``split_seeds: true`` redraws splits per seed)."""
    import json

    from mmbench.data.loading import load, resolve_with_split

    key = json.dumps([dataset, split_seed], sort_keys=True, default=str)
    if key not in _DATA:
        _DATA[key] = load(resolve_with_split(dataset, split_seed))
    return _DATA[key]


def feature_cache(settings: WorkerSettings) -> Any:
    from mmbench.train.features import FeatureCache

    key = (settings.cache_dir, settings.cache_enabled)
    if key not in _CACHE:
        _CACHE[key] = FeatureCache(settings.cache_dir, enabled=settings.cache_enabled)
    return _CACHE[key]


def execute_cell(cell: Cell, data: Any, device: Any, cache: Any) -> dict[str, Any]:
    """Train ``cell``, then (when its grid asks) score the trained model under missing and perturbed
    modalities; the result record. Raises on failure."""
    from mmbench.train.cell_runner import train_cell

    trained = train_cell(cell, data, device, cache)
    if cell.robustness is not None:
        from mmbench.robustness.evaluate import evaluate_robustness

        trained.result["robustness"] = evaluate_robustness(
            trained.model, encoders=trained.encoders, data=data, cell=cell, scale=trained.scale, device=device,
            cache=cache, batch_size=int(cell.effective_training()["batch_size"]))
    return trained.result


def run_one(cell: Cell, settings: WorkerSettings, device_override: str | None = None) -> Outcome:
    """Run ``cell``; never raises for a cell's own failure (divergence, a component raising)."""
    import torch

    from mmbench.provenance import resolve_device

    if settings.threads:
        torch.set_num_threads(settings.threads)
    if settings.plugins:
        from mmbench.plugins import add_local_plugins

        add_local_plugins(list(settings.plugins))
    started = time.time()
    try:
        device = resolve_device(device_override or settings.device)
        result = execute_cell(cell, loaded_dataset(settings.dataset, cell.split_seed), device, feature_cache(settings))
        return Outcome(cell, "ok", result, None, started)
    except Exception as exc:  # noqa: BLE001 - a failing cell is a result, not a crash
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" (in {frames[-1].filename}:{frames[-1].lineno}, {frames[-1].name})" if frames else ""
        return Outcome(cell, "failed", {"traceback": traceback.format_exc(), "labels": cell.component_labels()},
                       f"{type(exc).__name__}: {exc}{where}", started)
