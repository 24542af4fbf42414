"""Figure (c) of ``bench_grid.py``: the harness's training step against a hand-written loop, and where
the difference goes.

The harness's ``train()``, as ``train_cell`` calls it (with the validation scoring callback), against a
hand-written PyTorch loop doing the same math on the same model: an mt-cm cell of the default grid with
EW (the CNN image encoder trained, MiniLM features cached, two classification heads). Both run the same
``--epochs`` (12) without early stopping, score the validation split after each and keep the best
weights; runs are interleaved and each side's time is the sum over epochs of that epoch's best time.
A third side, the hand-written loop once more, is the control: its ratio to the first shows how much of
a ratio is noise on this machine (below ~15 runs a side, a few percent).

``--ablate`` adds the harness's pieces to the hand-written loop one at a time (cumulatively), so each
row's increase is what that piece costs:

  1. batches gathered through ``SplitTensors.batch`` (the encoder-input helpers)
  2. the task losses as one stacked vector and EW's ``combine`` (the weighting's interface)
  3. the finiteness checks of each step's losses and objective
  4. the weight bookkeeping: checked task weights summed per step, the epoch's mean losses per task
  5. the harness's validation pass, its scoring callback, the history entry and the best-weights snapshot

Usage: python scripts/bench_step.py [--repeats 25] [--epochs 12] [--profile] [--ablate]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Run = tuple[list[float], int, list[dict[str, float]], Any]  # epoch end times from the start, steps, val accuracies, model

ABLATION = ("hand-written loop", "+ batches via SplitTensors.batch", "+ stacked task losses and EW.combine",
            "+ finiteness checks (losses, objective)", "+ weight bookkeeping (weights summed, epoch mean losses)",
            "+ harness validation, scoring, history entry, snapshot")
CONTROL = "the hand-written loop again (control: the noise floor)"


@dataclass
class Setup:
    """The (c) cell's data, settings and model factory, shared by every side."""

    training: dict[str, Any]
    tasks: list[Any]
    targets: dict[str, Any]
    scale: dict[str, Any]
    device: Any
    build: Callable[[], tuple[Any, dict[str, Any]]]


def setup(epochs: int) -> Setup:
    import torch

    from mmbench.grid.config import default_config_path, load_config
    from mmbench.grid.runner import plan
    from mmbench.grid.execution.context import WorkerSettings, feature_cache, loaded_dataset
    from mmbench.plugins import get_registry
    from mmbench.provenance import resolve_device
    from mmbench.train.cell_runner import encoder_inputs
    from mmbench.train.loop import SplitTensors
    from mmbench.train.model import CellModel
    from mmbench.train.prepare import SPLITS, split_targets

    cfg = load_config(default_config_path())
    cell = next(c for c in plan(cfg).cells if c.family == "mt-cm" and c.weighting.name == "ew"
                and c.aligner.name == "none" and c.fuser.name == "concat")
    device = resolve_device("cpu")
    settings = WorkerSettings(cfg.dataset, "cpu", None, True)
    data = loaded_dataset(cfg.dataset)
    training = dict(cell.training) | {"patience": 10_000, "epochs": epochs}
    tasks = [data.task_info[t] for t in cell.tasks]
    assert all(t.type == "classification" and t.main_metric == "accuracy" for t in tasks)
    assert float(training["weight_decay"]) == 0 and training["optimizer"] == "adam"
    targets, scale = split_targets(cell.tasks, data)

    def build() -> tuple[CellModel, dict[str, SplitTensors]]:
        torch.manual_seed(0)
        encoders, inputs, _, _ = encoder_inputs(cell, data, device, feature_cache(settings))
        fuser = get_registry("fusers").create("concat", {m: e.out_dim for m, e in encoders.items()})
        model = CellModel(encoders, tasks, None, fuser, trunk_dim=int(training["trunk_dim"]))
        return model, {s: SplitTensors(inputs[s], targets[s]) for s in SPLITS}

    return Setup(training, tasks, targets, scale, device, build)


def harness(s: Setup) -> Run:
    from mmbench.plugins import get_registry
    from mmbench.train.loop import train
    from mmbench.train.metrics import score_tasks

    model, splits = s.build()
    weighting = get_registry("weightings").create("ew", len(s.tasks), seed=0)
    ends: list[float] = []

    def score_val(preds: dict[str, Any]) -> dict[str, dict[str, float]]:  # as train_cell's
        return score_tasks(s.tasks, preds, s.targets["validation"], s.scale)

    start = time.perf_counter()
    report = train(model, weighting, splits["train"], splits["validation"], s.tasks, s.training, 0, s.device,
                   score=score_val, on_epoch=lambda epoch, entry: ends.append(time.perf_counter() - start))
    ends[-1] = time.perf_counter() - start  # the run ends after loading the best weights
    return ends, report.steps, [e["val"] for e in report.history], model


def by_hand(s: Setup, level: int = 0) -> Run:
    """The hand-written loop; ``level`` > 0 swaps in the harness's first ``level`` pieces (``ABLATION``)."""
    import math

    import torch
    from torch.nn import functional as F

    from mmbench.plugins import get_registry
    from mmbench.train.loop import (
        _check_finite,
        _main_scores,
        _snapshot,
        evaluate,
        losses_of,
    )
    from mmbench.train.metrics import score_tasks
    from mmbench.train.step import all_finite, checked_weights

    model, splits = s.build()
    tasks, tr, va = s.tasks, splits["train"], splits["validation"]
    weighting = get_registry("weightings").create("ew", len(tasks), seed=0)
    bs, steps, best, best_state, history, ends = int(s.training["batch_size"]), 0, float("inf"), None, [], []
    start = time.perf_counter()
    opt = torch.optim.Adam(model.parameters(), lr=float(s.training["lr"]))
    gen = torch.Generator().manual_seed(0)
    for epoch in range(int(s.training["epochs"])):
        model.train()
        order = torch.randperm(len(tr), generator=gen)
        epoch_losses, weight_sum = torch.zeros(len(tasks)), torch.zeros(len(tasks))
        for i in range(0, len(order), bs):
            idx = order[i: i + bs]
            if level >= 1:
                batch = tr.batch(idx)
                x, ys = batch.inputs, batch.targets
            else:
                x, ys = {m: v[idx] for m, v in tr.inputs.items()}, {t.name: tr.targets[t.name][idx] for t in tasks}
            opt.zero_grad(set_to_none=True)
            fwd = model(x)
            if level >= 2:
                losses = losses_of(fwd, ys, tasks)
                if level >= 3:
                    _check_finite(losses, fwd, tasks, "step", weighting)
                loss = weighting.combine(losses)
                if level >= 3 and not all_finite(loss):
                    raise RuntimeError("non-finite objective")
            else:
                loss = sum(F.cross_entropy(fwd.predictions[t.name], ys[t.name]) for t in tasks)
            loss.backward()
            opt.step()
            if level >= 4:
                applied = checked_weights(weighting)
                if applied is not None:
                    weight_sum.add_(applied.cpu())
                epoch_losses.add_(losses.detach())
            steps += 1
        if level >= 4:
            mean_losses = epoch_losses / steps
            if not torch.isfinite(mean_losses).all():
                raise RuntimeError("non-finite mean loss")
            weighting.end_epoch(mean_losses)
        if level >= 5:
            val_loss, preds = evaluate(model, va, tasks, bs)
            scores = _main_scores(score_tasks(tasks, preds, s.targets["validation"], s.scale), tasks)
            history.append(scores)
            entry = {"epoch": epoch + 1, "train_losses": {t.name: float(v) for t, v in zip(tasks, mean_losses)},
                     "val_loss": val_loss, "val": scores}
            if not math.isfinite(entry["val_loss"]):
                raise RuntimeError("non-finite validation loss")
            if val_loss < best:
                best, best_state = val_loss, _snapshot(model)
        else:
            model.eval()
            with torch.no_grad():
                val, correct = torch.zeros(len(tasks)), torch.zeros(len(tasks), dtype=torch.long)
                for i in range(0, len(va), bs):
                    out = model({m: v[i: i + bs] for m, v in va.inputs.items()}).predictions
                    yv = [va.targets[t.name][i: i + bs] for t in tasks]
                    val += torch.stack([F.cross_entropy(out[t.name], y) for t, y in zip(tasks, yv)]) * len(yv[0])
                    correct += torch.stack([(out[t.name].argmax(dim=1) == y).sum() for t, y in zip(tasks, yv)])
            history.append({t.name: int(c) / len(va) for t, c in zip(tasks, correct)})  # validation accuracy
            val_loss = float((val / len(va)).mean())
            if val_loss < best:
                best, best_state = val_loss, {k: v.detach().clone() for k, v in model.state_dict().items()}
        ends.append(time.perf_counter() - start)
    model.load_state_dict(best_state)
    ends[-1] = time.perf_counter() - start
    return ends, steps, history, model


def interleaved(sides: dict[str, Callable[[], Run]], repeats: int) -> dict[str, list[Run]]:
    """``repeats`` runs of each side, in rotating order (no drift bias), after one warm-up run of each."""
    for fn in sides.values():
        fn()  # warm-up: first-call costs (the torch._dynamo import of the first optimiser, ...)
    runs: dict[str, list[Run]] = {k: [] for k in sides}
    names = list(sides)
    for i in range(repeats):
        for k in names[i % len(names):] + names[: i % len(names)]:
            runs[k].append(sides[k]())
    return runs


def epochwise_best(runs: list[Run]) -> float:
    """Seconds per step: the sum over epochs of the best time of that epoch, over the runs."""
    per_epoch = [[e - b for b, e in zip([0.0] + ends[:-1], ends)] for ends, *_ in runs]
    return sum(min(times) for times in zip(*per_epoch)) / runs[0][1]


def same_results(a: Run, b: Run) -> bool:
    import torch

    return a[1] == b[1] and a[2] == b[2] and all(torch.equal(v, b[3].state_dict()[k]) for k, v in a[3].state_dict().items())


def step_ratio(repeats: int = 25, epochs: int = 12, profile: bool = False) -> tuple[float, float, float, float]:
    """(c): returns (the per-epoch-minima ratio, the ratio of the best whole runs, the lowest and highest
    ratio of one harness run to the hand run next to it) and prints them, with the control: the
    hand-written loop run a second time as a third side, whose ratio to the first is the noise floor."""
    s = setup(epochs)
    runs = interleaved({"harness": lambda: harness(s), "hand": lambda: by_hand(s),
                        "hand again": lambda: by_hand(s)}, repeats)
    h, b, control = runs["harness"], runs["hand"], runs["hand again"]
    steps = h[-1][1]
    h_epoch, b_epoch = epochwise_best(h), epochwise_best(b)
    h_run, b_run = min(r[0][-1] for r in h) / steps, min(r[0][-1] for r in b) / steps
    pairs = sorted(x[0][-1] / y[0][-1] for x, y in zip(h, b))
    print(f"(c) time per training step, {repeats} runs each, interleaved: harness {h_epoch * 1e3:.3f} ms, "
          f"hand-written loop {b_epoch * 1e3:.3f} ms (best time of each epoch, summed) = {h_epoch / b_epoch:.3f}x;"
          f" best whole runs {h_run * 1e3:.3f} / {b_run * 1e3:.3f} ms = {h_run / b_run:.3f}x; "
          f"harness/hand of each pair of runs: {', '.join(f'{r:.3f}' for r in pairs)}")
    print(f"(c) control, the hand-written loop against itself (the noise floor): {epochwise_best(control) / b_epoch:.3f}x")
    print(f"(c) same per-epoch validation accuracies and final weights on both sides: "
          f"{'yes' if same_results(h[-1], b[-1]) else 'NO'}")
    if profile:  # where the harness's time goes: one more run under cProfile, the top functions by own time
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(harness, s)
        print("(c) profile of one harness run (cProfile; own time, top 25):")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    return h_epoch / b_epoch, h_run / b_run, pairs[0], pairs[-1]


def ablation(repeats: int = 25, epochs: int = 12) -> None:
    """Prints each cumulative variant's time per step, its ratio to the hand-written loop and its increase
    over the row before; the control row (the hand-written loop once more) shows the noise floor."""
    s = setup(epochs)
    sides: dict[str, Callable[[], Run]] = {name: (lambda lv=level: by_hand(s, lv)) for level, name in enumerate(ABLATION)}
    sides = {ABLATION[0]: sides[ABLATION[0]], CONTROL: lambda: by_hand(s, 0)} | sides | {"harness train()": lambda: harness(s)}
    runs = interleaved(sides, repeats)
    base = epochwise_best(runs[ABLATION[0]])
    print(f"(c) ablation, {repeats} runs each, interleaved (per-step time: best time of each epoch, summed):")
    prev = base
    for name, rs in runs.items():
        t = epochwise_best(rs)
        same = same_results(rs[-1], runs[ABLATION[0]][-1])
        print(f"  {name:58s} {t * 1e3:7.3f} ms  {t / base:6.3f}x  step {(t - prev) * 1e6:+7.1f} us"
              f"{'' if same else '  (results differ!)'}")
        prev = base if name == CONTROL else t


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The (c) options, shared with ``bench_grid.py``."""
    parser.add_argument("--repeats", type=int, default=25, help="(c) runs of each side, interleaved (default 25; fewer leave it noise-bound)")
    parser.add_argument("--epochs", type=int, default=12, help="(c) epochs of every run (default 12; no early stopping)")
    parser.add_argument("--profile", action="store_true", help="(c) also print a cProfile of one harness run")
    parser.add_argument("--ablate", action="store_true", help="(c) also add the harness's pieces to the hand loop one by one")


def measure(args: argparse.Namespace) -> float:
    """Figure (c) (and the ablation when asked) from parsed :func:`add_arguments` options; returns the ratio."""
    overhead, whole, low, high = step_ratio(args.repeats, args.epochs, args.profile)
    print(f"(c) harness / hand-written step: {overhead:.3f}x (best whole runs {whole:.3f}x, pairs of runs "
          f"{low:.3f}-{high:.3f}x; target <= 1.05)")
    if args.ablate:
        ablation(args.repeats, args.epochs)
    return overhead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(parser)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"machine: {os.cpu_count()} CPU cores")
    measure(args)


if __name__ == "__main__":
    main()
