"""Run one cell end to end: build components from the registries, train, select, score, record."""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import Tensor

from mmbench.components.base import Encoder, num_rows, take, to_device
from mmbench.data.spec import LoadedDataset
from mmbench.grid.cells import Cell
from mmbench.plugins import get_registry
from mmbench.provenance import device_description, versions
from mmbench.train.features import FeatureCache
from mmbench.train.loop import SplitTensors, predict, train
from mmbench.train.memory import peak_mb, reset_peak
from mmbench.train.metrics import retrieval_metrics, score_tasks
from mmbench.train.model import CachedFeatures, CellModel

SPLITS = ("train", "validation", "test")


@torch.no_grad()
def encode_all(encoder: Encoder, inputs: Any, device: torch.device, batch_size: int = 256) -> Tensor:
    encoder.eval().to(device)
    n = num_rows(inputs)
    return torch.cat([encoder(to_device(take(inputs, slice(i, i + batch_size)), device)).float().cpu()
                      for i in range(0, n, batch_size)])


def fit_on_train(enc: Encoder, modality: str, data: LoadedDataset) -> Any:
    """Preprocess the training split and ``fit`` the encoder on it, once per encoder object; returns the
    preprocessed training inputs. A frozen encoder whose features came from the cache was never fitted:
    whoever needs it to encode new values (robustness) calls this first."""
    if getattr(enc, "_mmbench_train_inputs", None) is None:
        train_inputs = enc.preprocess(data.splits["train"].modalities[modality])
        enc.fit(train_inputs)
        enc._mmbench_train_inputs = train_inputs
    return enc._mmbench_train_inputs


def frozen_features(enc: Encoder, modality: str, data: LoadedDataset, device: torch.device,
                    cache: FeatureCache) -> dict[str, Tensor] | None:
    """Features of a frozen encoder for every split, from the cache or computed once; ``None`` when
    the encoder is trainable (or gives no fingerprint), or caching is off: the encoder then runs inside
    the model on every batch."""
    fingerprint = enc.fingerprint() if enc.frozen and cache.enabled else None
    if fingerprint is None:
        return None

    def compute(split: str) -> Tensor:
        train_inputs = fit_on_train(enc, modality, data)
        inputs = train_inputs if split == "train" else enc.preprocess(data.splits[split].modalities[modality])
        return encode_all(enc, inputs, device)

    return {s: cache.get_or_compute(FeatureCache.key(data.fingerprint, s, modality, fingerprint), lambda s=s: compute(s))
            for s in SPLITS}


def _encoder_inputs(cell: Cell, data: LoadedDataset, device: torch.device, cache: FeatureCache
                    ) -> tuple[dict[str, Encoder], dict[str, dict[str, Any]], int, dict[str, Encoder]]:
    """Encoders for the model (frozen ones swapped for their cached features), inputs per split, the
    frozen parameter count, and the original encoders (robustness re-encodes perturbed inputs with them)."""
    encoders: dict[str, Encoder] = {}
    originals: dict[str, Encoder] = {}
    inputs: dict[str, dict[str, Any]] = {s: {} for s in SPLITS}
    frozen_params = 0
    for m, choice in cell.encoders:
        enc = get_registry("encoders").create(choice.name, data.modality_info[m], **dict(choice.options))
        originals[m] = enc
        features = frozen_features(enc, m, data, device, cache)
        if features is None:
            inputs["train"][m] = fit_on_train(enc, m, data)
            for s in SPLITS[1:]:
                inputs[s][m] = enc.preprocess(data.splits[s].modalities[m])
            encoders[m] = enc
            continue
        for s in SPLITS:
            inputs[s][m] = features[s]
        frozen_params += enc.num_parameters()
        encoders[m] = CachedFeatures(features["train"].shape[1])  # no need to load the encoder's model
    return encoders, inputs, frozen_params, originals


def split_targets(cell: Cell, data: LoadedDataset) -> tuple[dict[str, dict[str, Tensor]], dict[str, tuple[float, float]]]:
    """Targets per split; regression targets standardised with training statistics."""
    scale: dict[str, tuple[float, float]] = {}
    for t in cell.tasks:
        if data.task_info[t].type == "regression":
            y = torch.as_tensor(data.splits["train"].targets[t], dtype=torch.float32)
            scale[t] = (float(y.mean()), float(y.std().clamp_min(1e-8)))
    out = {}
    for s in SPLITS:
        out[s] = {}
        for t in cell.tasks:
            y = torch.as_tensor(data.splits[s].targets[t])
            if t in scale:
                y = (y.float() - scale[t][0]) / scale[t][1]
            out[s][t] = y
    return out, scale


def run_cell(cell: Cell, data: LoadedDataset, device: torch.device, cache: FeatureCache | None = None) -> dict[str, Any]:
    """Train and score ``cell``; returns the result record (raises on failure; the caller stores it)."""
    cache = cache if cache is not None else FeatureCache()
    torch.manual_seed(cell.seed)
    peak_kind = reset_peak(device)
    tasks = [data.task_info[t] for t in cell.tasks]
    started = time.perf_counter()
    encoders, inputs, frozen_params, originals = _encoder_inputs(cell, data, device, cache)
    targets, scale = split_targets(cell, data)
    splits = {s: SplitTensors({m: to_device(v, device) for m, v in inputs[s].items()},
                              {t: v.to(device) for t, v in targets[s].items()}) for s in SPLITS}
    prep_seconds = time.perf_counter() - started

    torch.manual_seed(cell.seed)
    dims = {m: e.out_dim for m, e in encoders.items()}
    aligner = fuser = weighting = None
    if cell.aligner is not None:
        aligner = get_registry("aligners").create(cell.aligner.name, dims, **dict(cell.aligner.options))
        dims = dict(aligner.out_dims)
    if cell.fuser is not None:
        fuser = get_registry("fusers").create(cell.fuser.name, dims, **dict(cell.fuser.options))
    if cell.weighting is not None:
        weighting = get_registry("weightings").create(cell.weighting.name, len(tasks), seed=cell.seed,
                                                      **dict(cell.weighting.options)).to(device)
    training = dict(cell.training)
    model = CellModel(encoders, tasks, aligner, fuser, trunk_dim=int(training["trunk_dim"])).to(device)

    t0 = time.perf_counter()
    report = train(model, weighting, splits["train"], splits["validation"], tasks, training, cell.seed, device)
    train_seconds = time.perf_counter() - t0

    metrics: dict[str, Any] = {}
    for s in ("validation", "test"):
        preds, aligned = predict(model, splits[s], int(training["batch_size"]))
        metrics[s] = score_tasks(tasks, preds, targets[s], scale)
        if s == "test" and aligner is not None and type(aligner).min_modalities >= 2:
            mods = sorted(aligned)
            for i, a in enumerate(mods):
                for b in mods[i + 1:]:
                    if aligned[a].shape[1] == aligned[b].shape[1]:
                        metrics["retrieval"] = metrics.get("retrieval", {}) | {f"{a}-{b}": retrieval_metrics(aligned[a], aligned[b])}
    robustness = None
    if cell.robustness is not None:
        from mmbench.robustness.evaluate import evaluate_robustness

        robustness = evaluate_robustness(model, encoders=originals, data=data, cell=cell, scale=scale, device=device,
                                         cache=cache, batch_size=int(training["batch_size"]))
    return {
        "metrics": metrics,
        **({"robustness": robustness} if robustness is not None else {}),
        "task_types": {t.name: t.type for t in tasks},
        "weights": report.mean_weights([t.name for t in tasks]),
        "train_seconds": train_seconds,
        "prep_seconds": prep_seconds,
        "epochs_run": report.epochs_run,
        "best_epoch": report.best_epoch,
        "steps": report.steps,
        "backward_passes": report.backward_passes,
        "history": report.history,
        "params": sum(p.numel() for p in model.parameters()) + frozen_params,
        "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "peak_memory_mb": peak_mb(device, peak_kind),
        "peak_memory_kind": peak_kind,
        "device": device_description(device),
        "versions": versions(),
        "dataset_notes": list(data.notes),
        "dataset_fingerprint": data.fingerprint,
        "sizes": {s: len(splits[s]) for s in SPLITS},
    }
