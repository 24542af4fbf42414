"""Chance levels of classification tasks, and single-task baselines that do not beat them.

Each cell stores ``result["chance"] = {"validation": {task: acc}, "test": {task: acc}}``: the accuracy of always
predicting the split's most frequent class, and ``result["sizes"]``: the examples per split. A single-task
configuration on a classification task is **at chance** (flagged ⚠ chance) when its *validation* accuracy is not
significantly above the majority-class rate: a one-sided exact binomial test (``scipy.stats.binomtest``,
``alternative="greater"``) at α = 0.05 of the correct predictions pooled over seeds, k = Σ_s round(acc_s · n_s) of
N = Σ_s n_s trials, against p0 = Σ_s chance_s · n_s / N. It assumes the validation examples are independent
trials. Rows that store no split sizes (older runs) fall back to a stated margin: flagged when the mean accuracy
does not beat the mean chance level by :data:`MARGIN` = 2 accuracy points. The decision is taken on validation (the
test split when a row has none) so that the test split is only reported. A Δm% or gain whose reference is at
chance divides by a chance-level score: the leaderboard shows it, with and without those tasks, and keeps it out
of the families, the picks and the verdicts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy import stats

from mmbench.leaderboard.load import Configuration

#: accuracy points a single-task baseline must beat its majority-class accuracy by (rows without split sizes)
MARGIN = 0.02
#: the level of the one-sided binomial test
ALPHA = 0.05
METRIC = "accuracy"


@dataclass(frozen=True)
class ChanceCheck:
    """A single-task configuration's accuracy against its chance level on one split (means over seeds)."""

    task: str
    split: str
    accuracy: float
    chance: float
    #: pooled trials of the binomial test and its one-sided p (``None``/``nan``: no split sizes, the margin decides)
    trials: int | None = None
    p_value: float = math.nan

    @property
    def tested(self) -> bool:
        return self.trials is not None and math.isfinite(self.p_value)

    @property
    def flagged(self) -> bool:
        if self.tested:
            return not self.p_value <= ALPHA
        return not (self.accuracy - self.chance >= MARGIN)


def binomial_p(cfg: Configuration, task: str, split: str) -> tuple[int | None, float]:
    """``(N, p)`` of the one-sided exact binomial test of ``task``'s accuracy on ``split`` against the majority-class
    rate, pooled over the seeds that store the split's size; ``(None, nan)`` when none does."""
    scores = cfg.validation if split == "validation" else cfg.test
    rates = cfg.chance_validation if split == "validation" else cfg.chance_test
    k = n = 0
    expected = 0.0
    for seed in scores.index:
        size = cfg.sizes.get(seed, {}).get(split)
        acc = scores.at[seed, (task, METRIC)] if (task, METRIC) in scores.columns else math.nan
        rate = rates.at[seed, task] if task in rates.columns and seed in rates.index else math.nan
        if not size or not (math.isfinite(acc) and math.isfinite(rate)):
            continue
        k, n, expected = k + round(acc * size), n + size, expected + rate * size
    if not n:
        return None, math.nan
    return n, float(stats.binomtest(k, n, min(1.0, expected / n), alternative="greater").pvalue)


def _mean(frame: pd.DataFrame, column: object) -> float:
    if frame.empty or column not in frame.columns:
        return math.nan
    return float(frame[column].mean())


def chance_level(cfg: Configuration, task: str, split: str = "test") -> float:
    """Mean over seeds of the majority-class accuracy of ``task`` on ``split`` (``nan`` when not stored)."""
    return _mean(cfg.chance_validation if split == "validation" else cfg.chance_test, task)


def check(cfg: Configuration) -> ChanceCheck | None:
    """The chance check of a single-task classification configuration (``None`` otherwise, or when its rows
    store no chance level)."""
    if not cfg.single_task:
        return None
    task = cfg.tasks[0]
    for split, scores in (("validation", cfg.validation), ("test", cfg.test)):
        acc, chance = _mean(scores, (task, METRIC)), chance_level(cfg, task, split)
        if math.isfinite(acc) and math.isfinite(chance):
            return ChanceCheck(task, split, acc, chance, *binomial_p(cfg, task, split))
    return None


def flagged_tasks(parts: list[tuple[tuple[str, ...], Configuration]]) -> tuple[str, ...]:
    """The tasks of a Δm% baseline (its parts: tasks and the single-task configuration providing them) whose
    single-task configuration is at chance."""
    out = []
    for tasks, cfg in parts:
        result = check(cfg)
        if result is not None and result.flagged and result.task in tasks:
            out.append(result.task)
    return tuple(out)


def table_chance(configs: list[Configuration], task: str) -> float:
    """The test chance level of ``task`` over a table's configurations (mean over their seeds)."""
    values = [chance_level(c, task, "test") for c in configs]
    values = [v for v in values if math.isfinite(v)]
    return sum(values) / len(values) if values else math.nan
