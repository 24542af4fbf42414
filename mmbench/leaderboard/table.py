"""Every statistic of every configuration, and the flat one-row-per-configuration frame (CSV/JSON)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mmbench.leaderboard.aggregate import COST_KEYS, Configuration
from mmbench.leaderboard.chance import ChanceCheck, check, flagged_tasks
from mmbench.leaderboard.comparisons import (
    Comparison,
    adjust_page,
    against_ew,
    against_reference,
)
from mmbench.leaderboard.delta import (
    Reference,
    ew_counterpart,
    mean_ranks,
    single_modal_reference,
    single_task_baseline,
)
from mmbench.leaderboard.intervals import RelativeScore, relative_score
from mmbench.leaderboard.multiplicity import DEFAULT
from mmbench.leaderboard.robustness import columns as robustness_columns
from mmbench.leaderboard.robustness import summarise as summarise_robustness
from mmbench.leaderboard.stats import NO_INTERVAL, Interval, bounded_interval


@dataclass
class Analysis:
    """One configuration with its statistics (test split)."""

    config: Configuration
    metrics: dict[tuple[str, str], Interval] = field(default_factory=dict)
    retrieval: dict[tuple[str, str], Interval] = field(default_factory=dict)
    baseline: Reference | None = None
    delta: RelativeScore = field(default_factory=RelativeScore)
    #: Δm% without the tasks whose single-task baseline is at chance (``chance_tasks``)
    delta_excl_chance: RelativeScore = field(default_factory=RelativeScore)
    chance_tasks: tuple[str, ...] = ()
    single_modal: Reference | None = None
    gain: RelativeScore = field(default_factory=RelativeScore)
    ew_label: str | None = None
    vs_ew: Comparison | None = None
    delta_test: Comparison | None = None
    gain_test: Comparison | None = None
    #: single-task classification rows: accuracy against the majority-class accuracy
    chance: ChanceCheck | None = None
    mean_rank: float = math.nan
    cost: dict[str, float] = field(default_factory=dict)
    #: ``mmbench.leaderboard.robustness.RobustnessSummary`` when the cells were scored for robustness
    robustness: Any = None

    @property
    def delta_m(self) -> Interval:
        return self.delta.interval

    @property
    def cross_modal_gain(self) -> Interval:
        return self.gain.interval

    @property
    def comparisons(self) -> list[Comparison]:
        return [c for c in (self.delta_test, self.gain_test, self.vs_ew) if c is not None]


def _intervals(frame: pd.DataFrame) -> dict[tuple[str, str], Interval]:
    return {col: bounded_interval(frame[col].to_numpy(), col[1]) for col in frame.columns}


def analyse(configs: list[Configuration], adjust: str = DEFAULT) -> list[Analysis]:
    """Statistics for every configuration; ranks are within (dataset, family); every comparison's p-value is
    adjusted by ``adjust`` (``bh`` or ``holm``) over all of them."""
    out = []
    for cfg in configs:
        a = Analysis(cfg, _intervals(cfg.test), _intervals(cfg.retrieval))
        a.cost = {k: float(cfg.cost[k].mean()) for k in COST_KEYS if k in cfg.cost.columns}
        a.chance = check(cfg)
        a.baseline = single_task_baseline(cfg, configs)
        if a.baseline is not None:
            a.delta = relative_score(cfg.test, cfg, a.baseline)
            a.delta_test = against_reference("delta_m", cfg, a.baseline)
            a.chance_tasks = flagged_tasks(a.baseline.parts)
            if a.chance_tasks:
                kept = cfg.test.loc[:, ~cfg.test.columns.get_level_values(0).isin(a.chance_tasks)]
                a.delta_excl_chance = relative_score(kept, cfg, a.baseline) if kept.shape[1] else RelativeScore()
            else:
                a.delta_excl_chance = a.delta
        a.single_modal = single_modal_reference(cfg, configs)
        if a.single_modal is not None:
            a.gain = relative_score(cfg.test, cfg, a.single_modal)
            a.gain_test = against_reference("cross_modal_gain", cfg, a.single_modal)
        ew = ew_counterpart(cfg, configs)
        if ew is not None:
            a.ew_label = ew.label
            a.vs_ew = against_ew(cfg, ew, a.baseline)
        a.robustness = summarise_robustness(cfg, configs)
        out.append(a)
    adjust_page([c for a in out for c in a.comparisons], adjust)
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


def _test_columns(prefix: str, c: Comparison | None, effect: bool) -> dict[str, Any]:
    rec = c.record() if c else {}
    keys = ["test", "n_pairs", "min_p", "p_value", "p_adjusted", "t_p_value"]
    if effect:
        keys = ["reference", "score", "effect", "effect.ci_low", "effect.ci_high", "effect_size"] + keys
    return {f"{prefix}.{k}": rec.get(k, 0 if k == "n_pairs" else None if k in ("test", "reference", "score") else math.nan)
            for k in keys}


def _hparams_text(cfg: Configuration) -> str | None:
    sets = list(dict.fromkeys(json.dumps(h, sort_keys=True, default=str) for h in cfg.hparams.values()))
    return " / ".join(sets) if sets else None


def frame(analyses: list[Analysis]) -> pd.DataFrame:
    """One row per configuration. Column groups: identity, ``seeds``/``failed_seeds``/``nonconverged_seeds``,
    ``<task>.<metric>.mean|ci_low|ci_high``, ``retrieval.*``, ``delta_m`` (+ CI, method, baseline, test),
    ``delta_m_excl_chance``, ``cross_modal_gain`` (+ CI, method, reference, test), ``vs_ew.*``, ``mean_rank``,
    cost means, ``chance.*`` and ``robust.*``."""
    parts: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []
    for a in analyses:
        c = a.config
        ident: dict[str, Any] = {
            "dataset": c.dataset, "family": c.family, "modalities": "+".join(c.modalities), "tasks": "+".join(c.tasks),
            "encoders": c.encoders_label, "aligner": c.aligner, "fuser": c.fuser, "architecture": c.architecture,
            "weighting": c.weighting, "training": c.training, "tuning": c.tuning_key or None,
            "hparams": _hparams_text(c), "label": c.label, "seeds": len(c.seeds),
            "seed_list": " ".join(map(str, c.seeds)), "failed_seeds": len(c.failed_seeds),
            "nonconverged_seeds": len(c.nonconverged_seeds) if c.converged else math.nan,
            "split_seeds": " ".join(str(c.split_seeds[s]) for s in c.seeds if s in c.split_seeds) or None,
            "stale": c.stale,
        }
        scores: dict[str, Any] = {}
        for (task, metric), iv in a.metrics.items():
            scores |= _interval_columns(f"{task}.{metric}", iv, ".mean")
        for (pair, metric), iv in a.retrieval.items():
            scores |= _interval_columns(f"retrieval.{pair}.{metric}", iv, ".mean")
        rest = _interval_columns("delta_m", a.delta_m)
        rest["delta_m.method"] = a.delta.method or None
        rest["delta_m_baseline"] = a.baseline.source if a.baseline else None
        rest["delta_m_baseline_labels"] = " ; ".join(a.baseline.labels) if a.baseline else None
        rest |= _test_columns("delta_m", a.delta_test, effect=False)
        rest |= _interval_columns("delta_m_excl_chance", a.delta_excl_chance.interval)
        rest["delta_m_chance_tasks"] = "+".join(a.chance_tasks) or None
        rest |= _interval_columns("cross_modal_gain", a.cross_modal_gain)
        rest["cross_modal_gain.method"] = a.gain.method or None
        rest["cross_modal_reference"] = a.single_modal.labels[0] if a.single_modal else None
        rest |= _test_columns("cross_modal_gain", a.gain_test, effect=False)
        rest |= _test_columns("vs_ew", a.vs_ew, effect=True)
        rest["mean_rank"] = a.mean_rank
        rest |= {key: a.cost.get(key, math.nan) for key in COST_KEYS}
        rest |= {"chance.split": a.chance.split if a.chance else None,
                 "chance.level": a.chance.chance if a.chance else math.nan,
                 "chance.accuracy": a.chance.accuracy if a.chance else math.nan,
                 "chance.flagged": a.chance.flagged if a.chance else None}
        rest |= robustness_columns(a.robustness)
        parts.append((ident, scores, rest))
    columns = [list(dict.fromkeys(k for p in parts for k in p[i])) for i in range(3)]
    return pd.DataFrame([p[0] | p[1] | p[2] for p in parts], columns=columns[0] + columns[1] + columns[2])


def comparisons_frame(analyses: list[Analysis]) -> pd.DataFrame:
    """One row per comparison (``kind``, ``label``, ``reference``, ``test``, ``n_pairs``, ``min_p``, ``effect``,
    ``effect.ci_low``, ``effect.ci_high``, ``effect_size``, ``p_value``, ``p_adjusted``, ``t_p_value``...)."""
    rows = [c.record() for a in analyses for c in a.comparisons]
    cols = ["kind", "dataset", "family", "label", "reference", "score", "test", "n_pairs", "min_p", "effect",
            "effect.ci_low", "effect.ci_high", "effect_size", "p_value", "p_adjusted", "t_p_value", "testable"]
    return pd.DataFrame(rows, columns=cols)


__all__ = ["Analysis", "NO_INTERVAL", "analyse", "comparisons_frame", "frame"]
