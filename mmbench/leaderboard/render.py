"""Markdown rendering (``tabulate``, GitHub tables): a header, one table per baseline family with ↑/↓ and the
best value per column in bold, the formula and model-selection rule under every table, retrieval scores,
plots, and the failed cells. Every name from a config is escaped so that no component name breaks a table."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Callable

from tabulate import tabulate

from mmbench.leaderboard.aggregate import FAMILIES, FailedCell, dataset_name, lower_is_better, main_metric
from mmbench.leaderboard.format import Column, bold_table, escape, fmt_interval, _num  # noqa: F401 - re-exported
from mmbench.leaderboard.robustness_render import robustness_section
from mmbench.leaderboard.table import Analysis

FAMILY_TITLES = {"st-sm": "Single-task, single-modal", "st-cm": "Single-task, cross-modal",
                 "mt-sm": "Multitask, single-modal", "mt-cm": "Multitask, cross-modal"}
FORMULA = ("Δm% = 100 · (1/T) Σ_t (1/M_t) Σ_m (−1)^l(t,m) · (N(t,m) − B(t,m)) / B(t,m), over the T tasks and the "
           "M_t metrics stored per task; l(t,m) = 1 when lower is better; positive = better than B")
MODEL_SELECTION = ("Model selection: after every epoch the model is scored on the validation split by the unweighted "
                   "mean of the per-task losses; the best epoch's weights are kept (ties: the earlier epoch) and "
                   "training stops after `patience` epochs without improvement. Test metrics come from those weights.")
BASELINES = {
    "st-sm": "Single-task rows are the baselines B of Δm% for the single-modal multitask table.",
    "st-cm": "Single-task rows are the baselines B of Δm% for the cross-modal multitask table.",
    "mt-sm": "B, per task: the single-task, single-modal configuration with the same modality and encoder.",
    "mt-cm": ("B, per task: the single-task, cross-modal configuration with the same modalities, encoders, aligner "
              "and fuser; † marks a fallback to the best (on validation) single-task cross-modal configuration with "
              "the same modalities and encoders, when none has the same aligner and fuser."),
}
CROSS_MODAL = ("Cross-modal gain: the same formula with B = the best single-modal configuration with the same tasks "
               "that uses one of this row's modalities with the same encoder (best = lowest mean rank of the "
               "validation main metric).")
P_EW = ("P(>EW): paired by seed, the fraction of 10,000 seeded bootstrap resamples of the seeds in which this row's "
        "per-seed Δm% beats the EW row's with the same architecture (Agarwal et al., NeurIPS 2021); n = seeds paired. "
        "Near 0.5, or n small: the difference is within the noise.")
INTERVALS = ("Test split. Each value is the mean over seeds ± the half-width of its 95% Student-t interval (n−1 degrees "
             "of freedom; \"n=1\": one seed, no interval). ↑/↓: higher/lower is better; **bold**: best in its column.")

MEMORY_KINDS = {"cuda_max_allocated": "CUDA max allocated per cell",
                "cell_peak_rss": "peak resident memory of the process during the cell (CPU; reset per cell)",
                "process_peak_rss": "peak RSS of the process that ran the cell (CPU; cumulative over earlier cells "
                                    "in that process, so an upper bound)"}

def _arrow(direction: int) -> str:
    return {1: " ↑", -1: " ↓"}.get(direction, "")


def _seeds(a: Analysis) -> str:
    n, failed = len(a.config.seeds), len(a.config.failed_seeds)
    return f"{n} (+{failed} failed)" if failed else str(n)


def _ew(a: Analysis) -> str:
    if a.config.weighting == "ew":
        return "(EW)"
    if a.ew is None:
        return "—" if a.ew_label is None else "no paired seeds"
    return f"P(>EW)={a.ew.p_improvement:.2f} (n={a.ew.n})"


def _versus(a: Analysis) -> str:
    if a.single_modal is None or a.cross_modal_gain.n == 0:
        return ""
    return " (vs " + escape("+".join(a.single_modal.configs[0].modalities)) + ")"


def _columns(family: str, group: list[Analysis]) -> list[Column]:
    cfgs = [a.config for a in group]
    ident: list[Column] = []
    fields: list[tuple[str, Callable[[Any], Any]]] = [
        ("modalities", lambda c: "+".join(c.modalities)), ("tasks", lambda c: "+".join(c.tasks)),
        ("encoders", lambda c: c.encoders_label), ("aligner", lambda c: c.aligner), ("fuser", lambda c: c.fuser),
        ("weighting", lambda c: c.weighting), ("training", lambda c: c.training)]
    for name, get in fields:
        values = [get(c) for c in cfgs]
        if all(v is None for v in values) or (name == "training" and len(set(values)) == 1):
            continue
        ident.append(Column(name, 0, lambda a: math.nan, lambda a, get=get: escape(get(a.config) or "—")))
    cols = ident + [Column("seeds", 0, lambda a: math.nan, _seeds)]
    tasks: dict[str, set[str]] = {}
    for c in cfgs:
        for t in c.tasks:
            tasks.setdefault(t, set()).update(m for (tt, m) in c.test.columns if tt == t)
    for task, metrics in tasks.items():
        if not metrics:
            continue
        metric = main_metric(metrics)
        d = -1 if lower_is_better(metric) else 1
        key = (task, metric)
        cols.append(Column(f"{escape(task)} {escape(metric)}{_arrow(d)}", d,
                           lambda a, key=key: a.metrics[key].mean if key in a.metrics else math.nan,
                           lambda a, key=key: fmt_interval(a.metrics[key]) if key in a.metrics else "—"))
    if family.startswith("mt"):
        cols.append(Column("Δm%" + _arrow(1), 1, lambda a: a.delta_m.mean,
                           lambda a: fmt_interval(a.delta_m, True, 2) + ("†" if a.baseline and a.baseline.source == "fallback" else "")))
    if family.endswith("cm"):
        cols.append(Column("cross-modal gain%" + _arrow(1), 1, lambda a: a.cross_modal_gain.mean,
                           lambda a: fmt_interval(a.cross_modal_gain, True, 2) + _versus(a)))
    if family.startswith("mt"):
        cols.append(Column("vs EW", 0, lambda a: math.nan, _ew))
    cols.append(Column("mean rank" + _arrow(-1), -1, lambda a: a.mean_rank,
                       lambda a: _num(a.mean_rank, decimals=2) if math.isfinite(a.mean_rank) else "—"))
    for key, header, dec in (("params", "params", 0), ("train_seconds", "train s", None), ("peak_memory_mb", "peak MB", 0)):
        cols.append(Column(header + _arrow(-1), -1, lambda a, key=key: a.cost.get(key, math.nan),
                           lambda a, key=key, dec=dec: _num(a.cost[key], decimals=dec) if math.isfinite(a.cost.get(key, math.nan)) else "—"))
    return cols


def family_table(family: str, group: list[Analysis]) -> str:
    """One GitHub table: the best value of each directed column in bold (ties all bold; none when all equal)."""
    return bold_table(_columns(family, group), group)


def footer(family: str) -> str:
    lines = [INTERVALS, f"`{FORMULA}`. {BASELINES[family]}"]
    if family.endswith("cm"):
        lines.append(CROSS_MODAL)
    if family.startswith("mt"):
        lines.append(P_EW)
    lines.append(MODEL_SELECTION)
    return "\n\n".join(lines)


def _retrieval_table(group: list[Analysis]) -> str:
    metrics = ("a2b_recall@1", "b2a_recall@1", "a2b_recall@5", "b2a_recall@5", "mrr")
    rows = []
    for a in group:
        for pair in dict.fromkeys(p for p, _ in a.retrieval):
            rows.append([escape(a.config.label), escape(pair)] + [fmt_interval(a.retrieval[(pair, m)]) if (pair, m) in a.retrieval else "—" for m in metrics])
    headers = ["configuration", "pair (a-b)"] + [escape(m) + " ↑" for m in metrics]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def _failed(failed: list[FailedCell]) -> str:
    if not failed:
        return "None: every stored cell finished ok."
    rows = [[escape(f.label), escape(f.error[:500])] for f in failed]
    return tabulate(rows, headers=["cell", "error"], tablefmt="github", disable_numparse=True)


def to_markdown(analyses: list[Analysis], failed: list[FailedCell], meta: dict[str, Any],
                plots: list[Path] | None = None, link_dir: Path | None = None) -> str:
    """The whole leaderboard; ``plots`` are linked relative to ``link_dir`` (where the markdown lives)."""
    ok = sum(len(a.config.seeds) for a in analyses)
    datasets = list(dict.fromkeys(a.config.dataset for a in analyses))
    if not datasets and meta.get("dataset") is not None:
        datasets = [dataset_name(meta["dataset"])]
    seeds = meta.get("seeds") or sorted({s for a in analyses for s in a.config.seeds + a.config.failed_seeds})
    out = [f"# Leaderboard: {escape(meta.get('name', 'mmbench run'))}", "",
           f"- dataset: {', '.join(escape(d) for d in datasets) or '—'}",
           f"- grid: {escape(meta.get('name', '—'))}",
           f"- seeds: {', '.join(str(s) for s in seeds) or '—'}",
           f"- cells: {ok} ok, {len(failed)} failed"]
    kinds = sorted({k for a in analyses for k in a.config.memory_kinds})
    if kinds:
        out.append("- peak memory: " + "; ".join(MEMORY_KINDS.get(k, escape(k)) for k in kinds))
    out.append("")
    if plots:
        out += ["## Plots", ""]
        for path in plots:
            rel = os.path.relpath(path, link_dir) if link_dir else str(path)
            out.append(f"![{escape(Path(path).stem)}]({Path(rel).as_posix()})")
        out.append("")
    level = "##" if len(datasets) <= 1 else "###"
    for dataset in datasets:
        if len(datasets) > 1:
            out += [f"## Dataset {escape(dataset)}", ""]
        for family in FAMILIES:
            group = [a for a in analyses if a.config.dataset == dataset and a.config.family == family]
            if group:
                out += [f"{level} {FAMILY_TITLES[family]} (`{family}`)", "", family_table(family, group), "",
                        footer(family), ""]
        with_retrieval = [a for a in analyses if a.config.dataset == dataset and a.retrieval]
        if with_retrieval:
            out += [f"{level} Cross-modal retrieval (test)", "", _retrieval_table(with_retrieval), "",
                    "Recall@k and MRR by cosine similarity between the aligned features of the two modalities; "
                    "mean ± 95% Student-t half-width over seeds.", ""]
        out += robustness_section([a for a in analyses if a.config.dataset == dataset], level)
    if not analyses:
        out += ["No cells stored yet.", ""]
    out += [f"## Failed cells ({len(failed)})", "", _failed(failed), ""]
    return "\n".join(out)
