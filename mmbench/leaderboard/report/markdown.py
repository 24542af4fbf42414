"""The whole markdown page (``tabulate``, GitHub tables), in order: a header (splits, tuning, the tests and their
adjustment), plots, one table per baseline family with ↑/↓ and the best value per column in bold and the formula,
intervals, tests and model-selection rule under it (:mod:`.tables`), the paired tests, the rliable aggregates and
retrieval scores (:mod:`.sections`), robustness (:mod:`.robustness_section`), the tuning table and the failed
cells. Every name from a config is escaped so that no component name breaks a table."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mmbench.grid.claims_spec import ClaimsSpec
from mmbench.leaderboard.analysis import Analysis
from mmbench.leaderboard.load import FailedCell, dataset_name
from mmbench.leaderboard.report.format import escape
from mmbench.leaderboard.report.robustness_section import robustness_section
from mmbench.leaderboard.report.sections import (
    aggregates_section,
    failed_table,
    pooled_section,
    retrieval_table,
    split_line,
    tests_line,
    tests_section,
    tuning_lines,
    tuning_section,
)
from mmbench.leaderboard.report.tables import family_table, footer
from mmbench.leaderboard.report.texts import MEMORY_KINDS, STALE_MARK
from mmbench.leaderboard.stats.aggregates import KindAggregate
from mmbench.leaderboard.stats.comparisons import Comparison
from mmbench.leaderboard.stats.multiplicity import DEFAULT
from mmbench.leaderboard.stats.pooled import pooled_page
from mmbench.vocabulary import FAMILIES, FAMILY_TITLES


def to_markdown(analyses: list[Analysis], failed: list[FailedCell], meta: dict[str, Any],
                plots: list[Path] | None = None, link_dir: Path | None = None,
                aggregates: list[KindAggregate] | None = None, adjust: str = DEFAULT,
                claims: ClaimsSpec | None = None) -> str:
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
        out += [split_line(analyses)] + tuning_lines(analyses) + [tests_line(comparisons, adjust, claims or ClaimsSpec())]
    stale = [a for a in analyses if a.config.stale]
    if stale:
        out.append(f"- stale cells kept: {sum(len(a.config.stale_seeds) for a in stale)} cells of {len(stale)} "
                   f"configurations ({STALE_MARK}) were produced by other component versions and kept (store meta "
                   "`stale_kept`)")
    superseded = meta.get("superseded") or {}
    if superseded.get("cells"):  # mmbench.leaderboard.superseded
        shown = superseded.get("shown")
        out.append(f"- superseded cells {'shown' if shown else 'hidden'}: {superseded['cells']} (other grid settings than the "
                   f"latest run's, or older code; {'shown with' if shown else 'shown by'} `--show-superseded`)")
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
                out += [f"{level} {FAMILY_TITLES[family].capitalize()} (`{family}`)", "", family_table(family, group), "",
                        footer(family, group), ""]
        out += tests_section([c for c in comparisons if c.config.dataset == dataset], level)
        out += pooled_section([r for r in pooled_page(comparisons) if dataset in r.per_seed], level)
        out += aggregates_section([g for g in aggregates or [] if g.dataset == dataset], level)
        with_retrieval = [a for a in analyses if a.config.dataset == dataset and a.retrieval]
        if with_retrieval:
            out += [f"{level} Cross-modal retrieval (test)", "", retrieval_table(with_retrieval), "",
                    "Recall@k and MRR by cosine similarity between the aligned features of the two modalities; "
                    "mean ± 95% Student-t half-width over seeds (no interval below three seeds; clipped to [0, 1]).", ""]
        out += robustness_section([a for a in analyses if a.config.dataset == dataset], level)
    out += tuning_section(analyses)
    if not analyses:
        out += ["No cells stored yet.", ""]
    out += [f"## Failed cells ({len(failed)})", "", failed_table(failed), ""]
    return "\n".join(out)
