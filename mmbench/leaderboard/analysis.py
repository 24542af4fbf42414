"""The central object: every statistic of one configuration (:class:`Analysis`), computed for a page by
:func:`analyse`.

Δm%, cross-modal gains and their comparisons use one metric set, the grid's ``claims: {metrics: ...}``: ``main``
(the default: each task's main metric, the one the tables, ranks, aggregates and tuning use) or ``all`` (every
stored metric, LibMTL's convention). Comparisons against a reference at chance are kept out of their family — a
multitask single-modal reference is at chance on a task when its modality's single-task baseline is — and so are
those of a configuration identical to another of its context, EW's twin included (:func:`mark_twins`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import pandas as pd

from mmbench.grid.claims_spec import ClaimsSpec
from mmbench.leaderboard.chance import ChanceCheck, check, flagged_tasks
from mmbench.leaderboard.load import COST_KEYS, Configuration
from mmbench.leaderboard.references import (
    Reference,
    ew_counterpart,
    identical,
    same_architecture,
    single_modal_reference,
    single_task_baseline,
)
from mmbench.leaderboard.stats.comparisons import Comparison, against_ew, against_reference
from mmbench.leaderboard.stats.families import apply_claims
from mmbench.leaderboard.stats.intervals import Interval, bounded_interval
from mmbench.leaderboard.stats.multiplicity import DEFAULT
from mmbench.leaderboard.stats.ranks import mean_ranks
from mmbench.leaderboard.stats.relative import RelativeScore, relative_score
from mmbench.leaderboard.stats.robustness import RobustnessSummary
from mmbench.leaderboard.stats.robustness import summarise as summarise_robustness


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
    #: when the cells were scored for robustness
    robustness: RobustnessSummary | None = None

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


def metric_set(cfg: Configuration, metrics: str) -> Configuration:
    """``cfg`` with its test and validation scores restricted to the claims' metric set (``main``: each task's main
    metric; ``all``: unchanged)."""
    if metrics == "all" or cfg.test.empty:
        return cfg
    main = cfg.main_metrics()
    keep = [col for col in cfg.test.columns if main.get(col[0]) == col[1]]
    vkeep = [col for col in cfg.validation.columns if col in keep]
    return replace(cfg, test=cfg.test.loc[:, keep], validation=cfg.validation.loc[:, vkeep], _cache={})


def reference_chance_tasks(ref: Reference, pool: list[Configuration]) -> tuple[str, ...]:
    """The tasks a reference is at chance on: a single-task part by its own chance check; a multitask part (the
    single-modal reference of a multitask cross-modal row) by the single-task baselines of its modality and encoder
    — a modality that cannot beat chance alone on a task gives a chance-level denominator there too."""
    out: list[str] = []
    for tasks, cfg in ref.parts:
        if cfg.single_task:
            out += flagged_tasks([(tasks, cfg)])
            continue
        base = single_task_baseline(cfg, pool)
        if base is not None:
            out += [t for t in flagged_tasks(base.parts) if t in tasks]
    return tuple(dict.fromkeys(out))


def mark_twins(analyses: list[Analysis], unrestricted: dict[str, Configuration]) -> None:
    """Mark every configuration that is the same model as another of its context (same architecture, another
    weighting: :func:`~mmbench.leaderboard.references.identical` on every stored metric, not just the claims' set)
    — EW first, then by label, so a tuned LS that kept the default weights is EW's twin and, of two
    gradient methods that coincide (PCGrad and UPGrad on two tasks after Adam's rescaling), the second is the
    first's. The twin's comparisons keep its verdicts out of every family (:mod:`.stats.families`)."""
    order = sorted((a for a in analyses if not a.config.single_task and a.comparisons),
                   key=lambda a: (a.config.weighting != "ew", a.config.label))
    kept: list[Analysis] = []
    for a in order:
        full = unrestricted.get(a.config.key, a.config)
        twin = next((k for k in kept if same_architecture(k.config, a.config)
                     and identical(full, unrestricted.get(k.config.key, k.config))), None)
        if twin is None:
            kept.append(a)
            continue
        for c in a.comparisons:
            c.identical_to = twin.config.label


def analyse(configs: list[Configuration], adjust: str = DEFAULT, claims: ClaimsSpec | None = None) -> list[Analysis]:
    """Statistics for every configuration; ranks are within (dataset, family); comparisons are grouped into the
    families ``claims`` declares (default: :class:`~mmbench.grid.claims_spec.ClaimsSpec`), each adjusted by
    ``adjust`` (``bh`` or ``holm``) inside itself (:func:`~mmbench.leaderboard.stats.families.apply_claims`)."""
    claims = claims or ClaimsSpec()
    full = configs
    configs = [metric_set(c, claims.metrics) for c in full]
    out = []
    for cfg, shown in zip(configs, full):
        a = Analysis(cfg, _intervals(shown.test), _intervals(cfg.retrieval))
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
            if a.chance_tasks and a.delta_test is not None:
                a.delta_test.excluded = f"baseline at chance on {', '.join(a.chance_tasks)}"
        a.single_modal = single_modal_reference(cfg, configs)
        if a.single_modal is not None:
            a.gain = relative_score(cfg.test, cfg, a.single_modal)
            a.gain_test = against_reference("cross_modal_gain", cfg, a.single_modal)
            at_chance = reference_chance_tasks(a.single_modal, configs)
            if at_chance and a.gain_test is not None:
                a.gain_test.excluded = f"reference at chance on {', '.join(at_chance)}"
        ew = ew_counterpart(cfg, configs)
        if ew is not None:
            a.ew_label = ew.label
            a.vs_ew = against_ew(cfg, ew, a.baseline, drop=a.chance_tasks)
        a.robustness = summarise_robustness(cfg, configs)
        out.append(a)
    mark_twins(out, {c.key: f for c, f in zip(configs, full)})
    apply_claims([c for a in out for c in a.comparisons], claims, adjust)
    groups: dict[tuple[str, str], list[Analysis]] = {}
    for a in out:
        groups.setdefault((a.config.dataset, a.config.family), []).append(a)
    for group in groups.values():
        ranks = mean_ranks([a.config for a in group])
        for a in group:
            a.mean_rank = float(ranks.get(a.config.key, math.nan))
    return out
