"""Run the published grids and regenerate ``leaderboards/<dataset>.md``, its PNG plots and the index.

Every page is generated here — header (dataset, grid, seeds, hardware, versions, date, the command
that reproduces it), findings computed from the results, and the leaderboard tables — never edited by
hand. Runs resume: a finished cell in ``--runs`` is not run again.

Usage: python scripts/publish_leaderboards.py [--only digits] [--runs mmbench-runs/published] [--jobs 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BOARDS = ROOT / "leaderboards"
GRIDS = BOARDS / "grids"
PUBLISHED = ("digits", "multidigits", "pid-synthetic")


def run_grid(name: str, runs: Path, jobs: int) -> Path:
    out = runs / name
    cmd = [sys.executable, "-m", "mmbench.cli.main", "run", "--grid", str(GRIDS / f"{name}.yaml"), "--out", str(out),
           "--quiet", "--jobs", str(jobs)]
    print(f"$ {' '.join(cmd[2:])}", flush=True)
    done = subprocess.run(cmd)
    if done.returncode not in (0, 1):  # 1: some cells failed — they are listed on the page
        sys.exit(f"grid {name} did not run (exit {done.returncode})")
    return out


def _fmt(mean: float, low: float, high: float) -> str:
    if math.isnan(mean):
        return "n/a"
    return f"{mean:+.2f}" + ("" if math.isnan(low) else f" (95% CI {low:+.2f} to {high:+.2f})")


def _main_metric(rows: pd.DataFrame, task: str) -> str | None:
    for metric in ("accuracy", "micro_f1", "mae"):
        if f"{task}.{metric}.mean" in rows.columns:
            return metric
    return None


def findings(table: pd.DataFrame, ground_truth: dict[str, str]) -> list[str]:
    """What the results show, computed from the leaderboard table (no hand-written claims)."""
    out: list[str] = []
    multi = table[table["family"].isin(["mt-sm", "mt-cm"])]
    if not multi.empty and multi["delta_m"].notna().any():
        best = multi.loc[multi["delta_m"].idxmax()]
        out.append(f"Best multitask configuration by Δm%: **{best['label']}**, Δm = "
                   f"{_fmt(best['delta_m'], best['delta_m.ci_low'], best['delta_m.ci_high'])} against its single-task baseline.")
    paired = multi[multi["ew_pairs"] > 0]
    if not paired.empty:
        better = paired[paired["p_gt_ew"] >= 0.95]
        worse = paired[paired["p_gt_ew"] <= 0.05]
        n = int(paired["ew_pairs"].max())
        line = (f"Weighting vs EW (same architecture, {len(paired)} configurations, n={n} seeds paired): "
                f"{len(better)} beat EW with P(>EW) ≥ 0.95, {len(worse)} lose with P(>EW) ≤ 0.05, "
                f"{len(paired) - len(better) - len(worse)} are within the noise.")
        if len(better):
            line += " Beating EW: " + ", ".join(f"{r.weighting} ({r.label.split(' | ')[0]}, P={r.p_gt_ew:.2f})" for r in better.itertuples()) + "."
        if n < 5:
            line += f" With {n} seeds the bootstrap is coarse: treat every gain as tentative."
        out.append(line)
    cross = table[table["family"].isin(["st-cm", "mt-cm"]) & table["cross_modal_gain"].notna()]
    if not cross.empty:
        positive = cross[cross["cross_modal_gain.ci_low"] > 0]
        best = cross.loc[cross["cross_modal_gain"].idxmax()]
        out.append(f"Cross-modal gain: {len(positive)} of {len(cross)} cross-modal configurations beat the best single-modal "
                   f"configuration with the same tasks with the whole 95% interval above 0; the largest gain is "
                   f"{_fmt(best['cross_modal_gain'], best['cross_modal_gain.ci_low'], best['cross_modal_gain.ci_high'])}% "
                   f"(**{best['label']}**).")
    single = table[table["family"].isin(["st-sm", "st-cm"])]
    for task in dict.fromkeys(t for ts in single["tasks"] for t in ts.split("+")):
        metric = _main_metric(single, task)
        rows = single[single["tasks"] == task]
        col = f"{task}.{metric}.mean"
        if metric is None or rows.empty or col not in rows:
            continue
        pick = (lambda s: s.idxmin()) if metric == "mae" else (lambda s: s.idxmax())
        parts = []
        for fam, name in (("st-sm", "single-modal"), ("st-cm", "cross-modal")):
            fam_rows = rows[rows["family"] == fam]
            if fam_rows[col].notna().any():
                r = fam_rows.loc[pick(fam_rows[col])]
                parts.append(f"best {name} {r[col]:.3f} ({r['label'].split(' | ')[0] if fam == 'st-sm' else r['fuser']})")
        truth = f" Ground truth: {ground_truth[task]}." if task in ground_truth else ""
        out.append(f"Task `{task}` ({metric}, single-task): " + "; ".join(parts) + "." + truth)
        cross_rows = rows[rows["family"] == "st-cm"]
        solo = rows.loc[rows["family"] == "st-sm", col]
        if metric != "mae" and not cross_rows.empty and solo.notna().any() and cross_rows[col].max() - solo.max() > 0.1:
            by_fuser = cross_rows.groupby("fuser")[col].max().sort_values(ascending=False)
            out.append(f"Task `{task}`: fusing the modalities beats the best single modality by more than 0.1; "
                       "by fuser (single-task, best aligner each): "
                       + ", ".join(f"{f} {v:.3f}" for f, v in by_fuser.items())
                       + f" — against {solo.max():.3f} for the best single modality.")
    return out


def header(name: str, board: Any, command: str, jobs: int) -> str:
    versions: dict[str, Any] = {}
    devices: set[str] = set()
    from mmbench.store import ResultStore

    with ResultStore(board.directory, create=False) as store:
        for row in store.rows("ok"):
            versions = row.result.get("versions", versions)
            devices.add(row.result.get("device", "?"))
    plugins = versions.pop("plugins", {}) or {}
    vtext = ", ".join(f"{k} {v}" for k, v in versions.items() if v) + ("; plugins: " + ", ".join(f"{k} {v}" for k, v in plugins.items()) if plugins else "")
    seeds = sorted({s for c in board.configurations for s in c.seeds})
    return "\n".join([
        f"# Leaderboard: `{name}`", "",
        f"- **Dataset:** `{name}` (see [docs/datasets.md](../docs/datasets.md))",
        f"- **Grid:** [`leaderboards/grids/{name}.yaml`](grids/{name}.yaml)",
        f"- **Seeds:** {len(seeds)} ({', '.join(map(str, seeds))})",
        f"- **Hardware:** {', '.join(sorted(devices))}; {os.cpu_count()} CPU cores, {platform.machine()}; "
        f"`--jobs {jobs}`",
        f"- **Versions:** {vtext}",
        f"- **Generated:** {dt.date.today().isoformat()} by `scripts/publish_leaderboards.py` (not edited by hand)",
        f"- **Reproduce:** `{command}`", "",
    ])


def publish(name: str, runs: Path, jobs: int) -> dict[str, Any]:
    from mmbench.data.loading import resolve
    from mmbench.leaderboard import build

    out = run_grid(name, runs, jobs)
    board = build(out)
    plots = board.write_plots(BOARDS)
    table = board.to_frame()
    truth = resolve(name).metadata.get("ground_truth", {})
    command = f"mmbench run --grid leaderboards/grids/{name}.yaml --out {runs / name} && mmbench leaderboard {runs / name}"
    facts = findings(table, truth)
    page = header(name, board, command, jobs) + "\n## What the results show\n\n" + "\n".join(f"- {f}" for f in facts) + "\n\n"
    tables = board.to_markdown(plots, link_dir=BOARDS)
    page += tables.replace("# Leaderboard:", "## Run:", 1)  # one title per page
    (BOARDS / f"{name}.md").write_text(page, encoding="utf-8")
    print(f"wrote leaderboards/{name}.md and {len(plots)} plot(s)")
    return {"name": name, "configs": len(table), "cells_failed": len(board.failed), "finding": facts[0] if facts else ""}


def write_index(entries: list[dict[str, Any]]) -> None:
    lines = ["# Published leaderboards", "",
             "Generated by `python scripts/publish_leaderboards.py` from real CPU runs of the grids in",
             "[`grids/`](grids/); every page states its hardware, versions, seeds and the command that",
             "reproduces it. How to read them: [docs/leaderboards.md](../docs/leaderboards.md).", "",
             "| dataset | configurations | failed cells | headline |", "|---|---|---|---|"]
    for e in entries:
        headline = e["finding"].replace("|", "\\|")  # labels hold pipes: keep the table intact
        lines.append(f"| [{e['name']}]({e['name']}.md) | {e['configs']} | {e['cells_failed']} | {headline} |")
    (BOARDS / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=PUBLISHED, help="publish only these datasets")
    parser.add_argument("--runs", type=Path, default=Path("mmbench-runs") / "published", help="run directories")
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    for name in args.only or PUBLISHED:
        publish(name, args.runs, args.jobs)
    from mmbench.leaderboard import build

    entries = []
    for name in PUBLISHED:  # the index covers every published page, also those not rerun now
        if (args.runs / name / "results.sqlite").exists() and (BOARDS / f"{name}.md").exists():
            board = build(args.runs / name)
            facts = findings(board.to_frame(), {})
            entries.append({"name": name, "configs": len(board.to_frame()), "cells_failed": len(board.failed),
                            "finding": facts[0] if facts else ""})
    write_index(entries)


if __name__ == "__main__":
    main()
