"""The family tables: which columns a table has, what each cell prints, and the notes under the table."""

from __future__ import annotations

import math
from typing import Any, Callable

from mmbench import scoring
from mmbench.leaderboard.analysis import Analysis
from mmbench.leaderboard.chance import table_chance
from mmbench.leaderboard.load import Configuration
from mmbench.leaderboard.report.format import Column, arrow, bold_table, escape, fmt_interval, fmt_p, number, too_few
from mmbench.leaderboard.report.texts import (
    BASELINES,
    CHANCE,
    CONVERGENCE_MARK,
    COST_COLUMNS,
    COSTS,
    CROSS_MODAL,
    FORMULA,
    INTERVALS,
    MODEL_SELECTION,
    RELATIVE_INTERVALS,
    STALE,
    STALE_MARK,
    TESTS,
)
from mmbench.leaderboard.stats.comparisons import Comparison
from mmbench.leaderboard.stats.families import is_ew_clone
from mmbench.leaderboard.stats.relative import RelativeScore
from mmbench.leaderboard.stats.tiers import per_seed


def _seeds(a: Analysis) -> str:
    c = a.config
    text = f"{len(c.seeds)} (+{len(c.failed_seeds)} failed)" if c.failed_seeds else str(len(c.seeds))
    if c.nonconverged_seeds:
        text += f" {CONVERGENCE_MARK}{len(c.nonconverged_seeds)}"
    return text + (f" {STALE_MARK}" if c.stale else "")


def tuning_text(c: Configuration) -> str:
    if c.tuning is None:
        return "untuned"
    trials = c.tuning.get("trials")
    return f"tuned ({trials} trials)" if trials is not None else "tuned"


def fmt_test(c: Comparison | None) -> str:
    """A test's cell: ``worse: p=0.001 (adj 0.004, n=10, MDE 1.2)``, "too few seeds to test (n=1; ...)", "no paired
    seeds" or ``—``; an equivalence cites its TOST p; an excluded comparison (reference at chance) and a twin's (the same
    model as another row) say so."""
    if c is None:
        return "—"
    if c.result is None:
        return "no paired seeds"
    if not c.testable:
        return too_few(c.n_pairs)
    mde = f", MDE {c.mde:.2f}" if math.isfinite(c.mde) else ""
    if c.identical_to and not is_ew_clone(c):
        return f"identical to {escape(c.identical_to)} (its test stands; not counted)"
    if c.verdict == "equivalent":  # an equivalence rests on TOST, not on a large difference p
        if c.identical_to:  # EW's twin: every difference 0, decided alone
            return f"equivalent (±{c.margin:g}), EW's twin: TOST p={fmt_p(c.p_equivalence)} (not adjusted, n={c.n_pairs}{mde})"
        return (f"equivalent (±{c.margin:g}): TOST p={fmt_p(c.p_equivalence)} "
                f"(adj {fmt_p(c.p_equivalence_adjusted)}, n={c.n_pairs}{mde})")
    head = "excluded (reference at chance)" if c.excluded else c.verdict
    return f"{head}: p={fmt_p(c.p_value)} (adj {fmt_p(c.p_adjusted)}, n={c.n_pairs}{mde})"



def _ew(a: Analysis) -> str:
    if a.config.weighting == "ew":
        return "(EW)"
    if a.vs_ew is None:
        return "—"
    if a.vs_ew.result is None:
        return "no paired seeds"
    return fmt_interval(a.vs_ew.result.effect, True, 2) + ", " + fmt_test(a.vs_ew)


def _relative(score: RelativeScore, suffix: str = "") -> str:
    text = fmt_interval(score.interval, True, 2)
    if text == "—":
        return text
    return text + (" (Welch)" if score.method == "welch" else "") + suffix


def _versus(a: Analysis) -> str:
    if a.single_modal is None or a.cross_modal_gain.n == 0:
        return ""
    return " (vs " + escape("+".join(a.single_modal.configs[0].modalities)) + ")"


def _identity(family: str, cfgs: list[Configuration]) -> list[Column]:
    ident: list[Column] = []
    fields: list[tuple[str, Callable[[Configuration], Any]]] = [
        ("modalities", lambda c: "+".join(c.modalities)), ("tasks", lambda c: "+".join(c.tasks)),
        ("encoders", lambda c: c.encoders_label), ("aligner", lambda c: c.aligner), ("fuser", lambda c: c.fuser),
        ("architecture", lambda c: c.architecture if not c.single_task else None),
        ("weighting", lambda c: c.weighting), ("training", lambda c: c.training), ("tuning", tuning_text)]
    for name, get in fields:
        values = [get(c) for c in cfgs]
        if all(v is None for v in values):
            continue
        if name in ("training", "tuning") and len(set(values)) == 1:
            continue
        if name == "architecture" and len(set(values)) == 1 and not any(c.architecture_named for c in cfgs):
            continue
        ident.append(Column(name, 0, lambda a: math.nan, lambda a, get=get: escape(get(a.config) or "—")))
    return ident


def _metric_text(a: Analysis, key: tuple[str, str]) -> str:
    if key not in a.metrics:
        return "—"
    text = fmt_interval(a.metrics[key])
    if a.chance is not None and a.chance.flagged and a.chance.task == key[0] and key[1] == "accuracy":
        text += " ⚠ chance"
    return text


def columns(family: str, group: list[Analysis]) -> list[Column]:
    cfgs = [a.config for a in group]
    cols = _identity(family, cfgs) + [Column("seeds", 0, lambda a: math.nan, _seeds)]
    tasks: dict[str, set[str]] = {}
    for c in cfgs:
        for t in c.tasks:
            tasks.setdefault(t, set()).update(m for (tt, m) in c.test.columns if tt == t)
    for task, metrics in tasks.items():
        if not metrics:
            continue
        metric = scoring.main_metric(metrics)
        d = scoring.direction(metric)
        key = (task, metric)
        chance = table_chance(cfgs, task) if metric == "accuracy" else math.nan
        note = f" (chance {chance:.2f})" if math.isfinite(chance) else ""
        cols.append(Column(f"{escape(task)} {escape(metric)}{arrow(d)}{note}", d,
                           lambda a, key=key: a.metrics[key].mean if key in a.metrics else math.nan,
                           lambda a, key=key: _metric_text(a, key),
                           lambda a, key=key: a.config.test[key] if key in a.config.test.columns else None))
    if family.startswith("mt"):
        cols.append(Column("Δm%" + arrow(1), 1, lambda a: a.delta_m.mean,
                           lambda a: _relative(a.delta, "†" if a.baseline and a.baseline.source == "fallback" else ""),
                           lambda a: per_seed(a.delta_test)))
        if any(a.chance_tasks for a in group):
            cols.append(Column("Δm% w/o ⚠" + arrow(1), 1, lambda a: a.delta_excl_chance.interval.mean,
                               lambda a: _relative(a.delta_excl_chance) + (" (w/o " + escape("+".join(a.chance_tasks)) + ")"
                                                                           if a.chance_tasks else "")))
        cols.append(Column("Δm% test", 0, lambda a: math.nan, lambda a: fmt_test(a.delta_test)))
    if family.endswith("cm"):
        cols.append(Column("cross-modal gain%" + arrow(1), 1, lambda a: a.cross_modal_gain.mean,
                           lambda a: _relative(a.gain, _versus(a)), lambda a: per_seed(a.gain_test)))
        cols.append(Column("gain test", 0, lambda a: math.nan, lambda a: fmt_test(a.gain_test)))
    if family.startswith("mt"):
        cols.append(Column("vs EW", 0, lambda a: math.nan, _ew))
    cols.append(Column("mean rank" + arrow(-1), -1, lambda a: a.mean_rank,
                       lambda a: number(a.mean_rank, decimals=2) if math.isfinite(a.mean_rank) else "—"))
    for key, header, dec in COST_COLUMNS:
        cols.append(Column(header + arrow(-1), -1, lambda a, key=key: a.cost.get(key, math.nan),
                           lambda a, key=key, dec=dec: number(a.cost[key], decimals=dec) if math.isfinite(a.cost.get(key, math.nan)) else "—"))
    return cols


def family_table(family: str, group: list[Analysis]) -> str:
    """One GitHub table: the best value of each directed column in bold (ties all bold; none when all equal)."""
    return bold_table(columns(family, group), group)


def convergence_line(group: list[Analysis]) -> str:
    """"k of n configurations had seeds still improving when training stopped" (or that it was not recorded)."""
    recorded = [a for a in group if a.config.converged]
    if not recorded:
        return ("Convergence: not recorded for these cells (stored before `converged` was); a model whose best "
                "validation epoch was its last cannot be told apart.")
    k = sum(1 for a in recorded if a.config.nonconverged_seeds)
    text = (f"{k} of {len(group)} configurations had seeds still improving when training stopped "
            f"({CONVERGENCE_MARK}k: k seeds whose best validation epoch was the last one run)")
    missing = len(group) - len(recorded)
    return text + (f"; {missing} configurations do not record it." if missing else ".")


def footer(family: str, group: list[Analysis]) -> str:
    lines = [INTERVALS, f"`{FORMULA}`. {BASELINES[family]}"]
    if family.endswith("cm"):
        lines.append(CROSS_MODAL)
    if family.startswith("mt") or family.endswith("cm"):
        lines += [RELATIVE_INTERVALS, TESTS]
    if any(a.chance is not None or a.chance_tasks for a in group) or any(
            not a.config.chance_test.empty for a in group):
        lines.append(CHANCE)
    lines.append(convergence_line(group))
    if any(a.config.stale for a in group):
        lines.append(STALE)
    if any(a.config.hparams for a in group):
        lines.append("Tuned rows: their chosen hyperparameters are in the [Tuning](#tuning) section.")
    lines += [COSTS, MODEL_SELECTION]
    return "\n\n".join(line for line in lines if line.strip())
