"""Leaderboards of a run directory: configurations aggregated over seeds, Δm%, cross-modal gain, intervals that
include the reference's variance, paired tests adjusted over the page, rliable aggregates per component kind,
chance levels, convergence and tuning — rendered as markdown, CSV or JSON, plus plots. See ``docs/leaderboards.md``.

>>> board = build("mmbench-runs/default")          # doctest: +SKIP
>>> print(board.to_markdown())                     # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from mmbench.leaderboard.aggregate import Configuration, FailedCell, load
from mmbench.leaderboard.aggregates import KindAggregate, aggregates
from mmbench.leaderboard.comparisons import Comparison
from mmbench.leaderboard.multiplicity import DEFAULT, METHODS
from mmbench.leaderboard.render import FORMULA, MODEL_SELECTION, to_markdown
from mmbench.leaderboard.significance import ALPHA
from mmbench.leaderboard.table import Analysis, analyse, comparisons_frame, frame

FORMATS = ("md", "csv", "json")
#: what ``to_csv(table=...)`` writes
TABLES = ("configurations", "comparisons", "aggregates")

__all__ = ["FORMATS", "TABLES", "Leaderboard", "build", "aggregates_frame"]


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


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(df.to_json(orient="records", double_precision=15))


@dataclass
class Leaderboard:
    """Every configuration of one run directory with its statistics, and the failed cells."""

    directory: Path
    analyses: list[Analysis]
    failed: list[FailedCell]
    meta: dict[str, Any] = field(default_factory=dict)
    #: the p-value adjustment over the page: ``bh`` (Benjamini–Hochberg) or ``holm``
    adjust: str = DEFAULT

    @property
    def configurations(self) -> list[Configuration]:
        return [a.config for a in self.analyses]

    @property
    def comparisons(self) -> list[Comparison]:
        """Every paired comparison on the page (their ``p_adjusted`` adjusted together)."""
        return [c for a in self.analyses for c in a.comparisons]

    @cached_property
    def aggregates(self) -> list[KindAggregate]:
        """rliable aggregates per dataset and component kind (computed on first use: bootstrap)."""
        return aggregates(self.analyses)

    def to_frame(self) -> pd.DataFrame:
        """One row per configuration (the CSV; JSON ``rows``)."""
        return frame(self.analyses)

    def comparisons_frame(self) -> pd.DataFrame:
        """One row per comparison (JSON ``comparisons``; ``to_csv(table="comparisons")``)."""
        return comparisons_frame(self.analyses)

    def aggregates_frame(self) -> pd.DataFrame:
        return aggregates_frame(self.aggregates)

    def failed_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"cell_id": f.cell_id, "family": f.family, "seed": f.seed, "label": f.label, "error": f.error}
                             for f in self.failed], columns=["cell_id", "family", "seed", "label", "error"])

    def to_csv(self, table: str = "configurations") -> str:
        """``configurations`` (one row each), ``comparisons`` (one row per paired test) or ``aggregates``."""
        frames = {"configurations": self.to_frame, "comparisons": self.comparisons_frame,
                  "aggregates": self.aggregates_frame}
        if table not in frames:
            raise ValueError(f"unknown table {table!r}; choose one of {', '.join(TABLES)}")
        return frames[table]().to_csv(index=False)

    def to_json(self, plots: list[Path] | None = None) -> str:
        """``{"meta", "formula", "model_selection", "adjustment", "rows", "comparisons", "aggregates", "failed",
        "plots"}``; missing numbers are ``null``."""
        doc = {"meta": self.meta, "formula": FORMULA, "model_selection": MODEL_SELECTION,
               "adjustment": {"method": self.adjust, "name": METHODS[self.adjust], "alpha": ALPHA,
                              "comparisons": int(sum(1 for c in self.comparisons if c.result is not None))},
               "rows": _records(self.to_frame()), "comparisons": _records(self.comparisons_frame()),
               "aggregates": _records(self.aggregates_frame()), "failed": _records(self.failed_frame()),
               "plots": [str(p) for p in plots or []]}
        return json.dumps(doc, indent=2, default=str, ensure_ascii=False)

    def to_markdown(self, plots: list[Path] | None = None, link_dir: str | Path | None = None) -> str:
        """The markdown leaderboard; ``plots`` are linked relative to ``link_dir`` (default: the run directory)."""
        return to_markdown(self.analyses, self.failed, self.meta, plots, Path(link_dir) if link_dir else self.directory,
                           self.aggregates, self.adjust)

    def render(self, fmt: str, plots: list[Path] | None = None, link_dir: str | Path | None = None,
               table: str = "configurations") -> str:
        if fmt == "md":
            return self.to_markdown(plots, link_dir)
        if fmt == "csv":
            return self.to_csv(table)
        if fmt == "json":
            return self.to_json(plots)
        raise ValueError(f"unknown leaderboard format {fmt!r}; choose one of {', '.join(FORMATS)}")

    def write_plots(self, out_dir: str | Path | None = None) -> list[Path]:
        """PNG plots per dataset (in ``out_dir``, default the run directory); returns their paths."""
        from mmbench.leaderboard.plots import write_plots

        return write_plots(self.analyses, out_dir or self.directory, aggregates=self.aggregates)


def build(directory: str | Path, adjust: str = DEFAULT) -> Leaderboard:
    """Read ``directory/results.sqlite`` and compute every statistic (raises ``FileNotFoundError`` without one);
    ``adjust``: ``bh`` (default) or ``holm``, over every comparison on the page."""
    from mmbench.store.sqlite import ResultStore

    if adjust not in METHODS:
        raise ValueError(f"unknown adjustment {adjust!r}; choose one of {', '.join(METHODS)}")
    with ResultStore(directory, create=False) as store:
        configs, failed = load(store)
        meta = store.get_meta("grid", {}) or {}
    return Leaderboard(Path(directory), analyse(configs, adjust), failed, meta, adjust)
