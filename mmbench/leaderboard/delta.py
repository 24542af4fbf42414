"""Δm% (LibMTL's convention), the references it is taken against (single-task baseline, single-modal
reference, EW counterpart), and ranks.

Δm% follows Maninis et al. (2019), "Attentive Single-Tasking of Multiple Tasks", CVPR, as implemented
by LibMTL (``LibMTL/utils.py::count_improvement``; Lin & Zhang, 2023, JMLR):

    Δm = 100 · (1/T) Σ_t (1/M_t) Σ_m (−1)^{l_{t,m}} (N_{t,m} − B_{t,m}) / B_{t,m},   l = 1 if lower is better,

over every metric stored for each task (positive = better than the reference B).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mmbench.leaderboard.aggregate import Configuration, lower_is_better


def delta_coefficients(columns: pd.Index, usable: np.ndarray) -> np.ndarray | None:
    """The weights c_k = 100 · (−1)^{l_k} / (T · M_t) of Δm% over ``columns`` (``(task, metric)``), zero where
    ``usable`` is False; ``None`` when a task is left with no usable metric (Δm% is then undefined)."""
    tasks = np.array([t for t, _ in columns], dtype=object)
    names = list(dict.fromkeys(tasks))
    coef = np.zeros(len(columns))
    for t in names:
        group = usable & (tasks == t)
        if not group.any():
            return None
        coef[group] = 1.0 / group.sum()
    sign = np.array([-1.0 if lower_is_better(m) else 1.0 for _, m in columns])
    return 100.0 * sign * coef / len(names)


def delta_m(values: pd.DataFrame, reference: pd.Series | pd.DataFrame) -> pd.Series:
    """Δm% of every row of ``values`` (index: seed; columns ``(task, metric)``) against ``reference``: a Series
    (one B for every row) or a frame indexed by seed (each row against the reference's *same seed*; a seed the
    reference lacks gives ``nan``).

    Metrics the reference lacks, or where it is 0 (the ratio is undefined), are left out of M_t; a task
    left with no metric makes Δm undefined (``nan``) rather than silently averaging fewer tasks.
    """
    if values.empty:
        return pd.Series(dtype=float)
    if isinstance(reference, pd.DataFrame):
        base = reference.reindex(index=values.index, columns=values.columns).to_numpy(dtype=float)
    else:
        base = np.broadcast_to(reference.reindex(values.columns).to_numpy(dtype=float), values.shape)
    known = np.isfinite(base).any(axis=0)  # metrics the reference has (on some seed)
    complete = np.isfinite(base[:, known]).all(axis=1)  # rows whose reference has every one of them
    usable = known & (base[complete] != 0).all(axis=0) if complete.any() else np.zeros(values.shape[1], bool)
    coef = delta_coefficients(values.columns, usable)
    if coef is None:
        return pd.Series(math.nan, index=values.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = (values.to_numpy(dtype=float)[:, usable] - base[:, usable]) / base[:, usable]
    out = relative @ coef[usable]
    out[~complete] = math.nan
    return pd.Series(out, index=values.index)


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
    """What a configuration is compared against: per part (the tasks it covers, the configuration that
    provides them), the mean scores per ``(task, metric)``, and where they came from."""

    values: pd.Series
    source: str
    configs: list[Configuration]
    parts: list[tuple[tuple[str, ...], Configuration]] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.configs]

    def frame(self, split: str = "test") -> pd.DataFrame:
        """Per-seed scores (index seed; columns ``(task, metric)``), each part's columns from its own seeds."""
        frames = []
        for tasks, cfg in self.parts:
            source = cfg.validation if split == "validation" else cfg.test
            frames.append(source.loc[:, source.columns.get_level_values(0).isin(tasks)])
        return pd.concat(frames, axis=1) if frames else pd.DataFrame()

    def mean(self, split: str = "test") -> pd.Series:
        return pd.concat([cfg.mean(split)[lambda m, t=tasks: m.index.get_level_values(0).isin(t)]
                          for tasks, cfg in self.parts]) if self.parts else pd.Series(dtype=float)


def _task_slice(cfg: Configuration, task: str) -> pd.Series:
    mean = cfg.mean("test")
    return mean[mean.index.get_level_values(0) == task]


def single_task_baseline(cfg: Configuration, pool: list[Configuration]) -> Reference | None:
    """Per task, the single-task configuration with the same modalities and encoders (and, when one exists,
    the same aligner and fuser: source ``exact``; otherwise the best such one: source ``fallback``). Single-task
    cells always use hard sharing, so the multitask row's architecture plays no part; the tuning protocol must match."""
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
    return Reference(pd.concat(parts), "fallback" if fallback else "exact", chosen_configs,
                     [((t,), c) for t, c in zip(cfg.tasks, chosen_configs)])


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
    return Reference(chosen.mean("test"), "best single-modal", [chosen], [(cfg.tasks, chosen)])


def same_architecture(a: Configuration, b: Configuration) -> bool:
    """Everything but the weighting equal: modalities, tasks, encoders, aligner, fuser, architecture, settings."""
    return (a.setting == b.setting and a.modalities == b.modalities and a.tasks == b.tasks and a.encoders == b.encoders
            and (a.aligner, a.fuser, a.architecture) == (b.aligner, b.fuser, b.architecture))


def ew_counterpart(cfg: Configuration, pool: list[Configuration]) -> Configuration | None:
    """The configuration weighted by EW with the same architecture (modalities, tasks, encoders, aligner, fuser,
    architecture, training and tuning)."""
    if cfg.single_task or cfg.weighting in (None, "ew"):
        return None
    return next((c for c in pool if c.weighting == "ew" and same_architecture(c, cfg)), None)
