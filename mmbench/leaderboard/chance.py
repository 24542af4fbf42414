"""Chance levels of classification tasks, and single-task baselines that do not beat them.

Each cell stores ``result["chance"] = {"validation": {task: acc}, "test": {task: acc}}``: the accuracy of always
predicting the split's most frequent class. A single-task configuration on a classification task is **at
chance** (flagged ⚠ chance) when its mean *validation* accuracy does not exceed the mean validation chance level
by at least :data:`MARGIN` = 2 accuracy points (the test split when a row has no validation scores). The
margin, not a test: with three seeds no paired test can reach p < 0.05 (:mod:`~mmbench.leaderboard.significance`),
and the decision is taken on validation so that the test split is only reported. A Δm% whose baseline on some
task is at chance divides by a chance-level score: the leaderboard shows it with and without those tasks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from mmbench.leaderboard.aggregate import Configuration

#: accuracy points a single-task baseline must beat its majority-class accuracy by
MARGIN = 0.02
METRIC = "accuracy"


@dataclass(frozen=True)
class ChanceCheck:
    """A single-task configuration's accuracy against its chance level on one split (means over seeds)."""

    task: str
    split: str
    accuracy: float
    chance: float

    @property
    def flagged(self) -> bool:
        return not (self.accuracy - self.chance >= MARGIN)


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
            return ChanceCheck(task, split, acc, chance)
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
