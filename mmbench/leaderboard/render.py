"""Markdown rendering (``tabulate``, GitHub tables): a header (splits, tuning, the tests and their adjustment),
one table per baseline family with ↑/↓ and the best value per column in bold, the formula, intervals, tests and
model-selection rule under every table, the paired tests, the rliable aggregates, retrieval scores, plots, the
tuning table and the failed cells. Every name from a config is escaped so that no component name breaks a table."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tabulate import tabulate

from mmbench.leaderboard.aggregate import FAMILIES, FailedCell, dataset_name
from mmbench.leaderboard.aggregates import KindAggregate
from mmbench.leaderboard.comparisons import Comparison
from mmbench.leaderboard.format import Column, _num, bold_table, escape, fmt_interval  # noqa: F401 - re-exported
from mmbench.leaderboard.multiplicity import DEFAULT
from mmbench.leaderboard.render_columns import family_table, footer
from mmbench.leaderboard.render_sections import (
    aggregates_section,
    split_line,
    tests_line,
    tests_section,
    tuning_lines,
    tuning_section,
)
from mmbench.leaderboard.robustness_render import robustness_section
from mmbench.leaderboard.table import Analysis
from mmbench.leaderboard.texts import (  # noqa: F401
    BASELINES,
    CROSS_MODAL,
    FAMILY_TITLES,
    FORMULA,
    INTERVALS,
    MEMORY_KINDS,
    MODEL_SELECTION,
    STALE_MARK,
)


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
                plots: list[Path] | None = None, link_dir: Path | None = None,
                aggregates: list[KindAggregate] | None = None, adjust: str = DEFAULT) -> str:
    """The whole leaderboard; ``plots`` are linked relative to ``link_dir`` (where the markdown lives)."""
    comparisons: list[Comparison] = [c for a in analyses for c in a.comparisons]
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
    if analyses:
        out += [split_line(analyses)] + tuning_lines(analyses) + [tests_line(comparisons, adjust)]
    stale = [a for a in analyses if a.config.stale]
    if stale:
        out.append(f"- stale cells kept: {sum(len(a.config.stale_seeds) for a in stale)} cells of {len(stale)} "
                   f"configurations ({STALE_MARK}) were produced by other component versions and kept (store meta "
                   "`stale_kept`)")
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
                        footer(family, group), ""]
        out += tests_section([c for c in comparisons if c.config.dataset == dataset], level)
        out += aggregates_section([g for g in aggregates or [] if g.dataset == dataset], level)
        with_retrieval = [a for a in analyses if a.config.dataset == dataset and a.retrieval]
        if with_retrieval:
            out += [f"{level} Cross-modal retrieval (test)", "", _retrieval_table(with_retrieval), "",
                    "Recall@k and MRR by cosine similarity between the aligned features of the two modalities; "
                    "mean ± 95% Student-t half-width over seeds (no interval below three seeds; clipped to [0, 1]).", ""]
        out += robustness_section([a for a in analyses if a.config.dataset == dataset], level)
    out += tuning_section(analyses)
    if not analyses:
        out += ["No cells stored yet.", ""]
    out += [f"## Failed cells ({len(failed)})", "", _failed(failed), ""]
    return "\n".join(out)
