"""Run the published grids and regenerate ``leaderboards/<dataset>.md``, its PNG plots and the index.

Every page is generated here — header (dataset, grid, seeds, hardware, versions, date, the command
that reproduces it), findings computed from the results (:mod:`mmbench.leaderboard.report.prose`: configurations
picked on validation among comparable values, one verdict per comparison inside the families the grid's
``claims:`` declared before the run, each family's MDE), and the leaderboard tables — never
edited by hand. The index (``leaderboards/README.md``) links every page and holds the overall table across
datasets (:mod:`mmbench.leaderboard.overall`). Runs resume: a finished cell in ``--runs`` is not run again.
A dataset in ``HELD_BACK`` is skipped unless named with ``--only``; the index gives the reason.
The same boards are written as a static site in ``leaderboards/site/`` (an index and one HTML page per
dataset, interactive plots, opens offline; :mod:`mmbench.leaderboard.report.html_site`), beside the markdown.

Usage: python scripts/publish_leaderboards.py [--only digits] [--runs leaderboards/runs] [--jobs 2] [--index-only]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BOARDS = ROOT / "leaderboards"
GRIDS = BOARDS / "grids"
PUBLISHED = ("digits", "multidigits", "pid-synthetic", "multifashion", "stamps", "movies")
#: where the published runs' stores live: committed beside the pages, so a reviewer can recompute every number
#: (`mmbench leaderboard leaderboards/runs/<name>`) and an interrupted publishing run resumes in a later checkout
RUNS = BOARDS / "runs"


def check_sources(names: Sequence[str]) -> None:
    """Stop before any training when a dataset's source is missing, with every command that installs one: the
    real datasets are built from packages (Debian's, PyPI's) that this script does not install itself."""
    from mmbench.data.errors import DatasetError
    from mmbench.data.loading import resolve
    from mmbench.grid.config import load_config

    problems = []
    for name in names:
        try:
            resolve(load_config(GRIDS / f"{name}.yaml").dataset)  # the factory checks its source; nothing is built
        except DatasetError as exc:
            problems.append(f"- {name}: {exc}")
    if problems:
        sys.exit("cannot publish: a dataset's source is missing (install it, then rerun this script):\n"
                 + "\n".join(problems))


def run_grid(name: str, runs: Path, jobs: int) -> Path:
    out = runs / name
    cmd = [sys.executable, "-m", "mmbench.cli.main", "run", "--grid", str(GRIDS / f"{name}.yaml"), "--out", str(out),
           "--quiet", "--jobs", str(jobs)]
    print(f"$ {' '.join(cmd[2:])}", flush=True)
    done = subprocess.run(cmd)
    if done.returncode not in (0, 1):  # 1: some cells failed — they are listed on the page
        sys.exit(f"grid {name} did not run (exit {done.returncode})")
    return out


def cpu_model() -> str:
    """The CPU's model name (Linux ``/proc/cpuinfo``), or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def data_lines(metadata: dict[str, Any]) -> list[str]:
    """The dataset's description, licence, reference and — for data built from a package — where it comes from
    and the command that installs it (the page's "Reproduce" line works after it)."""
    lines = []
    if metadata.get("description"):
        lines.append(f"- **Data:** {metadata['description']}")
    if metadata.get("license"):
        lines.append(f"- **Licence:** {metadata['license']}")
    if metadata.get("reference"):
        bibtex = " (BibTeX in [docs/datasets.md](../docs/datasets.md))" if metadata.get("citation") else ""
        lines.append(f"- **Cite:** {metadata['reference']}{bibtex}")
    source = str(metadata.get("source") or "")
    if "`" in source:  # "<local path> (<package>; `<install command>`)": the path is this machine's, not the reader's
        package = source[source.index("(") + 1:source.rindex(")")] if "(" in source else source
        lines.append(f"- **Source:** {package.split(';')[0]}; install it first: {package.split(';', 1)[1].strip()}")
    return lines


def grid_scope(board: Any) -> str:
    """What this page ran of its dataset: the modalities and tasks of its configurations (a grid may use a subset
    of what the dataset's description lists)."""
    modalities = sorted({m for c in board.configurations for m in c.modalities})
    tasks = sorted({t for c in board.configurations for t in c.tasks})
    return f"this page: modalities {', '.join(modalities)}; tasks {', '.join(tasks)}"


def header(name: str, board: Any, command: str, jobs: int, metadata: dict[str, Any] | None = None) -> str:
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
        *data_lines(metadata or {}),
        f"- **Grid:** [`leaderboards/grids/{name}.yaml`](grids/{name}.yaml) — {grid_scope(board)}",
        f"- **Seeds:** {len(seeds)} ({', '.join(map(str, seeds))})",
        f"- **Hardware:** {', '.join(sorted(devices))}; {os.cpu_count()} CPU cores ({cpu_model()}), "
        f"{platform.machine()}; cells run {jobs} at a time (`--jobs {jobs}`)",
        f"- **Versions:** {vtext}",
        f"- **Generated:** {dt.date.today().isoformat()} by `scripts/publish_leaderboards.py` (not edited by hand)",
        f"- **Reproduce:** `{command}`", "",
    ])


def page(name: str, board: Any, command: str, jobs: int, ground_truth: dict[str, str], plots: list[Path],
         metadata: dict[str, Any] | None = None) -> str:
    """A published page: header, "What the results show" (prose.findings), then the leaderboard."""
    from mmbench.leaderboard.report.prose import findings

    facts = findings(board, ground_truth)
    text = header(name, board, command, jobs, metadata) + "\n## What the results show\n\n" + "\n".join(f"- {f}" for f in facts) + "\n\n"
    return text + board.to_markdown(plots, link_dir=BOARDS).replace("# Leaderboard:", "## Run:", 1)  # one title per page


def entry(name: str, board: Any) -> dict[str, Any]:
    from mmbench.leaderboard.report.prose import headline

    return {"name": name, "configs": len(board.analyses), "cells_failed": len(board.failed), "finding": headline(board),
            "board": board}


def publish(name: str, runs: Path, jobs: int) -> dict[str, Any]:
    from mmbench.data.loading import resolve
    from mmbench.grid.config import load_config
    from mmbench.leaderboard.board import build

    out = run_grid(name, runs, jobs)
    board = build(out)
    plots = board.write_plots(BOARDS)
    metadata = resolve(load_config(GRIDS / f"{name}.yaml").dataset).metadata
    command = reproduce(name, runs)
    (BOARDS / f"{name}.md").write_text(page(name, board, command, jobs, metadata.get("ground_truth", {}), plots, metadata),
                                       encoding="utf-8")
    print(f"wrote leaderboards/{name}.md and {len(plots)} plot(s)")
    return entry(name, board)


#: why a published dataset has no page yet (its line in the index); the datasets not republished since
#: the protocol changed in 0.3.0 have their old pages withdrawn rather than left with superseded tests
PENDING = ("not published yet under 0.3.0's protocol (10 seeds, declared families){progress}; "
           "`python scripts/publish_leaderboards.py --only {name} --jobs 2` publishes it (a started run resumes)")
#: a dataset whose page is held back, and why: a plain run of this script skips it (``--only NAME`` publishes it)
HELD_BACK: dict[str, str] = {}


def index(entries: list[dict[str, Any]], pending: Sequence[str] = ()) -> str:
    """``leaderboards/README.md``: one line per page (and per dataset still to publish), then the overall
    table across the published datasets."""
    from mmbench.leaderboard.overall import overall, to_markdown

    lines = ["# Published leaderboards", "",
             "Generated by `python scripts/publish_leaderboards.py` from real CPU runs of the grids in",
             "[`grids/`](grids/); every page states its hardware, versions, seeds and the command that",
             "reproduces it. How to read them: [docs/leaderboards.md](../docs/leaderboards.md).", "",
             "Browse them as a site with sortable, filterable tables and interactive plots: "
             "[`site/index.html`](site/index.html) (open it from a clone; it needs no network).", "",
             "| dataset | configurations | failed cells | verdicts per declared family (largest MDE, Δm% points) |",
             "|---|---|---|---|"]
    for e in entries:
        headline = e["finding"].replace("|", "\\|")  # labels hold pipes: keep the table intact
        lines.append(f"| [{e['name']}]({e['name']}.md) | {e['configs']} | {e['cells_failed']} | {headline} |")
    for name in pending:
        lines.append(f"| {name} | — | — | {HELD_BACK.get(name) or PENDING.format(name=name, progress=progress(name))} |")
    boards = [e["board"] for e in entries if e.get("board") is not None]
    if boards:
        lines += ["", "## Across datasets", "",
                  "Each component kind over the published datasets where it varies (the share of columns each dataset "
                  "contributes is stated under its table): mean rank among the values in the table, interquartile mean "
                  "of the normalised scores and the probability of improvement over the kind's reference with 95% "
                  "stratified-bootstrap intervals (descriptive), and the pooled verdict across datasets (a stratified "
                  "sign-flip test: the test).", "", to_markdown(overall(boards), level="###")]
    return "\n".join(lines) + "\n"


def reproduce(name: str, runs: Path | None = None) -> str:
    """The command that reproduces a published page: a fresh run directory (the published store in
    ``leaderboards/runs/`` would make the run a no-op), then its leaderboard."""
    out = f"mmbench-runs/{name}"
    return f"mmbench run --grid leaderboards/grids/{name}.yaml --out {out} && mmbench leaderboard {out}"


def progress(name: str, runs: Path = RUNS) -> str:
    """How far a started publishing run of ``name`` got: its stored cells, for the index's pending line."""
    store = runs / name / "results.sqlite"
    if not store.exists():
        return ""
    from mmbench.store import ResultStore

    with ResultStore(runs / name, create=False) as results:
        done = sum(1 for _ in results.rows("ok"))
    return f": {done} cells of its run are stored in `leaderboards/runs/{name}`" if done else ""


def write_index(entries: list[dict[str, Any]], pending: Sequence[str] = ()) -> None:
    (BOARDS / "README.md").write_text(index(entries, pending), encoding="utf-8")


def write_site(entries: list[dict[str, Any]], runs: Path, out: Path = BOARDS / "site") -> list[Path]:
    """``leaderboards/site/``: the published boards as HTML pages linking their markdown pages."""
    from mmbench.leaderboard.report.html_site import write_site as write

    names = [e["name"] for e in entries]
    pages = write([e["board"] for e in entries], out, names=names, commands=[reproduce(n, runs) for n in names],
                  markdown=[f"../{n}.md" for n in names],
                  note="Generated by scripts/publish_leaderboards.py from the runs behind the markdown pages in "
                       "leaderboards/; every page states its versions, hardware, seeds and reproduce command.")
    print(f"wrote {len(pages)} page(s) in {out}")
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=PUBLISHED, help="publish only these datasets")
    parser.add_argument("--runs", type=Path, default=RUNS, help="run directories (default: leaderboards/runs)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--index-only", action="store_true",
                        help="only rewrite leaderboards/README.md and leaderboards/site/ from the runs")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    default = [n for n in PUBLISHED if n not in HELD_BACK]  # a held-back page is published only with --only NAME
    names = [] if args.index_only else (args.only or default)
    check_sources(names)
    for name in names:
        publish(name, args.runs, args.jobs)
    from mmbench.leaderboard.board import build

    entries, pending = [], []
    for name in PUBLISHED:  # the index covers every published page, also those not rerun now
        if (args.runs / name / "results.sqlite").exists() and (BOARDS / f"{name}.md").exists():
            entries.append(entry(name, build(args.runs / name)))
        else:
            pending.append(name)
    write_index(entries, pending)
    write_site(entries, args.runs)


if __name__ == "__main__":
    main()
