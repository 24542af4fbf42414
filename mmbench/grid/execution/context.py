"""What a job runs with in its process (the driver, a local worker process, a Ray task): the settings every
job shares, the cores it may use, and the dataset and feature cache each process builds once and every
later job reuses — the driver fills that cache first (:func:`warm_features`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker needs besides the job; small and picklable."""

    dataset: Any
    device: str = "auto"
    cache_dir: str | None = None
    cache_enabled: bool = True
    threads: int | None = None
    #: local plugins (files or modules) every worker loads before building components
    plugins: tuple[str, ...] = ()
    #: the modalities the grid uses, the only ones decoded (``None``: all the dataset's)
    modalities: tuple[str, ...] | None = None


_DATA: dict[str, Any] = {}
_CACHE: dict[tuple[str | None, bool], Any] = {}


def forget_datasets() -> None:
    """Drop the datasets decoded in this process: a new run reads its data afresh (it may have changed)."""
    _DATA.clear()


def _cached_or_loaded(dataset: Any, split_seed: int | None, modalities: Sequence[str] | None,
                      keep: bool) -> Any:
    """The decoded dataset of this process for (dataset, split seed, set of modalities), else loaded — and
    kept for the next caller when ``keep``."""
    import json

    from mmbench.data.loading import load, resolve_with_split

    chosen = None if modalities is None else sorted(set([modalities] if isinstance(modalities, str) else modalities))
    key = json.dumps([dataset, split_seed, chosen], sort_keys=True, default=str)
    if key in _DATA:
        return _DATA[key]
    data = load(resolve_with_split(dataset, split_seed), chosen)
    if keep:
        _DATA[key] = data
    return data


def loaded_dataset(dataset: Any, split_seed: int | None = None, modalities: Sequence[str] | None = None) -> Any:
    """The dataset decoded once per process, split seed (``split_seeds: true`` redraws splits per seed) and
    set of ``modalities`` (the grid's, the only ones decoded; ``None``: all)."""
    return _cached_or_loaded(dataset, split_seed, modalities, keep=True)


def split_fingerprint(dataset: Any, split_seed: int | None, modalities: Sequence[str] | None = None) -> Any:
    """The dataset at ``split_seed`` (of ``modalities``) as :func:`mmbench.provenance.dataset_identity` reads it
    (its fingerprint): the decoded copy of this process when there is one, else loaded for the fingerprint and
    not kept (a driver checking ten split seeds holds no ten copies)."""
    return _cached_or_loaded(dataset, split_seed, modalities, keep=False)


def settings_dataset(settings: WorkerSettings, split_seed: int | None = None) -> Any:
    """The dataset of ``settings`` at ``split_seed``, with the grid's modalities only (:func:`loaded_dataset`)."""
    return loaded_dataset(settings.dataset, split_seed, settings.modalities)


def feature_cache(settings: WorkerSettings) -> Any:
    """The frozen-feature cache of ``settings``, one per process."""
    from mmbench.train.features import FeatureCache

    key = (settings.cache_dir, settings.cache_enabled)
    if key not in _CACHE:
        _CACHE[key] = FeatureCache(settings.cache_dir, enabled=settings.cache_enabled)
    return _CACHE[key]


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the system has one, else all)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def warm_features(cells: Sequence[Any], settings: WorkerSettings) -> int:
    """Compute the frozen-encoder features ``cells`` will read, in this process with every usable core, before
    any job runs: workers (one thread each) then only read the cache — forked ones from the memory they
    inherit — instead of one worker encoding while the others wait on its lock. Returns how many
    (modality, encoder, split seed) sets were prepared. A set that fails here is left to its cells, which
    fail with the reason as they would without this step."""
    import torch

    from mmbench.plugins import get_registry
    from mmbench.provenance import resolve_device
    from mmbench.train.prepare import frozen_features

    cache = feature_cache(settings)
    if not cache.enabled:
        return 0
    wanted = {}  # one entry per (modality, encoder with its options, split seed), in the cells' order
    for cell in cells:
        for m, _ in cell.encoders:
            choice = cell.effective_encoder(m)
            wanted.setdefault(repr((m, choice.name, choice.options, cell.split_seed)), (m, choice, cell.split_seed))
    threads = torch.get_num_threads()
    torch.set_num_threads(usable_cores())
    done = 0
    try:
        device = resolve_device(settings.device)
        for modality, choice, split_seed in wanted.values():
            try:
                data = settings_dataset(settings, split_seed)
                encoder = get_registry("encoders").create(choice.name, data.modality_info[modality], **dict(choice.options))
                done += frozen_features(encoder, modality, data, device, cache) is not None
            except Exception:  # noqa: BLE001 - the cells report it, with their labels, as in a run without warming
                continue
    finally:
        torch.set_num_threads(threads)
    return done
