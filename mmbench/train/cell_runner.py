"""Train one cell end to end: build components from the registries, train, select, score, record.

:func:`train_cell` — the one function that trains a cell, for a grid's cells and tuning trials alike —
returns the trained model with everything test-time evaluation needs; the grid's worker
(:mod:`mmbench.grid.execution.worker`) runs robustness on it afterwards. With ``final=False`` (a tuning
trial) only the train and validation splits are prepared and scored: the test split is never read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import Tensor

from mmbench.components.base import Encoder
from mmbench.data.spec import LoadedDataset
from mmbench.plugins import get_registry
from mmbench.provenance import device_description, versions
from mmbench.train.cell import Cell
from mmbench.train.features import FeatureCache
from mmbench.train.inputs import to_device
from mmbench.train.loop import EpochCallback, SplitTensors, predict, train
from mmbench.train.memory import peak_mb, reset_peak
from mmbench.train.metrics import retrieval_metrics, score_tasks
from mmbench.train.model import CachedFeatures, CellModel
from mmbench.train.prepare import SPLITS, fit_on_train, frozen_features, majority_accuracy, split_targets


@dataclass
class TrainedCell:
    """A trained cell: the model (best validation epoch), the original encoders (frozen ones real, for
    re-encoding perturbed inputs), the regression scales, and the result record."""

    cell: Cell
    model: CellModel
    encoders: dict[str, Encoder]
    scale: dict[str, tuple[float, float]]
    result: dict[str, Any]


def encoder_inputs(cell: Cell, data: LoadedDataset, device: torch.device, cache: FeatureCache,
                   splits: Sequence[str] = SPLITS) -> tuple[dict[str, Encoder], dict[str, dict[str, Any]], int, dict[str, Encoder]]:
    """Encoders for the model (frozen ones swapped for their cached features), inputs per split, the
    frozen parameter count, and the original encoders (robustness re-encodes perturbed inputs with them)."""
    encoders: dict[str, Encoder] = {}
    originals: dict[str, Encoder] = {}
    inputs: dict[str, dict[str, Any]] = {s: {} for s in splits}
    frozen_params = 0
    for m, _ in cell.encoders:
        choice = cell.effective_encoder(m)
        enc = get_registry("encoders").create(choice.name, data.modality_info[m], **dict(choice.options))
        originals[m] = enc
        features = frozen_features(enc, m, data, device, cache, splits)
        if features is None:
            inputs["train"][m] = fit_on_train(enc, m, data)
            for s in splits[1:]:
                inputs[s][m] = enc.preprocess(data.splits[s].modalities[m])
            encoders[m] = enc
            continue
        for s in splits:
            inputs[s][m] = features[s]
        frozen_params += enc.num_parameters()
        encoders[m] = CachedFeatures(features["train"].shape[1])  # no need to load the encoder's model
    return encoders, inputs, frozen_params, originals


def build_model(cell: Cell, data: LoadedDataset, encoders: dict[str, Encoder], device: torch.device) -> tuple[CellModel, Any]:
    """The cell's model and weighting strategy (components built from the registries, tuned options applied)."""
    tasks = [data.task_info[t] for t in cell.tasks]
    training = cell.effective_training()
    dims = {m: e.out_dim for m, e in encoders.items()}
    aligner = fuser = weighting = None
    if (choice := cell.effective("aligner")) is not None:
        aligner = get_registry("aligners").create(choice.name, dims, **dict(choice.options))
        dims = dict(aligner.out_dims)
    if (choice := cell.effective("fuser")) is not None:
        fuser = get_registry("fusers").create(choice.name, dims, **dict(choice.options))
    if (choice := cell.effective("weighting")) is not None:
        from mmbench.plugins.options import accepts

        entry = get_registry("weightings").get(choice.name)
        extra = {"task_types": [t.type for t in tasks]} if accepts(entry, "task_types") else {}
        weighting = entry.create(len(tasks), seed=cell.seed, **extra, **dict(choice.options)).to(device)
    arch = cell.effective("architecture")
    make = None
    if arch is not None:
        entry, options, width = get_registry("architectures").get(arch.name), dict(arch.options), int(training["trunk_dim"])
        make = lambda in_dim: entry.create(in_dim, list(cell.tasks), width, **options)  # noqa: E731
    model = CellModel(encoders, tasks, aligner, fuser, trunk_dim=int(training["trunk_dim"]), architecture=make).to(device)
    return model, weighting


def train_cell(cell: Cell, data: LoadedDataset, device: torch.device, cache: FeatureCache | None = None, *,
               final: bool = True, on_epoch: EpochCallback | None = None) -> TrainedCell:
    """Train and score ``cell`` (raises on failure; the caller stores it). ``final=False``: a tuning
    trial — the test split is neither prepared nor scored."""
    cache = cache if cache is not None else FeatureCache()
    splits = SPLITS if final else SPLITS[:2]
    torch.manual_seed(cell.seed)
    peak_kind = reset_peak(device)
    tasks = [data.task_info[t] for t in cell.tasks]
    started = time.perf_counter()
    encoders, inputs, frozen_params, originals = encoder_inputs(cell, data, device, cache, splits)
    all_targets, scale = split_targets(cell.tasks, data)
    targets = {s: all_targets[s] for s in splits}
    tensors = {s: SplitTensors({m: to_device(v, device) for m, v in inputs[s].items()},
                               {t: v.to(device) for t, v in targets[s].items()}) for s in splits}
    prep_seconds = time.perf_counter() - started

    torch.manual_seed(cell.seed)
    model, weighting = build_model(cell, data, encoders, device)
    training = cell.effective_training()
    val_targets = targets["validation"]

    def score_val(preds: dict[str, Tensor]) -> dict[str, dict[str, float]]:
        return score_tasks(tasks, preds, val_targets, scale)

    t0 = time.perf_counter()
    report = train(model, weighting, tensors["train"], tensors["validation"], tasks, training, cell.seed, device,
                   score=score_val, on_epoch=on_epoch)
    train_seconds = time.perf_counter() - t0

    metrics: dict[str, Any] = {}
    for s in splits[1:]:
        preds, aligned = predict(model, tensors[s], int(training["batch_size"]))
        metrics[s] = score_tasks(tasks, preds, targets[s], scale)
        if s == "test" and model.aligner is not None and type(model.aligner).scores_retrieval:
            mods = sorted(aligned)
            for i, a in enumerate(mods):
                for b in mods[i + 1:]:
                    if aligned[a].shape[1] == aligned[b].shape[1]:
                        metrics["retrieval"] = metrics.get("retrieval", {}) | {f"{a}-{b}": retrieval_metrics(aligned[a], aligned[b])}
    chance = {s: {t.name: majority_accuracy(targets[s][t.name]) for t in tasks if t.type == "classification"}
              for s in splits[1:]}
    result = {
        "metrics": metrics,
        "chance": chance,
        "task_types": {t.name: t.type for t in tasks},
        "weights": report.mean_weights([t.name for t in tasks]),
        "train_seconds": train_seconds,
        "prep_seconds": prep_seconds,
        "epochs_run": report.epochs_run,
        "best_epoch": report.best_epoch,
        "converged": report.converged,
        "stopped_by": report.stopped_by,
        "steps": report.steps,
        "backward_passes": report.backward_passes,
        "history": report.history,
        "hparams": dict(cell.hparams),
        "labels": cell.component_labels(),
        "params": sum(p.numel() for p in model.parameters()) + frozen_params,
        "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "peak_memory_mb": peak_mb(device, peak_kind),
        "peak_memory_kind": peak_kind,
        "device": device_description(device),
        "versions": versions(),
        "dataset_notes": list(data.notes),
        "dataset_fingerprint": data.fingerprint,
        "dataset_provenance": data.provenance,
        "sizes": {s: len(tensors[s]) for s in splits},
    }
    return TrainedCell(cell, model, originals, scale, result)
