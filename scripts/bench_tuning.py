#!/usr/bin/env python
"""What equal-budget tuning costs and changes, measured side by side in one run on this machine.

Runs the default grid (``mmbench run --grid``, its 3 seeds) twice as end-to-end subprocesses, each in a
fresh run directory and a fresh feature cache: untuned, then with ``tuning: {trials: 8}`` (every
configuration 8 Optuna trials, TPE + median pruning, validation split only). Prints:

- the wall times and their ratio (target: tuning with 8 trials costs at most 3× the untuned grid);
- the fraction of trials pruned;
- the best multitask configuration's Δm% untuned vs tuned — "best" chosen by *validation* Δm% against
  the single-task baselines (never by test), then reported on test.

Usage: ``python scripts/bench_tuning.py [--jobs 2] [--trials 8] [--seeds 3] [--keep DIR]``. Last line:
``RATIOS tuning=<x> pruned=<fraction>``.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def timed_run(grid: Path, out: Path, cache: Path, jobs: int, seeds: int) -> float:
    cmd = [sys.executable, "-m", "mmbench", "run", "--grid", str(grid), "--out", str(out), "--cache-dir", str(cache),
           "--jobs", str(jobs), "--seeds", str(seeds), "--quiet"]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"grid run failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    print(f"  {out.name:8s} {seconds:7.1f} s   {done.stdout.strip().splitlines()[-1][:100]}", flush=True)
    return seconds


def best_by_validation(out: Path) -> tuple[str, float, float]:
    """The multitask configuration with the highest validation Δm%: (label, validation Δm%, test Δm%)."""
    import pandas as pd

    from mmbench.leaderboard.board import build
    from mmbench.leaderboard.stats.delta import delta_m

    board = build(out)
    best: tuple[str, float, float] | None = None
    for a in board.analyses:
        if a.config.single_task or a.baseline is None or a.config.validation.empty:
            continue
        reference = pd.concat([c.mean("validation") for c in a.baseline.configs])
        reference = reference[~reference.index.duplicated()]
        val = float(delta_m(a.config.validation, reference).mean())
        test = float(a.delta_m.mean)
        if math.isfinite(val) and (best is None or val > best[1]):
            best = (a.config.label, val, test)
    if best is None:
        sys.exit(f"no multitask configuration with a baseline in {out}")
    return best


def cost_breakdown(tuned: Path, untuned: Path) -> str:
    """Where the tuned run's compute goes: trial seconds (completed, pruned) and epochs, against the seconds
    of the seeded cells (each run's own timing of its training; summed over workers)."""
    import optuna

    from mmbench.store import ResultStore

    url = f"sqlite:///{tuned / 'tuning.sqlite'}"
    by: dict[str, list[float]] = {"COMPLETE": [], "PRUNED": [], "FAIL": []}
    epochs: dict[str, list[int]] = {k: [] for k in by}
    for s in optuna.get_all_study_summaries(url):
        for t in optuna.load_study(study_name=s.study_name, storage=url).get_trials(deepcopy=False):
            if t.state.name in by and not t.user_attrs.get("orphaned"):
                by[t.state.name].append(float(t.user_attrs.get("seconds", 0.0)))
                epochs[t.state.name].append(int(t.user_attrs.get("epochs_run", 0)))

    def cells(out: Path) -> float:
        with ResultStore(out, create=False) as store:
            return sum(float(r.result.get("train_seconds", 0.0)) for r in store.rows("ok"))

    lines = [f"  {k.lower():9s} trials: {len(v):4d}, {sum(v):7.1f} s, mean {sum(epochs[k]) / max(len(v), 1):5.1f} epochs"
             for k, v in by.items() if v]
    lines.append(f"  seeded cells' training: tuned {cells(tuned):.1f} s, untuned {cells(untuned):.1f} s")
    return "\n".join(lines)


def pruned_fraction(out: Path) -> tuple[float, int]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{out / 'tuning.sqlite'}"
    trials = [t for s in optuna.get_all_study_summaries(url)
              for t in optuna.load_study(study_name=s.study_name, storage=url).get_trials(deepcopy=False)
              if not t.user_attrs.get("orphaned")]
    return (sum(t.state.name == "PRUNED" for t in trials) / len(trials) if trials else math.nan), len(trials)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="keep the run directories here")
    args = parser.parse_args()
    import yaml

    from mmbench.grid.config import default_config_path

    tmp = Path(tempfile.mkdtemp(prefix="mmbench-bench-tuning-"))
    try:
        raw: dict[str, Any] = yaml.safe_load(default_config_path().read_text())
        (tmp / "untuned.yaml").write_text(yaml.safe_dump(raw))
        (tmp / "tuned.yaml").write_text(yaml.safe_dump(raw | {"tuning": {"trials": args.trials}}))
        print(f"default grid, {args.seeds} seeds, --jobs {args.jobs}; fresh run directory and feature cache each:")
        untuned = timed_run(tmp / "untuned.yaml", tmp / "untuned", tmp / "cache-untuned", args.jobs, args.seeds)
        tuned = timed_run(tmp / "tuned.yaml", tmp / "tuned", tmp / "cache-tuned", args.jobs, args.seeds)
        pruned, n_trials = pruned_fraction(tmp / "tuned")
        best_u, best_t = best_by_validation(tmp / "untuned"), best_by_validation(tmp / "tuned")
        print(f"\ntrials: {n_trials} ({args.trials} per configuration), pruned: {pruned:.0%}")
        print(cost_breakdown(tmp / "tuned", tmp / "untuned"))
        print("best multitask configuration by validation Δm% (test Δm% reported):")
        print(f"  untuned: {best_u[0]}  val {best_u[1]:+.2f}  test {best_u[2]:+.2f}")
        print(f"  tuned:   {best_t[0]}  val {best_t[1]:+.2f}  test {best_t[2]:+.2f}")
        ratio = tuned / untuned
        print(f"\ntuned / untuned wall time: {tuned:.1f} s / {untuned:.1f} s = {ratio:.2f}x (target <= 3x)")
        print(f"RATIOS tuning={ratio:.2f}x pruned={pruned:.2f}")
        if args.keep:
            shutil.copytree(tmp, args.keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
