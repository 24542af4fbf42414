"""Metrics per task type (scikit-learn's definitions and values; counts-based ones computed directly) and
cross-modal retrieval scores.

- classification: accuracy (main), macro-F1
- multilabel: micro-F1 (main), macro-F1
- regression: MAE (main), RMSE — lower is better
- retrieval (cross-modal cells with an aligner): Recall@1/5/10 in both directions, MRR

Unlabelled rows (``missing_labels: mask``, :mod:`mmbench.data.missing`) count in no metric and no loss.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch
from sklearn import metrics as skm
from torch import Tensor
from torch.nn import functional as F

from mmbench.data.missing import labelled
from mmbench.data.spec import TaskInfo


def _f1_scores(tp: np.ndarray, pred_sum: np.ndarray, true_sum: np.ndarray) -> np.ndarray:
    """Per-label F1 ``2·tp / (true + pred)`` in float64, 0 where the denominator is 0 — the very operations
    scikit-learn's ``precision_recall_fscore_support`` performs (β = 1, ``zero_division=0``)."""
    denom = 1.0 * true_sum.astype(np.float64) + pred_sum.astype(np.float64)
    mask = denom == 0
    denom[mask] = 1
    f = (2.0 * tp.astype(np.float64)) / denom
    f[mask] = 0.0
    return f


def _classification_metrics(true: np.ndarray, pred: np.ndarray) -> dict[str, float] | None:
    """Accuracy and macro-F1 from the label counts, equal to scikit-learn's to the last bit (same float
    operations on the same counts); ``None`` for inputs off the plain path (scikit-learn then decides)."""
    if not (true.ndim == pred.ndim == 1 and len(true) == len(pred) > 0 and true.dtype.kind in "iu"
            and pred.dtype.kind in "iu"):
        return None
    labels = np.union1d(true, pred)  # scikit-learn's present labels: sorted union of y_true and y_pred
    t, p = np.searchsorted(labels, true), np.searchsorted(labels, pred)
    n = len(labels)
    f = _f1_scores(np.bincount(t[t == p], minlength=n), np.bincount(p, minlength=n), np.bincount(t, minlength=n))
    return {"accuracy": float(np.average(true == pred)), "macro_f1": float(np.nanmean(f))}


def _multilabel_metrics(true: np.ndarray, pred: np.ndarray) -> dict[str, float] | None:
    """Micro- and macro-F1 of 0/1 indicator matrices, as :func:`_classification_metrics` (``None``: not
    the plain path — one column, other values, no rows)."""
    if not (true.ndim == pred.ndim == 2 and true.shape == pred.shape and true.shape[0] > 0 and true.shape[1] > 1
            and np.isin(true, (0, 1)).all() and np.isin(pred, (0, 1)).all()):
        return None
    tp = np.count_nonzero(true * pred, axis=0)
    pred_sum, true_sum = np.count_nonzero(pred, axis=0), np.count_nonzero(true, axis=0)
    micro = _f1_scores(tp.sum().reshape(1), pred_sum.sum().reshape(1), true_sum.sum().reshape(1))
    return {"micro_f1": float(np.nanmean(micro)), "macro_f1": float(np.nanmean(_f1_scores(tp, pred_sum, true_sum)))}


def task_metrics(task_type: str, predictions: Tensor, targets: Tensor) -> dict[str, float]:
    """Score one task's predictions (logits, or values for regression) against its targets.

    Classification and multilabel scores are computed from the label counts with NumPy, by the same
    float operations as scikit-learn (so the same values, to the last bit, and tested against it) at a
    fraction of its input-validation cost (~40 µs instead of ~6 ms a task; the training loop scores the
    validation split every epoch); inputs off the plain path go to scikit-learn itself.
    """
    if task_type == "classification":
        pred = predictions.argmax(dim=1).cpu().numpy()
        true = targets.cpu().numpy()
        if (fast := _classification_metrics(true, pred)) is not None:
            return fast
        return {"accuracy": float(skm.accuracy_score(true, pred)),
                "macro_f1": float(skm.f1_score(true, pred, average="macro", zero_division=0))}
    if task_type == "multilabel":
        pred = (predictions > 0).int().cpu().numpy()
        true = targets.int().cpu().numpy()
        if (fast := _multilabel_metrics(true, pred)) is not None:
            return fast
        return {"micro_f1": float(skm.f1_score(true, pred, average="micro", zero_division=0)),
                "macro_f1": float(skm.f1_score(true, pred, average="macro", zero_division=0))}
    if task_type == "regression":
        pred = predictions.reshape(-1).cpu().numpy()
        true = targets.reshape(-1).cpu().numpy()
        return {"mae": float(skm.mean_absolute_error(true, pred)),
                "rmse": float(math.sqrt(skm.mean_squared_error(true, pred)))}
    raise ValueError(f"unknown task type {task_type!r}")


def score_tasks(tasks: Sequence[TaskInfo], predictions: Mapping[str, Tensor], targets: Mapping[str, Tensor],
                scale: Mapping[str, tuple[float, float]]) -> dict[str, dict[str, float]]:
    """:func:`task_metrics` for every task; regression predictions and targets (standardised for training
    with ``scale[task] = (mean, std)``) are scored on the original scale. A masked task is scored on its
    labelled rows only (NaN metrics when a split has none)."""
    out = {}
    for t in tasks:
        p, y = predictions[t.name], targets[t.name].cpu()
        if t.masked:
            keep = labelled(y)
            p, y = p[keep.to(p.device)], y[keep]
            if not len(y):
                out[t.name] = {m: math.nan for m in _METRIC_NAMES[t.type]}
                continue
        if t.name in scale:
            mu, sd = scale[t.name]
            p, y = p * sd + mu, y * sd + mu
        out[t.name] = task_metrics(t.type, p, y)
    return out


_METRIC_NAMES = {"classification": ("accuracy", "macro_f1"), "multilabel": ("micro_f1", "macro_f1"),
                 "regression": ("mae", "rmse")}


def task_loss(task_type: str, predictions: Tensor, targets: Tensor, masked: bool = False) -> Tensor:
    """The training loss per task type: cross-entropy, binary cross-entropy, or MSE (on standardised targets).

    ``masked``: the targets may hold unlabelled rows (:func:`mmbench.data.missing.labelled`); the loss is
    the mean over the labelled rows, and exactly 0 (with a zero gradient) when the batch has none."""
    if masked:
        return _masked_loss(task_type, predictions, targets)
    if task_type == "classification":
        return F.cross_entropy(predictions, targets)
    if task_type == "multilabel":
        return F.binary_cross_entropy_with_logits(predictions, targets.float())
    return F.mse_loss(predictions.reshape(-1), targets.reshape(-1).float())


def _masked_loss(task_type: str, predictions: Tensor, targets: Tensor) -> Tensor:
    keep = labelled(targets)
    count = keep.sum().clamp_min(1)
    if task_type == "classification":  # unlabelled rows hold cross-entropy's ignore_index
        return F.cross_entropy(predictions, targets, reduction="sum") / count
    y = torch.where(torch.isnan(targets), torch.zeros_like(targets), targets).float()
    rows = keep.to(predictions.dtype)
    if task_type == "multilabel":
        per_row = F.binary_cross_entropy_with_logits(predictions, y, reduction="none").mean(dim=1)
    else:
        per_row = (predictions.reshape(-1) - y.reshape(-1)).square()
    return (per_row * rows).sum() / count


#: cosine similarities within this of the correct one count as ties (float noise on equal embeddings)
TIE_TOLERANCE = 1e-9


def retrieval_metrics(a: Tensor, b: Tensor) -> dict[str, float]:
    """Recall@1/5/10 for a→b and b→a and the mean reciprocal rank, by cosine similarity; row i pairs with i.

    **Ties** are broken at random and the metrics are their *expected* values: with ``g`` candidates
    scoring above the correct one and ``e`` others tied with it (within ``TIE_TOLERANCE``, similarities
    in float64), its rank is uniform on ``g+1 … g+e+1``, so Recall@k = ``clip((k − g) / (e + 1), 0, 1)``
    and the reciprocal rank is ``(H(g+e+1) − H(g)) / (e + 1)`` (``H`` harmonic numbers). Collapsed
    embeddings (all equal) thus score the chance level (:func:`mmbench.scoring.retrieval_chance`), not 1.
    """
    sim = F.normalize(a.double(), dim=1) @ F.normalize(b.double(), dim=1).T
    out: dict[str, float] = {}
    mrr = []
    for direction, s in (("a2b", sim), ("b2a", sim.T)):
        correct = s.diagonal().unsqueeze(1)
        above = (s > correct + TIE_TOLERANCE).sum(dim=1).cpu().numpy()
        tied = (s >= correct - TIE_TOLERANCE).sum(dim=1).cpu().numpy() - above - 1  # not counting itself
        for k in (1, 5, 10):
            out[f"{direction}_recall@{k}"] = float(np.mean(np.clip((k - above) / (tied + 1), 0.0, 1.0)))
        harmonic = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, len(above) + 1))])
        mrr.append(float(np.mean((harmonic[above + tied + 1] - harmonic[above]) / (tied + 1))))
    out["mrr"] = float(np.mean(mrr))
    return out
