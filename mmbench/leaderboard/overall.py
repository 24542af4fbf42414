"""The overall table across run directories (datasets): per component kind and value, the mean rank over
datasets, the IQM of normalised scores and the probability of improvement over the kind's reference (EW, concat,
none, hps), with stratified-bootstrap 95% intervals — MTEB's overall table, with uncertainty.

- **Mean rank**: on each dataset the values are ranked by their IQM there (1 = best, ties averaged); the mean
  over the datasets the value ran on.
- **IQM, P(X > ref)**: :mod:`~mmbench.leaderboard.aggregates` on the columns (dataset × context × task) of every
  dataset, the bootstrap stratified by column. Only values that ran on every dataset where the kind varies are
  pooled (a value missing from one dataset would otherwise remove that dataset's columns for all); the others
  are listed as left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from mmbench.leaderboard.aggregates import (
    KINDS,
    N_BOOTSTRAP,
    Estimate,
    iqm,
    kind_of,
    normalised_scores,
    summarise_kind,
)
from mmbench.leaderboard.format import _num, escape


@dataclass
class OverallRow:
    kind: str
    value: str
    datasets: int
    mean_rank: float
    iqm: Estimate
    poi: Estimate | None


@dataclass
class OverallKind:
    kind: str
    reference: str | None
    datasets: list[str]
    rows: list[OverallRow] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    columns: int = 0


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
            for value, r in _ranks(scores).items():
                ranks.setdefault(value, []).append(r)
        result = OverallKind(kind, agg.reference if agg else None, list(per_dataset),
                             left_out=sorted(every_value - everywhere), columns=len(agg.columns) if agg else 0)
        for v in agg.values if agg else []:
            result.rows.append(OverallRow(kind, v.value, len(ranks.get(v.value, [])),
                                          float(np.mean(ranks[v.value])) if ranks.get(v.value) else math.nan, v.iqm, v.poi))
        result.rows.sort(key=lambda r: (r.mean_rank if math.isfinite(r.mean_rank) else math.inf, r.value))
        out.append(result)
    return out


def from_directories(directories: list[str | Path], n_resamples: int = N_BOOTSTRAP) -> list[OverallKind]:
    """:func:`overall` of the leaderboards of ``directories`` (each with a ``results.sqlite``)."""
    from mmbench.leaderboard import build

    return overall([build(d) for d in directories], n_resamples)


def _estimate(e: Estimate | None, signed: bool) -> str:
    if e is None or not math.isfinite(e.value):
        return "—"
    text = _num(e.value, signed, 2)
    if math.isfinite(e.low) and math.isfinite(e.high):
        text += f" [{_num(e.low, signed, 2)}, {_num(e.high, signed, 2)}]"
    return text


def to_markdown(kinds: list[OverallKind], level: str = "##") -> str:
    """One table per kind (value, datasets, mean rank, IQM, P(X > reference)) and how to read them."""
    if not kinds:
        return "No component kind varies on these datasets."
    out = []
    for k in kinds:
        ref = escape(k.reference) if k.reference else "—"
        rows = [[escape(r.value) + (" (reference)" if r.value == k.reference else ""), str(r.datasets),
                 _num(r.mean_rank, decimals=2) if math.isfinite(r.mean_rank) else "—", _estimate(r.iqm, True),
                 _estimate(r.poi, False)] for r in k.rows]
        note = f" Left out (not on every dataset): {escape(', '.join(k.left_out))}." if k.left_out else ""
        out += [f"{level} By {k.kind}", "",
                f"Datasets: {escape(', '.join(k.datasets))}; {k.columns} columns (dataset × context × task).{note}", "",
                tabulate(rows, headers=[k.kind, "datasets", "mean rank ↓", "IQM normalised score % ↑", f"P(X > {ref}) ↑"],
                         tablefmt="github", disable_numparse=True), ""]
    out.append("Mean rank: per dataset, rank by IQM (1 = best), averaged over datasets. IQM: 25% trimmed mean of the "
               "normalised scores 100 · (−1)^l (N − B) / B (main metric; B the reference the kind's values share: "
               "single-task baseline for weightings and architectures, best single-task single-modal configuration "
               "for fusers and aligners). P(X > Y): Mann–Whitney probability per column, averaged. Intervals: 95% "
               "stratified bootstrap over the runs of each column (Agarwal et al., NeurIPS 2021, rliable).")
    return "\n".join(out)
