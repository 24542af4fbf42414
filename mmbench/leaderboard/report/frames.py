"""The flat tables of a leaderboard (CSV, and the lists of its JSON): one row per configuration, per paired
comparison, per rliable aggregate value, per failed cell."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from mmbench.leaderboard.analysis import Analysis
from mmbench.leaderboard.load import COST_KEYS, Configuration, FailedCell
from mmbench.leaderboard.stats.aggregates import KindAggregate
from mmbench.leaderboard.stats.comparisons import Comparison
from mmbench.leaderboard.stats.intervals import Interval
from mmbench.leaderboard.stats.robustness import RobustnessSummary
from mmbench.leaderboard.stats.tiers import tiers


def _interval_columns(prefix: str, iv: Interval, mean_suffix: str = "") -> dict[str, float]:
    return {prefix + mean_suffix: iv.mean, f"{prefix}.ci_low": iv.low, f"{prefix}.ci_high": iv.high}


def robustness_columns(summary: RobustnessSummary | None) -> dict[str, Any]:
    """The CSV/JSON columns of one configuration: ``robust.<task>.relative|effective|clean`` (+ ``.ci_low``,
    ``.ci_high``), ``robust.<task>.missing_drop.<modality>`` (+ CI), ``robust.<task>.relative.<modality>/<perturbation>``
    (mean over seeds), ``robust_reference``, ``robust_reference_match``, ``robust_seconds``."""
    if summary is None:
        return {}
    out: dict[str, Any] = {}

    def put(prefix: str, iv: Interval) -> None:
        out.update(_interval_columns(prefix, iv))

    for t, iv in summary.clean.items():
        put(f"robust.{t}.clean", iv)
        put(f"robust.{t}.relative", summary.relative[t])
        if t in summary.effective:
            put(f"robust.{t}.effective", summary.effective[t])
        for (tt, m), drop in summary.missing_drop.items():
            if tt == t:
                put(f"robust.{t}.missing_drop.{m}", drop)
        for (tt, name), value in summary.relative_curves.items():
            if tt == t:
                out[f"robust.{t}.relative.{name}"] = value
    out["robust_reference"] = summary.reference.label if summary.reference is not None else None
    out["robust_reference_match"] = summary.reference_match
    out["robust_seconds"] = summary.seconds
    return out


#: the per-comparison columns of the declared-family protocol (beside ``p_value`` and ``p_adjusted``)
CLAIM_KEYS = ["p_signflip", "p_equivalence", "p_equivalence_adjusted", "equivalent", "margin", "verdict", "mde",
              "family", "excluded", "identical_to"]


def _test_columns(prefix: str, c: Comparison | None, effect: bool) -> dict[str, Any]:
    rec = c.record() if c else {}
    keys = ["test", "n_pairs", "min_p", "p_value", "p_adjusted"] + CLAIM_KEYS
    if effect:
        keys = ["reference", "score", "effect", "effect.ci_low", "effect.ci_high", "effect_size"] + keys
    rec = rec | {"family": rec.get("comparison_family")}  # ``<cmp>.family``: the declared family, not the row's
    text = ("test", "reference", "score", "family", "verdict", "excluded", "equivalent")
    return {f"{prefix}.{k}": rec.get(k, 0 if k == "n_pairs" else None if k in text else math.nan) for k in keys}


def _hparams_text(cfg: Configuration) -> str | None:
    sets = list(dict.fromkeys(json.dumps(h, sort_keys=True, default=str) for h in cfg.hparams.values()))
    return " / ".join(sets) if sets else None


def _groups(analyses: list[Analysis]) -> dict[tuple[str, str], list[int]]:
    groups: dict[tuple[str, str], list[int]] = {}
    for i, a in enumerate(analyses):
        groups.setdefault((a.config.dataset, a.config.family), []).append(i)
    return groups


def _headline(a: Analysis) -> tuple[float, Comparison | None]:
    """The column a family's tier ranks by: Δm% for multitask rows, the cross-modal gain for single-task
    cross-modal rows, none for single-modal baselines."""
    if a.config.family.startswith("mt"):
        return a.delta_m.mean, a.delta_test
    if a.config.family == "st-cm":
        return a.cross_modal_gain.mean, a.gain_test
    return math.nan, None


def frame(analyses: list[Analysis]) -> pd.DataFrame:
    """One row per configuration. Column groups: identity, ``seeds``/``failed_seeds``/``nonconverged_seeds``,
    ``<task>.<metric>.mean|ci_low|ci_high``, ``retrieval.*``, ``delta_m`` (+ CI, method, baseline, test),
    ``delta_m_excl_chance``, ``cross_modal_gain`` (+ CI, method, reference, test), ``vs_ew.*``, ``mean_rank``,
    cost means, ``chance.*``, ``robust.*`` and ``tier`` (1: best or statistically tied with the best of its
    (dataset, family) table by Δm% — by the cross-modal gain for ``st-cm`` —, 2: established below it, empty:
    not placed; :func:`~mmbench.leaderboard.stats.tiers.tiers`)."""
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
                 "chance.flagged": a.chance.flagged if a.chance else None,
                 "chance.trials": a.chance.trials if a.chance else None,
                 "chance.p_value": a.chance.p_value if a.chance else math.nan}
        rest |= robustness_columns(a.robustness)
        parts.append((ident, scores, rest))
    for rows in _groups(analyses).values():  # the tied tier of each (dataset, family) table's headline column
        headline = [_headline(analyses[i]) for i in rows]
        for i, tier in zip(rows, tiers([v for v, _ in headline], [c for _, c in headline])):
            parts[i][2]["tier"] = tier
    columns = [list(dict.fromkeys(k for p in parts for k in p[i])) for i in range(3)]
    return pd.DataFrame([p[0] | p[1] | p[2] for p in parts], columns=columns[0] + columns[1] + columns[2])


def comparisons_frame(analyses: list[Analysis]) -> pd.DataFrame:
    """One row per comparison (``kind``, ``comparison_family`` — its declared family or ``exploratory`` —,
    ``dataset``, ``family`` — the row's baseline family —, ``label``, ``reference``, ``test``, ``n_pairs``, ``min_p``,
    ``effect``, ``effect.ci_low``, ``effect.ci_high``, ``effect_size``, ``p_value`` and ``p_adjusted`` (paired
    t-test), the rest of :data:`CLAIM_KEYS`, ``testable``)."""
    rows = [c.record() for a in analyses for c in a.comparisons]
    cols = ["kind", "comparison_family", "dataset", "family", "label", "reference", "score", "test", "n_pairs", "min_p",
            "effect", "effect.ci_low", "effect.ci_high", "effect_size", "p_value", "p_adjusted"] \
        + [k for k in CLAIM_KEYS if k != "family"] + ["testable"]
    return pd.DataFrame(rows, columns=cols)


def aggregates_frame(aggs: list[KindAggregate]) -> pd.DataFrame:
    """One row per (dataset, kind, value): ``iqm`` and ``poi`` (vs ``reference``) with ``.ci_low``/``.ci_high``."""
    rows = []
    for g in aggs:
        for v in g.values:
            rows.append({"dataset": g.dataset, "kind": g.kind, "value": v.value, "reference": g.reference,
                         "configurations": v.configurations, "scores": v.scores, "columns": len(g.columns),
                         "iqm": v.iqm.value, "iqm.ci_low": v.iqm.low, "iqm.ci_high": v.iqm.high,
                         "poi": v.poi.value if v.poi else float("nan"),
                         "poi.ci_low": v.poi.low if v.poi else float("nan"),
                         "poi.ci_high": v.poi.high if v.poi else float("nan")})
    return pd.DataFrame(rows, columns=["dataset", "kind", "value", "reference", "configurations", "scores", "columns",
                                       "iqm", "iqm.ci_low", "iqm.ci_high", "poi", "poi.ci_low", "poi.ci_high"])


def failed_frame(failed: list[FailedCell]) -> pd.DataFrame:
    """One row per failed cell: ``cell_id``, ``family``, ``seed``, ``label``, ``error``."""
    return pd.DataFrame([{"cell_id": f.cell_id, "family": f.family, "seed": f.seed, "label": f.label, "error": f.error}
                         for f in failed], columns=["cell_id", "family", "seed", "label", "error"])


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-ready records (``nan`` → ``None``), 15 significant digits."""
    return json.loads(df.to_json(orient="records", double_precision=15))
