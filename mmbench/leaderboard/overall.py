"""The overall table across run directories (datasets): per component kind and value, the mean rank over
datasets, the IQM of normalised scores and the probability of improvement over the kind's reference (EW, concat,
none, hps), with stratified-bootstrap 95% intervals — MTEB's overall table, with uncertainty.

- **Mean rank**: on each dataset the values that ran on every dataset (the common competitor set) are ranked by
  their IQM there (1 = best, ties averaged); the mean over datasets. Values left out of the table are left out of
  the ranks too, so a rank compares the same competitors on every dataset.
- **Pooled verdict** (weightings vs EW, fusers' gain vs 0): the stratified sign-flip test over datasets × seeds
  (:func:`~mmbench.leaderboard.stats.pooled.stratified_signflip`), BH over the kind's values.
- **IQM, P(X > ref)**: :mod:`~mmbench.leaderboard.stats.aggregates` on the columns (dataset × context × task) of every
  dataset, the bootstrap stratified by column. Only values that ran on every dataset where the kind varies are
  pooled (a value missing from one dataset would otherwise remove that dataset's columns for all); the others
  are listed as left out; a kind with no value common to every dataset gets a sentence, not an empty table.
  The share of the pooled columns each dataset contributes is stated under each table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from mmbench.leaderboard.board import build
from mmbench.leaderboard.report.format import escape, fmt_estimate, fmt_p, number
from mmbench.leaderboard.stats.aggregates import (
    KINDS,
    N_BOOTSTRAP,
    Estimate,
    iqm,
    kind_of,
    normalised_scores,
    summarise_kind,
)
from mmbench.leaderboard.stats.pooled import POOLED_AGAINST, PooledVerdict, pooled_datasets, pooled_page


@dataclass
class OverallRow:
    kind: str
    value: str
    datasets: int
    mean_rank: float
    iqm: Estimate
    poi: Estimate | None
    #: the pooled verdict across datasets (stratified sign-flip test), ``None`` for the reference / no comparison
    verdict: PooledVerdict | None = None


@dataclass
class OverallKind:
    kind: str
    reference: str | None
    datasets: list[str]
    rows: list[OverallRow] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    columns: int = 0
    #: pooled columns per dataset
    dataset_columns: dict[str, int] = field(default_factory=dict)


def _ranks(scores: dict[str, dict[tuple[str, str], np.ndarray]]) -> dict[str, float]:
    """Rank the values of one dataset by their IQM on the columns they all share (1 = best)."""
    shared = set.intersection(*(set(s) for s in scores.values()))
    if not shared:
        return {}
    values = pd.Series({v: iqm(np.concatenate([s[c] for c in sorted(shared)])) for v, s in scores.items()}, dtype=float)
    return values.rank(ascending=False, method="average").to_dict()


def overall(boards: list[Any], n_resamples: int = N_BOOTSTRAP) -> list[OverallKind]:
    """The overall table of several leaderboards (anything with ``analyses``; one dataset or more each)."""
    analyses = [a for b in boards for a in b.analyses]
    datasets = list(dict.fromkeys(a.config.dataset for a in analyses))
    verdicts = {(r.kind, r.value): r for r in pooled_datasets([pooled_page(b.comparisons) for b in boards])}
    out = []
    for kind in KINDS:
        per_dataset: dict[str, dict[str, dict[tuple[str, str], np.ndarray]]] = {}
        for d in datasets:
            scores = normalised_scores([a for a in analyses if a.config.dataset == d], kind)
            if len(scores) >= 2:
                per_dataset[d] = scores
        if not per_dataset:
            continue
        everywhere = set.intersection(*(set(s) for s in per_dataset.values()))
        every_value = set.union(*(set(s) for s in per_dataset.values()))
        pooled = {v: {(d, *col): runs for d, s in per_dataset.items() for col, runs in s[v].items()}
                  for v in sorted(everywhere)}
        counts: dict[str, int] = {}
        for a in analyses:
            value = kind_of(a.config, kind)
            if value in pooled and a.config.dataset in per_dataset:
                counts[value] = counts.get(value, 0) + 1
        agg = summarise_kind(pooled, kind, "all", counts, n_resamples)  # type: ignore[arg-type]
        ranks: dict[str, list[float]] = {}
        for scores in per_dataset.values():
            for value, r in _ranks({v: scores[v] for v in everywhere}).items():
                ranks.setdefault(value, []).append(r)
        result = OverallKind(kind, agg.reference if agg else None, list(per_dataset),
                             left_out=sorted(every_value - everywhere), columns=len(agg.columns) if agg else 0)
        for col in agg.columns if agg else []:
            result.dataset_columns[col[0]] = result.dataset_columns.get(col[0], 0) + 1
        for v in agg.values if agg else []:
            # a weighting's verdict is vs EW (none for EW itself); a fuser's is its own gain, the reference's too
            verdict = verdicts.get((kind, v.value)) if kind == "fuser" or v.value != result.reference else None
            result.rows.append(OverallRow(kind, v.value, len(ranks.get(v.value, [])),
                                          float(np.mean(ranks[v.value])) if ranks.get(v.value) else math.nan, v.iqm, v.poi,
                                          verdict))
        result.rows.sort(key=lambda r: (r.mean_rank if math.isfinite(r.mean_rank) else math.inf, r.value))
        out.append(result)
    return out


def from_directories(directories: list[str | Path], n_resamples: int = N_BOOTSTRAP) -> list[OverallKind]:
    """:func:`overall` of the leaderboards of ``directories`` (each with a ``results.sqlite``)."""
    return overall([build(d) for d in directories], n_resamples)


def to_markdown(kinds: list[OverallKind], level: str = "##") -> str:
    """One table per kind (value, datasets, mean rank, IQM, P(X > reference), pooled verdict) and how to read them;
    a kind without a value common to every dataset gets one sentence instead of an empty table."""
    if not kinds:
        return "No component kind varies on these datasets."
    out = []
    for k in kinds:
        note = f" Left out (not on every dataset): {escape(', '.join(k.left_out))}." if k.left_out else ""
        if not k.rows or not k.columns:
            out += [f"{level} By {k.kind}", "",
                    f"Datasets: {escape(', '.join(k.datasets))}. No {k.kind} besides the kind's reference ran on every one of "
                    "them, so none is "
                    f"compared across datasets.{note}", ""]
            continue
        ref = escape(k.reference) if k.reference else "—"
        rows = [[escape(r.value) + (" (reference)" if r.value == k.reference else ""), str(r.datasets),
                 number(r.mean_rank, decimals=2) if math.isfinite(r.mean_rank) else "—", fmt_estimate(r.iqm, True),
                 fmt_estimate(r.poi, False),
                 f"{r.verdict.verdict} (adj p {fmt_p(r.verdict.p_adjusted)}; over {len(r.verdict.per_seed)} "
                 f"dataset{'s' if len(r.verdict.per_seed) != 1 else ''})" if r.verdict is not None else "—"]
                for r in k.rows]
        share = ", ".join(f"{escape(d)} {n} of {k.columns}" for d, n in k.dataset_columns.items())
        out += [f"{level} By {k.kind}", "",
                f"Datasets: {escape(', '.join(k.datasets))}; {k.columns} columns (dataset × context × task): {share}."
                f"{note} Ranks are over the {len(k.rows)} values in this table.", "",
                tabulate(rows, headers=[k.kind, "datasets", "mean rank ↓", "IQM normalised score % ↑", f"P(X > {ref}) ↑",
                                        f"pooled verdict {POOLED_AGAINST.get(k.kind, 'vs its reference')} "
                                        "(difference test)"],
                         tablefmt="github", disable_numparse=True), ""]
    out.append("Mean rank: per dataset, rank by IQM among the values of the table (1 = best), averaged over datasets. "
               "IQM: 25% trimmed mean of the normalised scores 100 · (−1)^l (N − B) / B (main metric; B the reference "
               "the kind's values share: single-task baseline for weightings and architectures, best single-task "
               "single-modal configuration for fusers and aligners). P(X > Y): Mann–Whitney probability per column, "
               "averaged. Intervals: 95% stratified bootstrap over the runs of each column (Agarwal et al., NeurIPS "
               "2021, rliable) — descriptive: they pool runs of different contexts and seeds as if independent, so "
               "an interval can exclude 0.5 while the paired test is inconclusive; the pooled verdict is the test. "
               "Pooled verdict (weightings vs EW, fusers' gain vs 0): a stratified sign-flip test over datasets × "
               "seeds of the per-seed scores averaged over contexts, statistic Σ_k Σ_s v / √Σ_s v² per dataset k "
               "(valid when datasets differ in scale), Benjamini–Hochberg over the kind's values; exploratory. It tests a "
               "difference only — across datasets there is no equivalence test —, so \"inconclusive\" says no difference "
               "was shown, not that one was ruled out (each page's pooled line adds TOST). A fuser's verdict is its "
               "gain against the best single-modal reference (the reference row's too), not a comparison with this "
               "table's reference row, so it answers another question than P(X > reference). A verdict covers the "
               "datasets where the value has a counted comparison — fewer than the datasets column when its rows "
               "are all twins of EW there (a tuned LS that kept the default weights) or against a chance-level "
               "reference.")
    return "\n".join(out)
