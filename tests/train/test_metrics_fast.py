"""The count-based classification and multilabel metrics equal scikit-learn's to the last bit, on random
cases (labels missing from one side, one class, imbalanced) and on inputs off the plain path; the
finiteness check and the best-weights snapshot agree with the slow forms they replace."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import sklearn.metrics as skm
import torch

from mmbench.train.loop import _snapshot
from mmbench.train.metrics import task_metrics
from mmbench.train.step import all_finite


@pytest.mark.parametrize("case", range(40))
def test_classification_metrics_equal_scikit_learn(case: int) -> None:
    rng = np.random.default_rng(case)
    n, k = int(rng.integers(1, 60)), int(rng.integers(1, 8))
    true = rng.integers(0, k, n)
    logits = torch.from_numpy(rng.normal(size=(n, k + int(rng.integers(0, 3)))))  # predicted labels beyond the true ones
    pred = logits.argmax(dim=1).numpy()
    got = task_metrics("classification", logits, torch.from_numpy(true))
    assert got == {"accuracy": float(skm.accuracy_score(true, pred)),
                   "macro_f1": float(skm.f1_score(true, pred, average="macro", zero_division=0))}


@pytest.mark.parametrize("case", range(40))
def test_multilabel_metrics_equal_scikit_learn(case: int) -> None:
    rng = np.random.default_rng(100 + case)
    n, k = int(rng.integers(1, 40)), int(rng.integers(1, 6))
    true = (rng.random((n, k)) < rng.random()).astype(np.int64)
    logits = torch.from_numpy(rng.normal(size=(n, k)) - rng.normal())
    pred = (logits > 0).int().numpy()
    got = task_metrics("multilabel", logits, torch.from_numpy(true))
    assert got == {"micro_f1": float(skm.f1_score(true, pred, average="micro", zero_division=0)),
                   "macro_f1": float(skm.f1_score(true, pred, average="macro", zero_division=0))}


def test_all_finite_matches_torch_isfinite() -> None:
    for values in (torch.ones(3), torch.tensor([1.0, float("nan")]), torch.tensor(float("inf")),
                   torch.zeros(200), torch.cat([torch.zeros(199), torch.tensor([float("-inf")])])):
        assert all_finite(values) == bool(torch.isfinite(values).all())


def test_snapshot_equals_a_deep_copy_and_is_independent() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    snap, deep = _snapshot(model), copy.deepcopy(model.state_dict())
    assert list(snap) == list(deep) and all(torch.equal(snap[k], deep[k]) for k in deep)
    assert snap._metadata == deep._metadata  # type: ignore[attr-defined]
    with torch.no_grad():
        model[0].weight.add_(1.0)
    assert torch.equal(snap["0.weight"], deep["0.weight"])  # a copy, not a view
    model.load_state_dict(snap)
    assert torch.equal(model[0].weight, deep["0.weight"])
