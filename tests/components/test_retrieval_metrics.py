"""Cross-modal retrieval metrics: ties are broken at random (expected values), so collapse scores chance."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from mmbench.scoring import retrieval_chance
from mmbench.train.metrics import retrieval_metrics

N = 12


def harmonic(n: int) -> float:
    return sum(1.0 / i for i in range(1, n + 1))


@pytest.mark.parametrize("collapsed", [torch.ones(N, 5), torch.zeros(N, 5), torch.tensor([[0.3, -2.0]]).repeat(N, 1)],
                         ids=["ones", "zeros", "constant"])
def test_collapsed_embeddings_score_the_chance_level(collapsed):
    # Issue #16: all-equal embeddings scored Recall@1 = MRR = 1.0 (ties counted as wins)
    m = retrieval_metrics(collapsed, collapsed.clone())
    for direction in ("a2b", "b2a"):
        assert m[f"{direction}_recall@1"] == pytest.approx(1 / N)
        assert m[f"{direction}_recall@5"] == pytest.approx(5 / N)
        assert m[f"{direction}_recall@10"] == pytest.approx(10 / N)
    assert m["mrr"] == pytest.approx(harmonic(N) / N)
    assert m == pytest.approx(retrieval_chance(N))  # the chance line the leaderboard prints under retrieval tables


def test_perfect_alignment_scores_one():
    x = torch.randn(N, 6, generator=torch.Generator().manual_seed(0))
    assert all(v == pytest.approx(1.0) for v in retrieval_metrics(x, 3 * x).values())


def _brute_force(sim: np.ndarray, k: int) -> tuple[float, float]:
    """Recall@k and MRR a→b averaged over every tie-breaking order of each row (exact expectation)."""
    recalls, rrs = [], []
    for i, row in enumerate(sim):
        above = int((row > row[i]).sum())
        tied = [j for j in range(len(row)) if row[j] == row[i] and j != i]
        orders = list(itertools.permutations(tied + [i]))
        ranks = [above + order.index(i) for order in orders]
        recalls.append(np.mean([r < k for r in ranks]))
        rrs.append(np.mean([1.0 / (r + 1) for r in ranks]))
    return float(np.mean(recalls)), float(np.mean(rrs))


def test_partial_ties_match_the_expectation_over_tie_orders():
    # rows of b: exact duplicates create ties of size 2 and 3; one-hot a makes the similarities simple
    b = torch.tensor([[1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0], [0, 1.0, 0], [0, 1.0, 0], [0, 0, 1.0]])
    a = torch.tensor([[1.0, 0, 0], [0.9, 0.1, 0], [0, 1.0, 0], [0.1, 1.0, 0], [0, 1.0, 0.2], [0, 0, 1.0]])
    m = retrieval_metrics(a, b)
    sim = (torch.nn.functional.normalize(a.double(), dim=1) @ torch.nn.functional.normalize(b.double(), dim=1).T).numpy()
    sim = np.round(sim, 12)  # the brute force compares exactly
    for k in (1, 5):
        recall, mrr_a2b = _brute_force(sim, k)
        assert m[f"a2b_recall@{k}"] == pytest.approx(recall)
    recall_b2a, mrr_b2a = _brute_force(sim.T, 1)
    assert m["b2a_recall@1"] == pytest.approx(recall_b2a)
    assert m["mrr"] == pytest.approx((mrr_a2b + mrr_b2a) / 2)
    assert 0 < m["a2b_recall@1"] < 1
