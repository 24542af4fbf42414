#!/usr/bin/env python
"""The default training settings against the old ones and against tuning, on the default ``cnn`` encoder,
``digits``, image-only ``digit`` task (the check ``docs/grids.md`` reports): test accuracy over 3 seeds,
how many runs converged, and the epochs they ran.

Usage: ``python scripts/defaults_check.py [--trials 16] [--out /tmp/mmbench-defaults]`` (about 5 minutes on
2 CPU cores). Prints a table and ``GAP default-vs-tuned=<points>``; exits 1 when the defaults are more
than 2 accuracy points below the tuned result.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
from pathlib import Path
from typing import Any

from tabulate import tabulate

from mmbench.grid.config import DEFAULT_TRAINING, parse_config
from mmbench.grid.runner import run_grid
from mmbench.store import ResultStore

CELL = {"dataset": "digits", "modalities": ["image"], "tasks": ["digit"], "families": ["st-sm"], "seeds": 3, "device": "auto"}
OLD = {"epochs": 10, "lr": 1e-3, "patience": 3}


def run(name: str, out: Path, training: dict[str, Any], tuning: dict[str, Any] | None = None) -> list[Any]:
    raw = CELL | {"name": name, "training": training} | ({"tuning": tuning} if tuning else {})
    run_grid(parse_config(raw), out / name)
    with ResultStore(out / name) as store:
        return [r for r in store.rows("ok")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--out", type=Path, default=Path("/tmp/mmbench-defaults"))
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    table, means = [], {}
    for name, training, tuning in (("old defaults", OLD, None), ("defaults", {}, None),
                                   (f"tuned ({args.trials} trials)", {}, {"trials": args.trials})):
        rows = run(name.split(" ")[0], args.out, training, tuning)
        acc = [r.result["metrics"]["test"]["digit"]["accuracy"] for r in rows]
        means[name] = statistics.mean(acc)
        epochs = [r.result["epochs_run"] for r in rows]
        table.append([name, {**DEFAULT_TRAINING, **training}["lr"] if not tuning else rows[0].config["hparams"].get("lr"),
                      f"{means[name]:.3f}", " ".join(f"{a:.3f}" for a in acc),
                      f"{sum(r.result['converged'] for r in rows)} of {len(rows)}", f"{min(epochs)}–{max(epochs)}"])
    print(tabulate(table, headers=["settings", "lr", "test accuracy", "per seed", "converged", "epochs run"],
                   tablefmt="github"))
    gap = 100 * (means[f"tuned ({args.trials} trials)"] - means["defaults"])
    print(f"GAP default-vs-tuned={gap:+.1f} points (target: the defaults within 2 points of tuned)")
    raise SystemExit(0 if gap <= 2.0 else 1)


if __name__ == "__main__":
    main()
