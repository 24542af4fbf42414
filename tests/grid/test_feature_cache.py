"""The frozen-feature cache: computed once, reused from disk by later runs, invalidated by a change of
data or encoder, and --no-cache running the frozen encoder inside the model with the same result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from mmbench.grid.config import load_config
from mmbench.grid.execution.context import loaded_dataset
from mmbench.grid.runner import plan
from mmbench.provenance import resolve_device
from mmbench.train.cell_runner import train_cell
from mmbench.train.features import FeatureCache


def test_disk_cache_is_reused_and_keyed_by_content(tmp_path: Path):
    calls = []

    def compute() -> torch.Tensor:
        calls.append(1)
        return torch.arange(6.0).reshape(2, 3)

    key = FeatureCache.key("data-hash", "train", "text", "encoder@rev")
    first = FeatureCache(tmp_path).get_or_compute(key, compute)
    again = FeatureCache(tmp_path)  # a later run: a new process would start the same way
    assert torch.equal(again.get_or_compute(key, compute), first) and len(calls) == 1 and again.hits == 1
    other = FeatureCache.key("data-hash-changed", "train", "text", "encoder@rev")
    assert other != key and FeatureCache.key("data-hash", "train", "text", "encoder@rev2") != key
    again.get_or_compute(other, compute)
    assert len(calls) == 2
    assert sorted(p.suffix for p in tmp_path.iterdir() if p.suffix != ".lock") == [".safetensors", ".safetensors"]


def test_a_damaged_cache_file_is_discarded_with_a_warning_and_recomputed(tmp_path: Path):
    key = FeatureCache.key("data-hash", "train", "text", "encoder@rev")
    FeatureCache(tmp_path).get_or_compute(key, lambda: torch.ones(2, 3))
    path = tmp_path / f"{key}.safetensors"
    path.write_bytes(path.read_bytes()[:20])  # truncated, as by a full disk
    cache = FeatureCache(tmp_path)
    with pytest.warns(RuntimeWarning, match="discarded") as caught:
        value = cache.get_or_compute(key, lambda: torch.zeros(2, 3))
    (warning,) = caught
    assert str(path) in str(warning.message) and "could not be read" in str(warning.message)
    assert torch.equal(value, torch.zeros(2, 3)) and cache.misses == 1
    assert torch.equal(FeatureCache(tmp_path).get_or_compute(key, lambda: torch.ones(1)), torch.zeros(2, 3))  # rewritten


def test_no_cache_runs_the_frozen_encoder_in_the_model_with_the_same_result(write_grid, tmp_path: Path):
    grid = write_grid(tmp_path / "g.yaml", encoders={"a": ["identity"], "b": ["identity"]}, families=["mt-cm"],
                      weightings=["ew"])
    cfg = load_config(grid)
    (cell,) = plan(cfg).cells
    data, device = loaded_dataset(cfg.dataset), resolve_device("cpu")
    cache = FeatureCache(tmp_path / "cache")
    cached = train_cell(cell, data, device, cache).result
    assert cache.misses == 6  # 2 modalities x 3 splits, computed once
    train_cell(cell, data, device, cache)
    assert cache.misses == 6 and cache.hits == 6
    uncached = train_cell(cell, data, device, FeatureCache(enabled=False)).result
    assert json.dumps(cached["metrics"], sort_keys=True) == json.dumps(uncached["metrics"], sort_keys=True)


def _compute_in_process(directory: str, counter: str) -> None:
    import os
    import time

    def compute() -> torch.Tensor:
        with open(counter, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        time.sleep(0.5)  # long enough for the other process to be waiting on the lock
        return torch.ones(3)

    FeatureCache(directory).get_or_compute(FeatureCache.key("same"), compute)


def test_parallel_processes_compute_each_feature_set_once(tmp_path: Path):
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    counter = tmp_path / "computed"
    procs = [ctx.Process(target=_compute_in_process, args=(str(tmp_path / "cache"), str(counter))) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    assert len(counter.read_text().splitlines()) == 1
