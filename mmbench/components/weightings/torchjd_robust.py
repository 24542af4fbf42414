"""Robust aggregation from torchjd 0.18: Krum and the trimmed mean, rules from Byzantine-robust distributed
learning that treat each task's gradient as a possibly corrupted worker's.

They need more tasks than rows they discard (Krum ``n_byzantine + 3``, the trimmed mean
``2 · trim_number + 1``); fewer raise a clear ``ValueError`` when the strategy is built.
"""

from __future__ import annotations

from mmbench.components.base import Wrt
from mmbench.components.weightings.torchjd_wrappers import TorchJDAggregator, TorchJDGramianWeighting


class Krum(TorchJDGramianWeighting):
    """Krum: the task gradient (or, Multi-Krum, the mean of the ``n_selected``) whose ``T − n_byzantine − 2``
    nearest other gradients are closest, assuming up to ``n_byzantine`` are corrupted (Blanchard, El Mhamdi,
    Guerraoui & Stainer 2017, NeurIPS; ``torchjd.aggregation.Krum``). A selection: weights are 0 or
    ``1/n_selected``, from the Gramian (distances) alone."""

    aggregator_cls = "Krum"
    min_tasks = 3

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", n_byzantine: int = 0, n_selected: int = 1):
        if n_tasks < n_byzantine + 3:
            raise ValueError(f"Krum needs at least {n_byzantine + 3} tasks (n_byzantine + 3), got {n_tasks}")
        if not 1 <= n_selected <= n_tasks:
            raise ValueError(f"n_selected must be between 1 and the number of tasks ({n_tasks}), got {n_selected}")
        super().__init__(n_tasks, seed, wrt, {"n_byzantine": n_byzantine, "n_selected": n_selected})


class TrimmedMean(TorchJDAggregator):
    """Trimmed mean: per coordinate, drop the ``trim_number`` largest and smallest task-gradient values and
    average the rest (Yin, Chen, Ramchandran & Bartlett 2018, ICML; ``torchjd.aggregation.TrimmedMean``).
    Per coordinate, so not a weighting of the rows: records no task weights. A **mean** (EW sums)."""

    aggregator_cls = "TrimmedMean"

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params", trim_number: int = 1):
        if trim_number < 0 or n_tasks < 2 * trim_number + 1:
            raise ValueError(f"TrimmedMean needs at least {2 * trim_number + 1} tasks (2 * trim_number + 1) and "
                             f"trim_number >= 0, got {n_tasks} tasks and trim_number={trim_number}")
        super().__init__(n_tasks, seed, wrt, {"trim_number": trim_number})


__all__ = ["Krum", "TrimmedMean"]
