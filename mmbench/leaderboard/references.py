"""What a configuration is compared against: its single-task baseline (Δm%), its single-modal reference
(cross-modal gain) and its EW counterpart (same architecture), each chosen on validation by :func:`best`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from mmbench.leaderboard.load import Configuration
from mmbench.leaderboard.stats.ranks import mean_ranks, signed_main_scores


def best(candidates: list[Configuration]) -> Configuration:
    """The candidate with the lowest mean rank on the *validation* split (test if no validation scores).
    A tie in mean rank goes to the higher mean signed validation main metric (over the tasks: what the ranks
    rank), and only then to the first label in sorted order — a pick never hinges on how a label is spelt
    while the scores can tell. Choosing on validation keeps the test split for reporting."""
    ordered = sorted(candidates, key=lambda c: c.label)
    split = "validation"
    ranks = mean_ranks(ordered, split)
    if ranks.isna().all():
        split = "test"
        ranks = mean_ranks(ordered, split)
    if ranks.isna().all():
        return ordered[0]
    level = signed_main_scores(ordered, split).mean(axis=1).reindex(ranks.index)
    keyed = [(r, -level.get(c.key, math.nan), i, c) for i, (c, r) in enumerate(zip(ordered, ranks.tolist()))]
    keyed = [k for k in keyed if math.isfinite(k[0])]
    return min(keyed, key=lambda k: (k[0], k[1] if math.isfinite(k[1]) else math.inf, k[2]))[3]


def tied_with(chosen: Configuration, candidates: list[Configuration]) -> tuple[float, list[Configuration]]:
    """``chosen``'s validation mean rank among ``candidates`` and the others sharing it — a pick :func:`best` made
    by its tie-break, which a page should disclose (``nan`` and none without validation ranks)."""
    ranks = mean_ranks(candidates, "validation")
    mine = float(ranks.get(chosen.key, math.nan))
    if not math.isfinite(mine):
        return mine, []
    return mine, [c for c in candidates if c.key != chosen.key and math.isclose(ranks.get(c.key, math.nan), mine)]


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


def identical(cfg: Configuration, other: Configuration) -> bool:
    """Whether two configurations are the same model in effect: every stored test and validation score equal on
    every seed both ran on the same split (at least one, and the same seeds) — e.g. a tuned LS whose tuning kept the
    default weights of 1, next to EW. Its comparisons would otherwise count one model twice in a family."""
    seeds = cfg.paired_seeds(other)
    if not seeds or set(seeds) != set(cfg.test.index) or set(seeds) != set(other.test.index):
        return False
    for mine, theirs in ((cfg.test, other.test), (cfg.validation, other.validation)):
        if list(mine.columns) != list(theirs.columns):
            return False
        a, b = mine.reindex(seeds).to_numpy(), theirs.reindex(seeds).to_numpy()
        if a.shape != b.shape or not ((a == b) | (pd.isna(a) & pd.isna(b))).all():
            return False
    return True
