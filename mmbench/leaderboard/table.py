"""Every statistic of every configuration, and the flat one-row-per-configuration frame (CSV/JSON)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mmbench.leaderboard.aggregate import COST_KEYS, Configuration
from mmbench.leaderboard.delta import (EwComparison, Reference, compare_with_ew, delta_m, ew_counterpart, mean_ranks,
                                       single_modal_reference, single_task_baseline)
from mmbench.leaderboard.robustness import columns as robustness_columns
from mmbench.leaderboard.robustness import summarise as summarise_robustness
from mmbench.leaderboard.stats import Interval, t_interval

_NONE = Interval(math.nan, math.nan, math.nan, 0)


@dataclass
class Analysis:
    """One configuration with its statistics (test split)."""

    config: Configuration
    metrics: dict[tuple[str, str], Interval] = field(default_factory=dict)
    retrieval: dict[tuple[str, str], Interval] = field(default_factory=dict)
    baseline: Reference | None = None
    delta_m: Interval = _NONE
    delta_m_seeds: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    single_modal: Reference | None = None
    cross_modal_gain: Interval = _NONE
    ew: EwComparison | None = None
    ew_label: str | None = None
    mean_rank: float = math.nan
    cost: dict[str, float] = field(default_factory=dict)
    #: ``mmbench.leaderboard.robustness.RobustnessSummary`` when the cells were scored for robustness
    robustness: Any = None


def _intervals(frame: pd.DataFrame) -> dict[tuple[str, str], Interval]:
    return {col: t_interval(frame[col].to_numpy()) for col in frame.columns}


def analyse(configs: list[Configuration]) -> list[Analysis]:
    """Statistics for every configuration; ranks are within (dataset, family)."""
    out = []
    for cfg in configs:
        a = Analysis(cfg, _intervals(cfg.test), _intervals(cfg.retrieval))
        a.cost = {k: float(cfg.cost[k].mean()) for k in COST_KEYS if k in cfg.cost.columns}
        a.baseline = single_task_baseline(cfg, configs)
        if a.baseline is not None:
            a.delta_m_seeds = delta_m(cfg.test, a.baseline.values)
            a.delta_m = t_interval(a.delta_m_seeds.to_numpy())
        a.single_modal = single_modal_reference(cfg, configs)
        if a.single_modal is not None:
            a.cross_modal_gain = t_interval(delta_m(cfg.test, a.single_modal.values).to_numpy())
        ew = ew_counterpart(cfg, configs)
        if ew is not None:
            a.ew_label = ew.label
            a.ew = compare_with_ew(cfg, ew, a.baseline)
        a.robustness = summarise_robustness(cfg, configs)
        out.append(a)
    groups: dict[tuple[str, str], list[Analysis]] = {}
    for a in out:
        groups.setdefault((a.config.dataset, a.config.family), []).append(a)
    for group in groups.values():
        ranks = mean_ranks([a.config for a in group])
        for a in group:
            a.mean_rank = float(ranks.get(a.config.key, math.nan))
    return out


def _interval_columns(prefix: str, iv: Interval, mean_suffix: str = "") -> dict[str, float]:
    return {prefix + mean_suffix: iv.mean, f"{prefix}.ci_low": iv.low, f"{prefix}.ci_high": iv.high}


def frame(analyses: list[Analysis]) -> pd.DataFrame:
    """One row per configuration. Column groups: identity, ``seeds``/``failed_seeds``, ``delta_m`` (+ CI,
    baseline source), ``cross_modal_gain`` (+ CI, reference), ``mean_rank``, ``<task>.<metric>.mean|ci_low|
    ci_high``, ``retrieval.<pair>.<metric>.*``, cost means, and the EW comparison."""
    parts: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []
    for a in analyses:
        c = a.config
        ident: dict[str, Any] = {
            "dataset": c.dataset, "family": c.family, "modalities": "+".join(c.modalities), "tasks": "+".join(c.tasks),
            "encoders": c.encoders_label, "aligner": c.aligner, "fuser": c.fuser, "weighting": c.weighting,
            "training": c.training, "label": c.label, "seeds": len(c.seeds), "seed_list": " ".join(map(str, c.seeds)),
            "failed_seeds": len(c.failed_seeds),
        }
        scores: dict[str, Any] = {}
        for (task, metric), iv in a.metrics.items():
            scores |= _interval_columns(f"{task}.{metric}", iv, ".mean")
        for (pair, metric), iv in a.retrieval.items():
            scores |= _interval_columns(f"retrieval.{pair}.{metric}", iv, ".mean")
        rest = _interval_columns("delta_m", a.delta_m)
        rest["delta_m_baseline"] = a.baseline.source if a.baseline else None
        rest["delta_m_baseline_labels"] = " ; ".join(a.baseline.labels) if a.baseline else None
        rest |= _interval_columns("cross_modal_gain", a.cross_modal_gain)
        rest["cross_modal_reference"] = a.single_modal.labels[0] if a.single_modal else None
        rest["mean_rank"] = a.mean_rank
        rest |= {key: a.cost.get(key, math.nan) for key in COST_KEYS}
        rest |= {"ew_reference": a.ew_label, "ew_gain": a.ew.gain if a.ew else math.nan,
                 "p_gt_ew": a.ew.p_improvement if a.ew else math.nan, "ew_pairs": a.ew.n if a.ew else 0,
                 "ew_score": a.ew.score if a.ew else None}
        rest |= robustness_columns(a.robustness)
        parts.append((ident, scores, rest))
    columns = [list(dict.fromkeys(k for p in parts for k in p[i])) for i in range(3)]
    return pd.DataFrame([p[0] | p[1] | p[2] for p in parts], columns=columns[0] + columns[1] + columns[2])
