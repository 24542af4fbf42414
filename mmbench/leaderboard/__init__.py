"""Leaderboards of a run directory: configurations aggregated over seeds, Δm%, cross-modal gain, intervals,
the paired comparison with EW, rendered as markdown, CSV or JSON, plus plots. See ``docs/leaderboards.md``.

>>> board = build("mmbench-runs/default")          # doctest: +SKIP
>>> print(board.to_markdown())                     # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mmbench.leaderboard.aggregate import Configuration, FailedCell, load
from mmbench.leaderboard.render import FORMULA, MODEL_SELECTION, to_markdown
from mmbench.leaderboard.table import Analysis, analyse, frame

FORMATS = ("md", "csv", "json")

__all__ = ["FORMATS", "Leaderboard", "build"]


@dataclass
class Leaderboard:
    """Every configuration of one run directory with its statistics, and the failed cells."""

    directory: Path
    analyses: list[Analysis]
    failed: list[FailedCell]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def configurations(self) -> list[Configuration]:
        return [a.config for a in self.analyses]

    def to_frame(self) -> pd.DataFrame:
        """One row per configuration (the CSV; JSON ``rows``)."""
        return frame(self.analyses)

    def failed_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"cell_id": f.cell_id, "family": f.family, "seed": f.seed, "label": f.label, "error": f.error}
                             for f in self.failed], columns=["cell_id", "family", "seed", "label", "error"])

    def to_csv(self) -> str:
        return self.to_frame().to_csv(index=False)

    def to_json(self, plots: list[Path] | None = None) -> str:
        """``{"meta", "formula", "model_selection", "rows", "failed", "plots"}``; missing numbers are ``null``."""
        rows = json.loads(self.to_frame().to_json(orient="records", double_precision=15))
        doc = {"meta": self.meta, "formula": FORMULA, "model_selection": MODEL_SELECTION, "rows": rows,
               "failed": json.loads(self.failed_frame().to_json(orient="records")),
               "plots": [str(p) for p in plots or []]}
        return json.dumps(doc, indent=2, default=str, ensure_ascii=False)

    def to_markdown(self, plots: list[Path] | None = None, link_dir: str | Path | None = None) -> str:
        """The markdown leaderboard; ``plots`` are linked relative to ``link_dir`` (default: the run directory)."""
        return to_markdown(self.analyses, self.failed, self.meta, plots, Path(link_dir) if link_dir else self.directory)

    def render(self, fmt: str, plots: list[Path] | None = None, link_dir: str | Path | None = None) -> str:
        if fmt == "md":
            return self.to_markdown(plots, link_dir)
        if fmt == "csv":
            return self.to_csv()
        if fmt == "json":
            return self.to_json(plots)
        raise ValueError(f"unknown leaderboard format {fmt!r}; choose one of {', '.join(FORMATS)}")

    def write_plots(self, out_dir: str | Path | None = None) -> list[Path]:
        """PNG plots per dataset (in ``out_dir``, default the run directory); returns their paths."""
        from mmbench.leaderboard.plots import write_plots

        return write_plots(self.analyses, out_dir or self.directory)


def build(directory: str | Path) -> Leaderboard:
    """Read ``directory/results.sqlite`` and compute every statistic (raises ``FileNotFoundError`` without one)."""
    from mmbench.store.sqlite import ResultStore

    with ResultStore(directory, create=False) as store:
        configs, failed = load(store)
        meta = store.get_meta("grid", {}) or {}
    return Leaderboard(Path(directory), analyse(configs), failed, meta)
