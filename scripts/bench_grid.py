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
      the best weights; runs interleaved, --repeats of each, each epoch's best time) — target ≤ 1.05×
Grid runs are `mmbench run --grid` subprocesses timed end to end (start-up included), each in a fresh
run directory; "with the cache" starts from an empty cache, so it pays for computing the features once.
Usage: python scripts/bench_grid.py [--seeds N] [--cache-seeds 1] [--skip-grid | --only-c] [--repeats 5]
       [--epochs 12] [--profile] [--full-cache-grid]
"""

from __future__ import annotations

import argparse
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


def step_ratio(repeats: int = 5, epochs: int = 12, profile: bool = False) -> tuple[float, float, float, float]:
    """(c): the harness's ``train()`` as ``train_cell`` calls it vs a hand-written loop, on the cell's
    training settings except the stopping rule: ``epochs`` epochs on both sides, no early stopping.

    Both do, per epoch: the shuffled mini-batches (same generator, same order), Adam on the sum of the two
    cross-entropies, one validation pass giving each task's mean loss (their mean selects the best epoch,
    whose weights are kept and loaded at the end) and each task's validation accuracy (the harness records
    it in ``history`` through the same ``score`` callback ``train_cell`` passes: scikit-learn's definitions
    of every metric, accuracy and macro-F1, of which the loop keeps the main one). The harness also does
    what the hand-written loop leaves out: finiteness checks of each step's losses, EW's weights and
    objective, the checked task weights summed per step, the epoch's mean training loss per task (checked,
    recorded, passed to the strategy), the ``history`` entry, the ``on_epoch`` call. Both reach the same
    per-epoch accuracies and final weights (checked below).

    Runs are interleaved (harness, hand, hand, harness, …) so that load from other processes hits both
    alike, and timed per epoch (the harness through its ``on_epoch`` callback, the hand-written loop at the
    same point: after the epoch's validation and best-weights bookkeeping; the first epoch from the call,
    optimiser construction included). Epoch ``k`` does the same work on both sides in every run, so each
    side's time is the sum over epochs of its best time for that epoch: on a shared machine, a quiet
    100-ms window is far likelier than a quiet 1-s one. Returns (that ratio, the ratio of the best whole
    runs, the lowest and highest ratio of one harness run to the hand run next to it).
    """
    import torch
    from torch.nn import functional as F

    from mmbench.grid.config import default_config_path, load_config
    from mmbench.grid.runner import plan
    from mmbench.grid.worker import WorkerSettings, loaded_dataset, feature_cache
    from mmbench.plugins import get_registry
    from mmbench.provenance import resolve_device
    from mmbench.train.cell_runner import encoder_inputs
    from mmbench.train.metrics import score_tasks
    from mmbench.train.prepare import SPLITS, split_targets
    from mmbench.train.loop import SplitTensors, train
    from mmbench.train.model import CellModel

    cfg = load_config(default_config_path())
    cell = next(c for c in plan(cfg).cells if c.family == "mt-cm" and c.weighting.name == "ew"
                and c.aligner.name == "none" and c.fuser.name == "concat")
    device = resolve_device("cpu")
    settings = WorkerSettings(cfg.dataset, "cpu", None, True)
    data = loaded_dataset(cfg.dataset)
    training = dict(cell.training) | {"patience": 10_000, "epochs": epochs}
    tasks = [data.task_info[t] for t in cell.tasks]
    assert all(t.type == "classification" and t.main_metric == "accuracy" for t in tasks)
    targets, scale = split_targets(cell.tasks, data)

    def build() -> tuple[CellModel, dict[str, SplitTensors]]:
        torch.manual_seed(0)
        encoders, inputs, _, _ = encoder_inputs(cell, data, device, feature_cache(settings))
        fuser = get_registry("fusers").create("concat", {m: e.out_dim for m, e in encoders.items()})
        model = CellModel(encoders, tasks, None, fuser, trunk_dim=int(training["trunk_dim"]))
        return model, {s: SplitTensors(inputs[s], targets[s]) for s in SPLITS}

    Run = tuple[list[float], int, list[dict[str, float]], CellModel]  # epoch end times from the start, steps, ...

    def harness() -> Run:
        model, splits = build()
        weighting = get_registry("weightings").create("ew", len(tasks), seed=0)
        ends: list[float] = []

        def score_val(preds: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:  # as train_cell's
            return score_tasks(tasks, preds, targets["validation"], scale)

        start = time.perf_counter()
        report = train(model, weighting, splits["train"], splits["validation"], tasks, training, 0, device,
                       score=score_val, on_epoch=lambda epoch, entry: ends.append(time.perf_counter() - start))
        ends[-1] = time.perf_counter() - start  # the run ends after loading the best weights
        return ends, report.steps, [e["val"] for e in report.history], model

    def by_hand() -> Run:
        model, splits = build()
        tr, va = splits["train"], splits["validation"]
        bs, steps, best, best_state, history, ends = int(training["batch_size"]), 0, float("inf"), None, [], []
        start = time.perf_counter()
        opt = torch.optim.Adam(model.parameters(), lr=float(training["lr"]))
        gen = torch.Generator().manual_seed(0)
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
                val, correct = torch.zeros(len(tasks)), torch.zeros(len(tasks), dtype=torch.long)
                for i in range(0, len(va), bs):
                    out = model({m: v[i: i + bs] for m, v in va.inputs.items()}).predictions
                    ys = [va.targets[t.name][i: i + bs] for t in tasks]
                    val += torch.stack([F.cross_entropy(out[t.name], y) for t, y in zip(tasks, ys)]) * len(ys[0])
                    correct += torch.stack([(out[t.name].argmax(dim=1) == y).sum() for t, y in zip(tasks, ys)])
            history.append({t.name: int(c) / len(va) for t, c in zip(tasks, correct)})  # validation accuracy
            val_loss = float((val / len(va)).mean())
            if val_loss < best:
                best, best_state = val_loss, {k: v.detach().clone() for k, v in model.state_dict().items()}
            ends.append(time.perf_counter() - start)
        model.load_state_dict(best_state)
        ends[-1] = time.perf_counter() - start
        return ends, steps, history, model

    harness(), by_hand()  # warm-up: first-call costs (the torch._dynamo import of the first optimiser, ...)
    h: list[Run] = []
    b: list[Run] = []
    for i in range(repeats):  # pairs in alternating order (harness first, then hand first, ...): no drift bias
        for runs, fn in ((h, harness), (b, by_hand))[:: 1 if i % 2 == 0 else -1]:
            runs.append(fn())
    (_, steps, h_hist, h_model), (_, b_steps, b_hist, b_model) = h[-1], b[-1]
    same = steps == b_steps and h_hist == b_hist and all(
        torch.equal(v, b_model.state_dict()[k]) for k, v in h_model.state_dict().items())

    def epochwise_best(runs: list[Run]) -> float:  # sum over epochs of the best time of that epoch
        per_epoch = [[e - s for s, e in zip([0.0] + ends[:-1], ends)] for ends, *_ in runs]
        return sum(min(times) for times in zip(*per_epoch)) / steps

    h_epoch, b_epoch = epochwise_best(h), epochwise_best(b)
    h_run, b_run = min(r[0][-1] for r in h) / steps, min(r[0][-1] for r in b) / steps
    pairs = sorted(x[0][-1] / y[0][-1] for x, y in zip(h, b))
    print(f"(c) time per training step, {repeats} runs each, interleaved: harness {h_epoch * 1e3:.3f} ms, "
          f"hand-written loop {b_epoch * 1e3:.3f} ms (best time of each epoch, summed) = {h_epoch / b_epoch:.3f}x;"
          f" best whole runs {h_run * 1e3:.3f} / {b_run * 1e3:.3f} ms = {h_run / b_run:.3f}x; "
          f"harness/hand of each pair of runs: {', '.join(f'{r:.3f}' for r in pairs)}")
    print(f"(c) same per-epoch validation accuracies and final weights on both sides: {'yes' if same else 'NO'}")
    if profile:  # where the harness's time goes: one more run under cProfile, the top functions by own time
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(harness)
        print("(c) profile of one harness run (cProfile; own time, top 25):")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    return h_epoch / b_epoch, h_run / b_run, pairs[0], pairs[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=None, help="seeds of the default grid in (b) (default: its own, 3)")
    parser.add_argument("--cache-seeds", type=int, default=1, help="seeds of the grid in (a) (default 1)")
    parser.add_argument("--skip-grid", "--only-c", action="store_true", help="only measure (c)")
    parser.add_argument("--repeats", type=int, default=5, help="harness and hand-written runs in (c), interleaved (default 5)")
    parser.add_argument("--epochs", type=int, default=12, help="epochs of every run in (c) (default 12; no early stopping)")
    parser.add_argument("--profile", action="store_true", help="(c) also prints a cProfile of one harness run")
    parser.add_argument("--full-cache-grid", action="store_true", help="(a) on the whole default grid (slow)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"machine: {os.cpu_count()} CPU cores")
    cache_ratio = jobs_ratio = float("nan")
    if not args.skip_grid:
        cache_ratio, jobs_ratio = grid_ratios(args.seeds, args.cache_seeds, args.full_cache_grid)
        print(f"(a) no cache / cache: {cache_ratio:.2f}x (target >= 3)")
        print(f"(b) jobs 1 / jobs 2: {jobs_ratio:.2f}x (target >= 1.6)")
    overhead, whole, low, high = step_ratio(args.repeats, args.epochs, args.profile)
    print(f"(c) harness / hand-written step: {overhead:.3f}x (best whole runs {whole:.3f}x, pairs of runs "
          f"{low:.3f}-{high:.3f}x; target <= 1.05)")
    print(f"RATIOS cache={cache_ratio:.2f}x jobs2={jobs_ratio:.2f}x step_overhead={overhead:.3f}x")


if __name__ == "__main__":
    main()
