"""The leaderboard's robustness section (markdown, one table per task; its plot is
:func:`mmbench.leaderboard.report.plots.robustness_plot`).

Formulas in :mod:`mmbench.robustness.scores`, the late-fusion reference rule in
:mod:`mmbench.leaderboard.stats.robustness`; ``docs/robustness.md`` explains how to read both.
"""

from __future__ import annotations

import math

import numpy as np

from mmbench import scoring
from mmbench.leaderboard.analysis import Analysis
from mmbench.leaderboard.report.format import Column, arrow, bold_table, escape, fmt_interval

FORMULAS = (
    "Relative robustness R = ∫ r(l) dl / (l_max − l_min) over the perturbation levels (trapezoidal rule), "
    "r(l) = m(l)/m_clean (m(l) the main metric at level l; m_clean/m(l) when lower is better); 1 = unaffected. "
    "The R column is the mean over every modality × perturbation curve, then the per-curve columns follow. "
    "Effective robustness = R − R_ref on the same curves, R_ref from the late-fusion configuration of the same run "
    "(same modalities, tasks, encoders and settings; aligner and weighting matched, else none/EW: † marks that "
    "fallback). Drop without m = m_clean − m_missing (m_missing − m_clean when lower is better): positive = worse when "
    "modality m is missing (zero features after alignment; late fusion averages the modalities present). "
    "After MultiBench (Liang et al., NeurIPS 2021 Datasets and Benchmarks); see docs/robustness.md.")


def _rows(group: list[Analysis], task: str) -> list[Analysis]:
    return [a for a in group if a.robustness is not None and task in a.robustness.clean]


def _effective_text(a: Analysis, task: str) -> str:
    r = a.robustness
    if r.is_reference:
        return "0 (reference)"
    if task not in r.effective:
        return "—"
    return fmt_interval(r.effective[task], signed=True) + ("†" if r.reference_match == "fallback" else "")


def _reference_text(a: Analysis) -> str:
    r = a.robustness
    if r.reference is None:
        return "—"
    if r.is_reference:
        return "itself"
    c = r.reference
    return escape(" / ".join(x for x in (c.aligner, c.fuser, c.weighting) if x))


def _task_columns(rows: list[Analysis], task: str, metric: str) -> list[Column]:
    d = scoring.direction(metric)
    cols = [Column("configuration", 0, lambda a: math.nan, lambda a: escape(a.config.label)),
            Column("seeds", 0, lambda a: math.nan, lambda a: str(len(a.config.robustness))),
            Column(f"clean {escape(metric)}{arrow(d)}", d, lambda a: a.robustness.clean[task].mean,
                   lambda a: fmt_interval(a.robustness.clean[task])),
            Column("R ↑", 1, lambda a: a.robustness.relative[task].mean, lambda a: fmt_interval(a.robustness.relative[task]))]
    curves = list(dict.fromkeys(name for a in rows for (t, name) in a.robustness.relative_curves if t == task))
    for name in curves:
        def value(a: Analysis, name: str = name) -> float:
            return a.robustness.relative_curves.get((task, name), math.nan)
        cols.append(Column(f"R {escape(name)} ↑", 1, value, lambda a, value=value: "—" if math.isnan(value(a)) else f"{value(a):.3f}"))
    cols.append(Column("effective ↑", 1, lambda a: a.robustness.effective[task].mean
                       if task in a.robustness.effective and not a.robustness.is_reference else math.nan,
                       lambda a: _effective_text(a, task)))
    modalities = list(dict.fromkeys(m for a in rows for (t, m) in a.robustness.missing_drop if t == task))
    for m in modalities:
        cols.append(Column(f"drop without {escape(m)} ↓", -1,
                           lambda a, m=m: a.robustness.missing_drop[(task, m)].mean if (task, m) in a.robustness.missing_drop else math.nan,
                           lambda a, m=m: fmt_interval(a.robustness.missing_drop[(task, m)], signed=True)
                           if (task, m) in a.robustness.missing_drop else "—"))
    cols.append(Column("late-fusion reference", 0, lambda a: math.nan, _reference_text))
    return cols


def _settings_line(rows: list[Analysis]) -> str:
    r = rows[0].robustness
    levels = r.levels
    lv = f"{len(levels)} levels {levels[0]:g}…{levels[-1]:g}" if len(levels) > 1 else f"level {levels[0]:g}" if levels else "no levels"
    perts = sorted({f"{m}: {p}" for a in rows for (m, p, _) in a.robustness.curves})
    secs = np.nanmean([a.robustness.seconds for a in rows])
    return (f"Settings: {lv}, perturbation seed {r.settings.get('seed', 0)}; curves: {escape(', '.join(perts)) or 'none'}. "
            f"Robustness evaluation took {secs:.1f} s per cell on average.")


def robustness_section(group: list[Analysis], level: str) -> list[str]:
    """Markdown lines of one dataset's robustness section (none when no configuration was scored)."""
    scored = [a for a in group if a.robustness is not None]
    if not scored:
        return []
    tasks = list(dict.fromkeys(t for a in scored for t in a.config.tasks if t in a.robustness.clean))
    out = [f"{level} Robustness (test: missing and perturbed modalities)", "", _settings_line(scored), ""]
    for task in tasks:
        rows = _rows(scored, task)
        metric = rows[0].robustness.main_metric[task]
        out += [f"{level}# Task {escape(task)} ({escape(metric)})", "", bold_table(_task_columns(rows, task, metric), rows), ""]
    out += [FORMULAS, "Each value is the mean over seeds ± the half-width of its 95% Student-t interval.", ""]
    errors = [(a.config.label, k, v) for a in scored for k, v in a.robustness.errors.items()]
    if errors:
        out += ["Perturbations that failed (left out of R):", ""]
        out += [f"- {escape(label)}: {escape(name)}: {escape(msg[:300])}" for label, name, msg in errors] + [""]
    return out
