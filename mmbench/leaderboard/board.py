"""The leaderboard of one run directory (:class:`Leaderboard`, read by :func:`build`) and its outputs: markdown,
CSV, JSON and plots.

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

from mmbench.grid.claims_spec import ClaimsSpec, ClaimsSpecError, parse_claims
from mmbench.leaderboard.analysis import Analysis, analyse
from mmbench.leaderboard.load import Configuration, FailedCell, load
from mmbench.leaderboard.report.frames import aggregates_frame, comparisons_frame, failed_frame, frame, records
from mmbench.leaderboard.report.markdown import to_markdown
from mmbench.leaderboard.report.texts import FORMULA, MODEL_SELECTION
from mmbench.leaderboard.stats.aggregates import KindAggregate, aggregates
from mmbench.leaderboard.stats.comparisons import Comparison
from mmbench.leaderboard.stats.multiplicity import DEFAULT, METHODS
from mmbench.store.schema import SCHEMA_VERSION

FORMATS = ("md", "csv", "json")
#: what ``to_csv(table=...)`` writes
TABLES = ("configurations", "comparisons", "aggregates")


@dataclass
class Leaderboard:
    """Every configuration of one run directory with its statistics, and the failed cells."""

    directory: Path
    analyses: list[Analysis]
    failed: list[FailedCell]
    meta: dict[str, Any] = field(default_factory=dict)
    #: the p-value adjustment inside each family: ``bh`` (Benjamini–Hochberg) or ``holm``
    adjust: str = DEFAULT
    #: the declared families, margins and metric set (the run's meta ``grid.claims``; defaults when absent)
    claims: ClaimsSpec = field(default_factory=ClaimsSpec)

    @property
    def configurations(self) -> list[Configuration]:
        return [a.config for a in self.analyses]

    @property
    def comparisons(self) -> list[Comparison]:
        """Every paired comparison on the page (``p_adjusted`` adjusted inside each comparison's family)."""
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
        return failed_frame(self.failed)

    def to_csv(self, table: str = "configurations") -> str:
        """``configurations`` (one row each), ``comparisons`` (one row per paired test) or ``aggregates``."""
        frames = {"configurations": self.to_frame, "comparisons": self.comparisons_frame,
                  "aggregates": self.aggregates_frame}
        if table not in frames:
            raise ValueError(f"unknown table {table!r}; choose one of {', '.join(TABLES)}")
        return frames[table]().to_csv(index=False)

    def to_json(self, plots: list[Path] | None = None) -> str:
        """``{"schema", "schema_version", "meta", "formula", "model_selection", "adjustment", "rows", "comparisons", "aggregates", "failed",
        "plots", "claims"}``; missing numbers are ``null``."""
        doc = {"schema": "leaderboard", "schema_version": SCHEMA_VERSION, "meta": self.meta, "formula": FORMULA, "model_selection": MODEL_SELECTION,
               "adjustment": {"method": self.adjust, "name": METHODS[self.adjust], "alpha": self.claims.alpha,
                              "within": "family",
                              "comparisons": int(sum(1 for c in self.comparisons if c.result is not None and not c.excluded
                                                      and not c.identical_to))},
               "claims": self.claims.as_dict(),
               "rows": records(self.to_frame()), "comparisons": records(self.comparisons_frame()),
               "aggregates": records(self.aggregates_frame()), "failed": records(self.failed_frame()),
               "plots": [str(p) for p in plots or []]}
        return json.dumps(doc, indent=2, default=str, ensure_ascii=False)

    def to_markdown(self, plots: list[Path] | None = None, link_dir: str | Path | None = None) -> str:
        """The markdown leaderboard; ``plots`` are linked relative to ``link_dir`` (default: the run directory)."""
        return to_markdown(self.analyses, self.failed, self.meta, plots, Path(link_dir) if link_dir else self.directory,
                           self.aggregates, self.adjust, self.claims)

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
        from mmbench.leaderboard.report.plots import write_plots

        return write_plots(self.analyses, out_dir or self.directory, aggregates=self.aggregates)


def build(directory: str | Path, adjust: str = DEFAULT, claims: ClaimsSpec | None = None,
          show_superseded: bool = False) -> Leaderboard:
    """Read ``directory/results.sqlite`` and compute every statistic (raises ``FileNotFoundError`` without one);
    ``adjust``: ``bh`` (default) or ``holm``, inside each family of comparisons; ``claims``: the families, margins
    and metric set (default: what the run's meta recorded before the run, else the defaults);
    ``show_superseded``: also the rows of earlier grid runs and older code
    (:mod:`mmbench.leaderboard.superseded`; hidden by default, counted in ``meta["superseded"]``)."""
    from mmbench.store.sqlite import ResultStore

    if adjust not in METHODS:
        raise ValueError(f"unknown adjustment {adjust!r}; choose one of {', '.join(METHODS)}")
    with ResultStore(directory, create=False) as store:
        configs, failed, superseded = load(store, show_superseded)
        meta = store.get_meta("grid", {}) or {}
    if superseded:  # how many rows are superseded, and whether the page shows them (docs/leaderboards.md)
        meta = {**meta, "superseded": {"cells": len(superseded), "shown": show_superseded}}
    if claims is None:
        try:
            claims = parse_claims(meta.get("claims"))
        except ClaimsSpecError as exc:
            raise ValueError(f"{directory}: the run's meta holds an invalid claims block: {exc}") from None
    return Leaderboard(Path(directory), analyse(configs, adjust, claims), failed, meta, adjust, claims)
