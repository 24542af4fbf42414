"""Throughput of the harness, measured side by side in one run on this machine.

Prints three ratios, each from runs made here and now:
  (a) the default grid without vs with the frozen-feature cache            — target ≥ 3×
      (1 seed, and by default one aligner, fuser and weighting — every family, 9 cells — because
      without the cache MiniLM runs on every batch; --full-cache-grid runs all 40 cells of a seed,
      about 20 minutes)
  (b) the default grid (its 3 seeds, 120 cells, as `mmbench run --grid` runs it) with --jobs 1 vs
      --jobs 2, warm cache                                                  — target ≥ 1.6× on 2 cores
  (c) the harness's time per training step vs a hand-written PyTorch loop doing the same math on the
      same model (an mt-cm cell of the default grid with EW; both run the same epochs, score the
      validation split after each and keep the best weights)                — target ≤ 1.15×
Grid runs are `mmbench run --grid` subprocesses timed end to end (start-up included), each in a fresh
run directory; "with the cache" starts from an empty cache, so it pays for computing the features once.
Usage: python scripts/bench_grid.py [--seeds N] [--cache-seeds 1] [--skip-grid] [--full-cache-grid]
"""

from __future__ import annotations

import argparse
import copy
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


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


def step_ratio(repeats: int = 3) -> float:
    import torch
    from torch.nn import functional as F

    from mmbench.grid.config import default_config_path, load_config
    from mmbench.grid.runner import plan
    from mmbench.grid.worker import WorkerSettings, loaded_dataset, feature_cache
    from mmbench.plugins import get_registry
    from mmbench.provenance import resolve_device
    from mmbench.train.cell_runner import encoder_inputs
    from mmbench.train.prepare import SPLITS, split_targets
    from mmbench.train.loop import SplitTensors, train
    from mmbench.train.model import CellModel

    cfg = load_config(default_config_path())
    cell = next(c for c in plan(cfg).cells if c.family == "mt-cm" and c.weighting.name == "ew"
                and c.aligner.name == "none" and c.fuser.name == "concat")
    device = resolve_device("cpu")
    settings = WorkerSettings(cfg.dataset, "cpu", None, True)
    data = loaded_dataset(cfg.dataset)
    training = dict(cell.training) | {"patience": 10_000}
    tasks = [data.task_info[t] for t in cell.tasks]

    def build() -> tuple[CellModel, dict[str, SplitTensors]]:
        torch.manual_seed(0)
        encoders, inputs, _, _ = encoder_inputs(cell, data, device, feature_cache(settings))
        targets, _ = split_targets(cell.tasks, data)
        fuser = get_registry("fusers").create("concat", {m: e.out_dim for m, e in encoders.items()})
        model = CellModel(encoders, tasks, None, fuser, trunk_dim=int(training["trunk_dim"]))
        return model, {s: SplitTensors(inputs[s], targets[s]) for s in SPLITS}

    def harness() -> tuple[float, int]:
        model, splits = build()
        weighting = get_registry("weightings").create("ew", len(tasks), seed=0)
        start = time.perf_counter()
        report = train(model, weighting, splits["train"], splits["validation"], tasks, training, 0, device)
        return time.perf_counter() - start, report.steps

    def by_hand() -> tuple[float, int]:
        model, splits = build()
        tr, va = splits["train"], splits["validation"]
        opt = torch.optim.Adam(model.parameters(), lr=float(training["lr"]))
        gen = torch.Generator().manual_seed(0)
        bs, steps, best, best_state = int(training["batch_size"]), 0, float("inf"), None
        start = time.perf_counter()
        for _ in range(int(training["epochs"])):
            model.train()
            order = torch.randperm(len(tr), generator=gen)
            for i in range(0, len(order), bs):
                idx = order[i: i + bs]
                x = {m: v[idx] for m, v in tr.inputs.items()}
                out = model(x).predictions
                loss = sum(F.cross_entropy(out[t.name], tr.targets[t.name][idx]) for t in tasks)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                steps += 1
            model.eval()
            with torch.no_grad():
                val = 0.0
                for i in range(0, len(va), bs):
                    out = model({m: v[i: i + bs] for m, v in va.inputs.items()}).predictions
                    val += sum(float(F.cross_entropy(out[t.name], va.targets[t.name][i: i + bs])) * len(out[t.name]) for t in tasks)
            if val < best:
                best, best_state = val, copy.deepcopy(model.state_dict())
        model.load_state_dict(best_state)
        return time.perf_counter() - start, steps

    h = min((lambda r: r[0] / r[1])(harness()) for _ in range(repeats))
    b = min((lambda r: r[0] / r[1])(by_hand()) for _ in range(repeats))
    print(f"(c) time per training step (best of {repeats}): harness {h * 1e3:.2f} ms, hand-written loop {b * 1e3:.2f} ms")
    return h / b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=None, help="seeds of the default grid in (b) (default: its own, 3)")
    parser.add_argument("--cache-seeds", type=int, default=1, help="seeds of the grid in (a) (default 1)")
    parser.add_argument("--skip-grid", action="store_true", help="only measure (c)")
    parser.add_argument("--full-cache-grid", action="store_true", help="(a) on the whole default grid (slow)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"machine: {os.cpu_count()} CPU cores")
    cache_ratio = jobs_ratio = float("nan")
    if not args.skip_grid:
        cache_ratio, jobs_ratio = grid_ratios(args.seeds, args.cache_seeds, args.full_cache_grid)
        print(f"(a) no cache / cache: {cache_ratio:.2f}x (target >= 3)")
        print(f"(b) jobs 1 / jobs 2: {jobs_ratio:.2f}x (target >= 1.6)")
    overhead = step_ratio()
    print(f"(c) harness / hand-written step: {overhead:.3f}x (target <= 1.15)")
    print(f"RATIOS cache={cache_ratio:.2f}x jobs2={jobs_ratio:.2f}x step_overhead={overhead:.3f}x")


if __name__ == "__main__":
    main()
