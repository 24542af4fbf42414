"""Metrics per task type (scikit-learn) and cross-modal retrieval scores.

- classification: accuracy (main), macro-F1
- multilabel: micro-F1 (main), macro-F1
- regression: MAE (main), RMSE — lower is better
- retrieval (cross-modal cells with an aligner): Recall@1/5/10 in both directions, MRR
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
from sklearn import metrics as skm
from torch import Tensor
from torch.nn import functional as F

from mmbench.data.spec import LOWER_IS_BETTER, TaskInfo  # noqa: F401 - LOWER_IS_BETTER re-exported



def task_metrics(task_type: str, predictions: Tensor, targets: Tensor) -> dict[str, float]:
    """Score one task's predictions (logits, or values for regression) against its targets."""
    if task_type == "classification":
        pred = predictions.argmax(dim=1).cpu().numpy()
        true = targets.cpu().numpy()
        return {"accuracy": float(skm.accuracy_score(true, pred)),
                "macro_f1": float(skm.f1_score(true, pred, average="macro", zero_division=0))}
    if task_type == "multilabel":
        pred = (predictions > 0).int().cpu().numpy()
        true = targets.int().cpu().numpy()
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
    with ``scale[task] = (mean, std)``) are scored on the original scale."""
    out = {}
    for t in tasks:
        p, y = predictions[t.name], targets[t.name].cpu()
        if t.name in scale:
            mu, sd = scale[t.name]
            p, y = p * sd + mu, y * sd + mu
        out[t.name] = task_metrics(t.type, p, y)
    return out


def task_loss(task_type: str, predictions: Tensor, targets: Tensor) -> Tensor:
    """The training loss per task type: cross-entropy, binary cross-entropy, or MSE (on standardised targets)."""
    if task_type == "classification":
        return F.cross_entropy(predictions, targets)
    if task_type == "multilabel":
        return F.binary_cross_entropy_with_logits(predictions, targets.float())
    return F.mse_loss(predictions.reshape(-1), targets.reshape(-1).float())


#: cosine similarities within this of the correct one count as ties (float noise on equal embeddings)
TIE_TOLERANCE = 1e-9


def retrieval_metrics(a: Tensor, b: Tensor) -> dict[str, float]:
    """Recall@1/5/10 for a→b and b→a and the mean reciprocal rank, by cosine similarity; row i pairs with i.

    **Ties** are broken at random and the metrics are their *expected* values: with ``g`` candidates
    scoring above the correct one and ``e`` others tied with it (within ``TIE_TOLERANCE``, similarities
    in float64), its rank is uniform on ``g+1 … g+e+1``, so Recall@k = ``clip((k − g) / (e + 1), 0, 1)``
    and the reciprocal rank is ``(H(g+e+1) − H(g)) / (e + 1)`` (``H`` harmonic numbers). Collapsed
    embeddings (all equal) thus score the chance level, Recall@k = k/N and MRR = H(N)/N, not 1.
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
