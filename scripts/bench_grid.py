"""Throughput of the harness, measured side by side in one run on this machine.

Prints three ratios, each from runs made here and now:
  (a) the default grid without vs with the frozen-feature cache            — target ≥ 3×
      (1 seed, and by default one aligner, fuser and weighting — every family, 9 cells — because
      without the cache MiniLM runs on every batch; --full-cache-grid runs all 40 cells of a seed,
      about 20 minutes)
  (b) the default grid (its 3 seeds, 120 cells, as `mmbench run --grid` runs it) with --jobs 1 vs
      --jobs 2, warm cache                                                  — target ≥ 1.6× on 2 cores
  (c) the harness's time per training step vs a hand-written PyTorch loop doing the same math on the
      same model (an mt-cm cell of the default grid with EW; both run the same --epochs, 12, without
      early stopping, score the validation split after each — loss and accuracy per task — and keep
      the best weights; runs interleaved, --repeats of each, each epoch's best time) — target ≤ 1.05×;
      the code is in bench_step.py, whose --ablate shows what each piece of the harness costs
Grid runs are `mmbench run --grid` subprocesses timed end to end (start-up included), each in a fresh
run directory; "with the cache" starts from an empty cache, so it pays for computing the features once.
Usage: python scripts/bench_grid.py [--seeds N] [--cache-seeds 1] [--skip-grid | --only-c] [--repeats 25]
       [--epochs 12] [--profile] [--ablate] [--full-cache-grid]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_step import add_arguments, measure  # figure (c) lives in bench_step.py


def timed_grid(out: Path, cache_dir: Path, *extra: str, seeds: int | None, grid: Path | None = None) -> float:
    grid_args = ["--grid", str(grid)] if grid else ["--grid"]
    seed_args = ["--seeds", str(seeds)] if seeds else []
    cmd = [sys.executable, "-m", "mmbench.cli.main", "run", *grid_args, "--out", str(out), *seed_args,
           "--cache-dir", str(cache_dir), "--quiet", "--device", "cpu", *extra]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"grid run failed ({' '.join(extra)}):\n{done.stdout}\n{done.stderr[-3000:]}")
    print(f"  {' '.join(extra) or 'defaults':24s} {seconds:7.1f} s   {done.stdout.strip().splitlines()[-1][:90]}", flush=True)
    return seconds


def cache_slice(path: Path) -> Path:
    """The default grid with only its first aligner, fuser and weighting (every family still present)."""
    import yaml

    from mmbench.grid.config import default_config_path

    cfg = yaml.safe_load(default_config_path().read_text())
    for key in ("aligners", "fusers", "weightings"):
        cfg[key] = cfg[key][:1]
    path.write_text(yaml.safe_dump(cfg))
    return path


def grid_ratios(seeds: int | None, cache_seeds: int, full_cache_grid: bool) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        grid = None if full_cache_grid else cache_slice(tmp_path / "slice.yaml")
        print(f"(a) feature cache: {'default grid' if full_cache_grid else 'default grid, first aligner/fuser/weighting'}, "
              f"{cache_seeds} seed(s), cold cache vs --no-cache")
        cached = timed_grid(tmp_path / "a-cache", tmp_path / "cache-a", seeds=cache_seeds, grid=grid)
        uncached = timed_grid(tmp_path / "a-nocache", tmp_path / "cache-unused", "--no-cache", seeds=cache_seeds, grid=grid)
        print(f"(b) parallel cells: default grid, {seeds or 'its'} seed(s), warm cache, --jobs 1 vs --jobs 2")
        serial = timed_grid(tmp_path / "b-1", tmp_path / "cache-a", "--jobs", "1", seeds=seeds)
        parallel = timed_grid(tmp_path / "b-2", tmp_path / "cache-a", "--jobs", "2", seeds=seeds)
    return uncached / cached, serial / parallel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=None, help="seeds of the default grid in (b) (default: its own, 3)")
    parser.add_argument("--cache-seeds", type=int, default=1, help="seeds of the grid in (a) (default 1)")
    parser.add_argument("--skip-grid", "--only-c", action="store_true", help="only measure (c)")
    add_arguments(parser)  # (c): --repeats, --epochs, --profile, --ablate
    parser.add_argument("--full-cache-grid", action="store_true", help="(a) on the whole default grid (slow)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"machine: {os.cpu_count()} CPU cores")
    cache_ratio = jobs_ratio = float("nan")
    if not args.skip_grid:
        cache_ratio, jobs_ratio = grid_ratios(args.seeds, args.cache_seeds, args.full_cache_grid)
        print(f"(a) no cache / cache: {cache_ratio:.2f}x (target >= 3)")
        print(f"(b) jobs 1 / jobs 2: {jobs_ratio:.2f}x (target >= 1.6)")
    overhead = measure(args)
    print(f"RATIOS cache={cache_ratio:.2f}x jobs2={jobs_ratio:.2f}x step_overhead={overhead:.3f}x")


if __name__ == "__main__":
    main()
