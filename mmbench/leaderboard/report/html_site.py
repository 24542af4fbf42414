"""A static leaderboard site: ``index.html``, one page per dataset (:mod:`.html_page`), ``assets/plotly.min.js``
(copied once from the installed Plotly), and each run's data beside them (``data/<run>.json``, ``.csv``, and the
markdown page unless one is linked). Everything opens from the file system: no CDN, no request off the folder.

>>> write_site([build("mmbench-runs/default")], "site")   # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd

from mmbench.leaderboard.board import Leaderboard
from mmbench.leaderboard.report.html_page import dataset_page, index_page
from mmbench.leaderboard.report.html_plots import plot_divs


def slug(name: str) -> str:
    """A file-name-safe form of a dataset or run name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_.") or "dataset"


def run_facts(board: Leaderboard, command: str | None = None) -> dict[str, str]:
    """The provenance of a run directory: grid, seeds, cells, versions, hardware, generation date and the command
    that reproduces the page (default: the leaderboard command on the run directory)."""
    from mmbench.store.sqlite import ResultStore

    versions: dict[str, Any] = {}
    devices: set[str] = set()
    with ResultStore(board.directory, create=False) as store:
        for row in store.rows("ok"):
            versions = (row.result or {}).get("versions", versions) or versions
            devices.add(str((row.result or {}).get("device", "?")))
    versions = dict(versions)
    plugins = versions.pop("plugins", {}) or {}
    seeds = board.meta.get("seeds") or sorted({s for c in board.configurations for s in c.seeds})
    text = ", ".join(f"{k} {v}" for k, v in versions.items() if v)
    if plugins:
        text += "; plugins: " + ", ".join(f"{k} {v}" for k, v in plugins.items())
    return {
        "grid": str(board.meta.get("name", "—")),
        "seeds": f"{len(seeds)} ({', '.join(map(str, seeds))})",
        "cells": f"{sum(len(c.seeds) for c in board.configurations)} ok, {len(board.failed)} failed",
        "versions": text or "—",
        "hardware": ", ".join(sorted(devices)) or "—",
        "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "reproduce": command or f"mmbench leaderboard {board.directory} --format html -o SITE",
    }


def copy_plotly(out_dir: Path) -> Path:
    """``assets/plotly.min.js`` from the installed Plotly package (once per site)."""
    target = out_dir / "assets" / "plotly.min.js"
    target.parent.mkdir(parents=True, exist_ok=True)
    with (files("plotly") / "package_data" / "plotly.min.js").open("rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return target


def write_site(boards: list[Leaderboard], out_dir: str | Path, *, names: list[str] | None = None,
               commands: list[str | None] | None = None, facts: list[dict[str, str]] | None = None,
               markdown: list[str | None] | None = None, note: str = "") -> list[Path]:
    """Write the site of ``boards`` into ``out_dir``; returns the HTML pages written.

    Per board (lists align with ``boards``): ``names`` names its data files (default the run directory's name),
    ``commands`` its reproduce command, ``facts`` extra provenance lines (override :func:`run_facts`), ``markdown``
    the URL of its published markdown page relative to the site (default: a copy written in ``data/``)."""
    out = Path(out_dir)
    (out / "data").mkdir(parents=True, exist_ok=True)
    copy_plotly(out)
    written: list[Path] = []
    pages: list[tuple[str, str, str]] = []
    frames: list[pd.DataFrame] = []
    analyses = []
    for i, board in enumerate(boards):
        stem = slug((names[i] if names else None) or board.directory.name)
        (out / "data" / f"{stem}.json").write_text(board.to_json(), encoding="utf-8")
        (out / "data" / f"{stem}.csv").write_text(board.to_csv(), encoding="utf-8")
        md = markdown[i] if markdown else None
        if md is None:
            (out / "data" / f"{stem}.md").write_text(board.to_markdown(), encoding="utf-8")
            md = f"data/{stem}.md"
        links = {"markdown page": md, "JSON": f"data/{stem}.json", "CSV": f"data/{stem}.csv"}
        info = run_facts(board, commands[i] if commands else None) | (facts[i] if facts else {})
        frame, cframe = board.to_frame(), board.comparisons_frame()
        for dataset in dict.fromkeys(a.config.dataset for a in board.analyses):
            idx = [j for j, a in enumerate(board.analyses) if a.config.dataset == dataset]
            group = [board.analyses[j] for j in idx]
            page = out / f"{slug(dataset)}.html"
            if page in written:  # the same dataset in two runs: one page each
                page = out / f"{slug(dataset)}-{stem}.html"
            html = dataset_page(dataset, group, frame.iloc[idx].reset_index(drop=True),
                                cframe[cframe["dataset"] == dataset].reset_index(drop=True), board.failed,
                                plot_divs(group, [g for g in board.aggregates if g.dataset == dataset]),
                                {"dataset": dataset} | info, links)
            page.write_text(html, encoding="utf-8")
            written.append(page)
            pages.append((dataset, page.name, f"{len(group)} configurations, {len(board.failed)} failed cells"))
        frames.append(frame)
        analyses += board.analyses
    index = out / "index.html"
    all_rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    index.write_text(index_page(pages, analyses, all_rows, note), encoding="utf-8")
    return [index] + written
