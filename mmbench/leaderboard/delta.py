"""Δm% (LibMTL's convention), the references it is taken against, ranks, and the paired EW comparison.

Δm% follows Maninis et al. (2019), "Attentive Single-Tasking of Multiple Tasks", CVPR, as implemented
by LibMTL (``LibMTL/utils.py::count_improvement``; Lin & Zhang, 2023, JMLR):

    Δm = 100 · (1/T) Σ_t (1/M_t) Σ_m (−1)^{l_{t,m}} (N_{t,m} − B_{t,m}) / B_{t,m},   l = 1 if lower is better,

over every metric stored for each task (positive = better than the reference B).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmbench.leaderboard.aggregate import Configuration, lower_is_better
from mmbench.leaderboard.stats import probability_of_improvement


def delta_m(values: pd.DataFrame, reference: pd.Series) -> pd.Series:
    """Δm% of every row of ``values`` (index: seed; columns ``(task, metric)``) against ``reference``.

    Metrics the reference lacks, or where it is 0 (the ratio is undefined), are left out of M_t; a task
    left with no metric makes Δm undefined (``nan``) rather than silently averaging fewer tasks.
    """
    if values.empty:
        return pd.Series(dtype=float)
    base = reference.reindex(values.columns).to_numpy(dtype=float)
    usable = np.isfinite(base) & (base != 0)
    tasks = np.array([t for t, _ in values.columns], dtype=object)
    groups = [usable & (tasks == t) for t in dict.fromkeys(tasks)]
    if not all(g.any() for g in groups):
        return pd.Series(math.nan, index=values.index)
    sign = np.array([-1.0 if lower_is_better(m) else 1.0 for _, m in values.columns])
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = sign * (values.to_numpy(dtype=float) - base) / base
    per_task = np.stack([relative[:, g].mean(axis=1) for g in groups], axis=1)
    return pd.Series(100.0 * per_task.mean(axis=1), index=values.index)


def signed_main_scores(configs: list[Configuration], split: str = "test") -> pd.DataFrame:
    """Configurations × tasks: the mean main metric, negated where lower is better (higher = better)."""
    rows: dict[str, dict[str, float]] = {}
    for cfg in configs:
        mean = cfg.mean(split)
        rows[cfg.key] = {t: float(mean.get((t, m), math.nan)) * (-1.0 if lower_is_better(m) else 1.0)
                         for t, m in cfg.main_metrics().items()}
    return pd.DataFrame.from_dict(rows, orient="index", dtype=float)


def mean_ranks(configs: list[Configuration], split: str = "test") -> pd.Series:
    """Per task, rank the configurations by main metric (1 = best, ties averaged); mean over their tasks."""
    table = signed_main_scores(configs, split)
    if table.empty:
        return pd.Series(math.nan, index=[c.key for c in configs], dtype=float)
    return table.rank(axis=0, ascending=False, method="average").mean(axis=1).reindex([c.key for c in configs])


def best(candidates: list[Configuration]) -> Configuration:
    """The candidate with the lowest mean rank on the *validation* split (test if no validation scores);
    ties go to the first label in sorted order. Choosing on validation keeps the test split for reporting."""
    ordered = sorted(candidates, key=lambda c: c.label)
    ranks = mean_ranks(ordered, "validation")
    if ranks.isna().all():
        ranks = mean_ranks(ordered, "test")
    if ranks.isna().all():
        return ordered[0]
    return next(c for c in ordered if c.key == ranks.idxmin())


@dataclass
class Reference:
    """What a configuration is compared against: mean scores per ``(task, metric)`` and where they came from."""

    values: pd.Series
    source: str
    configs: list[Configuration]

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.configs]


def _task_slice(cfg: Configuration, task: str) -> pd.Series:
    mean = cfg.mean("test")
    return mean[mean.index.get_level_values(0) == task]


def single_task_baseline(cfg: Configuration, pool: list[Configuration]) -> Reference | None:
    """Per task, the single-task configuration with the same modalities and encoders (and, when one exists,
    the same aligner and fuser: source ``exact``; otherwise the best such one: source ``fallback``)."""
    if cfg.single_task:
        return None
    parts, chosen_configs, fallback = [], [], False
    for task in cfg.tasks:
        candidates = [c for c in pool if c.single_task and c.setting == cfg.setting and c.tasks == (task,)
                      and c.modalities == cfg.modalities and c.encoders == cfg.encoders and not c.test.empty]
        exact = [c for c in candidates if (c.aligner, c.fuser) == (cfg.aligner, cfg.fuser)]
        if not candidates:
            return None
        chosen = exact[0] if exact else best(candidates)
        fallback = fallback or not exact
        parts.append(_task_slice(chosen, task))
        chosen_configs.append(chosen)
    return Reference(pd.concat(parts), "fallback" if fallback else "exact", chosen_configs)


def single_modal_reference(cfg: Configuration, pool: list[Configuration]) -> Reference | None:
    """For a cross-modal configuration: the best single-modal configuration with the same tasks, using one
    of its modalities with the same encoder (chosen by :func:`best`, i.e. on validation)."""
    if not cfg.cross_modal:
        return None
    encoders = dict(cfg.encoders)
    candidates = [c for c in pool if not c.cross_modal and c.setting == cfg.setting and set(c.tasks) == set(cfg.tasks)
                  and len(c.modalities) == 1 and encoders.get(c.modalities[0]) == dict(c.encoders)[c.modalities[0]]
                  and not c.test.empty]
    if not candidates:
        return None
    chosen = best(candidates)
    return Reference(chosen.mean("test"), "best single-modal", [chosen])


def ew_counterpart(cfg: Configuration, pool: list[Configuration]) -> Configuration | None:
    """The configuration weighted by EW with the same architecture (modalities, tasks, encoders, aligner, fuser)."""
    if cfg.single_task or cfg.weighting in (None, "ew"):
        return None
    for c in pool:
        if (c.weighting == "ew" and c.setting == cfg.setting and c.modalities == cfg.modalities and c.tasks == cfg.tasks
                and c.encoders == cfg.encoders and (c.aligner, c.fuser) == (cfg.aligner, cfg.fuser)):
            return c
    return None


@dataclass
class EwComparison:
    """Paired (by seed) comparison with the EW configuration of the same architecture."""

    label: str
    gain: float
    p_improvement: float
    n: int
    score: str


def compare_with_ew(cfg: Configuration, ew: Configuration, baseline: Reference | None) -> EwComparison | None:
    """Per-seed score: Δm% against the single-task baseline (or, without one, against EW's mean); pair the
    seeds both ran; P(>EW) by :func:`~mmbench.leaderboard.stats.probability_of_improvement`."""
    reference, score = (baseline.values, "delta_m vs single-task baseline") if baseline else (ew.mean("test"), "delta_m vs EW mean")
    x = delta_m(cfg.test, reference).dropna()
    y = delta_m(ew.test, reference).dropna()
    seeds = sorted(set(x.index) & set(y.index))
    if not seeds:
        return None
    xs, ys = x.loc[seeds].to_numpy(), y.loc[seeds].to_numpy()
    return EwComparison(ew.label, float(np.mean(xs - ys)), probability_of_improvement(xs, ys), len(seeds), score)
