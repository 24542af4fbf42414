"""Fabricated but realistic stores for the leaderboard tests (no training: the maths is what is tested)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from mmbench.store import ResultStore

TRAINING = {"epochs": 2, "batch_size": 64, "lr": 0.001, "optimizer": "adam", "patience": 2, "trunk_dim": 16}


def config(family: str, modalities: list[str], tasks: list[str], *, encoders: dict[str, str] | None = None,
           aligner: str | None = None, fuser: str | None = None, weighting: str | None = None, seed: int = 0,
           dataset: str = "toy", **extra: Any) -> dict[str, Any]:
    """A stored config; ``extra`` adds newer keys (``architecture``, ``tuning``, ``hparams``, ``split_seed``)."""
    encoders = encoders or {m: "mlp" for m in modalities}
    return {"family": family, "dataset": dataset, "modalities": modalities, "tasks": tasks,
            "encoders": {m: {"name": encoders[m]} for m in modalities},
            "aligner": {"name": aligner} if aligner else None, "fuser": {"name": fuser} if fuser else None,
            "weighting": {"name": weighting} if weighting else None, "seed": seed, "training": dict(TRAINING)} | extra


def result(test: dict[str, dict[str, float]], validation: dict[str, dict[str, float]] | None = None,
           params: int = 1000, seconds: float = 1.5, memory: float = 120.0, **extra: Any) -> dict[str, Any]:
    """A stored result; ``extra`` adds newer keys (``chance``, ``converged``, ``tuning``)."""
    return {"metrics": {"test": test, "validation": validation or test}, "weights": {t: 1.0 for t in test},
            "train_seconds": seconds, "params": params, "trainable_params": params, "peak_memory_mb": memory,
            "peak_memory_kind": "process_peak_rss", "device": "cpu", "versions": {"mmbench": "0.1.0"}} | extra


def put(store: ResultStore, cfg: dict[str, Any], res: dict[str, Any] | None = None, error: str | None = None) -> str:
    cell_id = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]
    label = f"[{cfg['family']}] " + " | ".join(["+".join(cfg["modalities"]), "+".join(cfg["tasks"])]) + f" | seed {cfg['seed']}"
    store.put(cell_id, "failed" if error else "ok", cfg["family"], cfg["seed"], label, cfg, res, error, "toy-grid")
    return cell_id


def cls(acc: float, f1: float) -> dict[str, float]:
    return {"accuracy": acc, "macro_f1": f1}


def reg(mae: float, rmse: float) -> dict[str, float]:
    return {"mae": mae, "rmse": rmse}


def full_grid(directory: Path, seeds: tuple[int, ...] = (0, 1, 2), failed: bool = True) -> Path:
    """Every family on modalities a, b and tasks c (classification), r (regression); multitask and
    cross-modal cells are a little better than single-task ones, UW a little better than EW on every seed."""
    with ResultStore(directory) as store:
        store.set_meta("grid", {"name": "toy-grid", "dataset": "toy", "seeds": list(seeds), "counts": {}, "notes": []})
        for s in seeds:
            j = 0.01 * s
            for m, base in (("a", 0.70), ("b", 0.60)):
                put(store, config("st-sm", [m], ["c"], seed=s), result({"c": cls(base + j, base - 0.1 + j)}))
                put(store, config("st-sm", [m], ["r"], seed=s), result({"r": reg(2.0 - base + j, 3.0 - base + j)}))
                for w, bonus in (("ew", 0.0), ("uw", 0.02)):
                    put(store, config("mt-sm", [m], ["c", "r"], weighting=w, seed=s),
                        result({"c": cls(base + 0.01 + bonus + j, base - 0.09 + bonus + j),
                                "r": reg(2.0 - base - 0.05 - bonus + j, 3.0 - base - 0.05 - bonus + j)}))
            cm = dict(aligner="none", fuser="concat")
            put(store, config("st-cm", ["a", "b"], ["c"], seed=s, **cm), result({"c": cls(0.75 + j, 0.65 + j)}, params=2000))
            put(store, config("st-cm", ["a", "b"], ["r"], seed=s, **cm), result({"r": reg(1.2 + j, 2.2 + j)}, params=2000))
            for w, bonus in (("ew", 0.0), ("uw", 0.02)):
                put(store, config("mt-cm", ["a", "b"], ["c", "r"], weighting=w, seed=s, **cm),
                    result({"c": cls(0.76 + bonus + j, 0.66 + bonus + j), "r": reg(1.15 - bonus + j, 2.15 - bonus + j)},
                           params=2500))
        if failed:
            put(store, config("mt-cm", ["a", "b"], ["c", "r"], weighting="pcgrad", seed=0, **cm), None,
                error="FloatingPointError: loss is nan (in x.py:1, step)")
    return directory
