"""How scores compare: the direction of every metric, the main metric per task type, and the one
relative-change kernel that every Δm%, cross-modal gain, paired-test statistic, rliable normalised score and
tuning objective is built from.

The kernel is LibMTL's term of Δm% (Maninis et al., 2019, "Attentive Single-Tasking of Multiple Tasks", CVPR;
``LibMTL/utils.py::count_improvement``, Lin & Zhang, 2023, JMLR):

    r(N, B) = s · (N − B) / B,        s = −1 when lower is better, else +1 (times any weight),

and its first derivatives ∂r/∂N = s / B and ∂r/∂B = −s · N / B² (the delta-method interval of Δm%). The
rliable normalised score (Agarwal et al., 2021, NeurIPS) is 100 · r of the main metric.

Bottom of the layers (no ``mmbench`` imports); the functions work on floats and
numpy arrays alike. Consumers call the kernel as ``scoring.relative_change`` (module attribute), so a test that
replaces it sees every consumer change.
"""

from __future__ import annotations

from typing import Any, Iterable

#: metrics where lower is better (the sign flip s = −1 of the kernel)
LOWER_IS_BETTER = frozenset({"mae", "rmse", "loss"})
#: the main metric of each task type (:data:`mmbench.vocabulary.TASK_TYPES`): model choice, ranks, tuning,
#: normalised scores, robustness curves
MAIN_METRIC = {"classification": "accuracy", "multilabel": "micro_f1", "regression": "mae"}


def lower_is_better(metric: str) -> bool:
    return metric in LOWER_IS_BETTER


def direction(metric: str) -> int:
    """The kernel's sign s: ``-1`` when lower is better, else ``1`` (also the ↑/↓ of a table column)."""
    return -1 if lower_is_better(metric) else 1


def main_metric(metrics: Iterable[str]) -> str:
    """The main metric of a task, inferred from the metric names stored for it (the first in sorted order that
    is some task type's main metric, else the first name)."""
    names = sorted(metrics)
    mains = set(MAIN_METRIC.values())
    for name in names:
        if name in mains:
            return name
    if not names:
        raise ValueError("a task without metrics has no main metric")
    return names[0]


def relative_change(new: Any, base: Any, scale: Any = 1.0, denominator: Any = None) -> Any:
    """The kernel ``scale · (new − base) / denominator`` (``denominator`` defaults to ``base``): ``scale`` is the
    metric's :func:`direction`, or a signed weight that includes it; elementwise on arrays."""
    return scale * (new - base) / (base if denominator is None else denominator)


def relative_change_slopes(new: Any, base: Any, scale: Any = 1.0) -> tuple[Any, Any]:
    """The kernel's derivatives at ``(new, base)``: ``(∂/∂new, ∂/∂base) = (scale / base, −scale · new / base²)``."""
    return scale / base, -scale * new / base ** 2


def normalised_score(values: Any, base: Any, metric: str) -> Any:
    """rliable's normalised score of ``metric`` against the reference ``base``: ``100 · s · (N − B) / B``
    (0 = the reference, positive = better)."""
    return relative_change(values, base, 100.0 * direction(metric))


def retrieval_chance(n: int) -> dict[str, float]:
    """The retrieval scores of a random ranking of ``n`` candidates (what collapsed embeddings score, ties broken at
    random): Recall@k = k / n, MRR = H(n) / n (``H`` the harmonic number)."""
    if n < 1:
        return {}
    out = {f"{d}_recall@{k}": min(1.0, k / n) for d in ("a2b", "b2a") for k in (1, 5, 10)}
    out["mrr"] = sum(1.0 / i for i in range(1, n + 1)) / n
    return out
