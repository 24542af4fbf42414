#!/usr/bin/env python
"""Time and memory of one training step for every registered loss-weighting strategy, against equal weighting
(EW), at T = 3 and T = 40 tasks.

The model is a cell model as the trainer builds it (cached 64-wide features, hard sharing with a
``--layers`` × ``--hidden`` ReLU trunk, one linear head per task; tasks cycle 5-class, regression, 2-class),
and each step is the trainer's own: ``losses_of``, ``mmbench.train.step.backward`` (the path the strategy's
``need`` asks for), the optimiser step, and FAMO's post-step losses. Every Gramian weighting is run twice:
on the Jacobian path and with the Gramian engine (``mmbench.train.gramian_engine``, forced on).

- **time**: ms per step from the fastest of ``--rounds`` rounds of ``--steps`` steps, strategies
  interleaved within each round (the least disturbed by other load; EW is measured in the same rounds);
- **memory**: the peak of tensor memory allocated during one step (after warm-up), tracked exactly by a
  ``TorchDispatchMode`` (every storage an operation creates, until it is freed): deterministic, unlike
  the process's resident set, and what grows with ``T`` × shared parameters on the Jacobian path.

Usage: ``python scripts/bench_weightings.py [--tasks 3,40] [--only upgrad,mgda] [--batch 512 --hidden 512
--layers 3]``. Prints one table per ``T`` and the summary lines, and exits 0.
"""

from __future__ import annotations

import argparse
import copy
import gc
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

import torch
from tabulate import tabulate
from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from mmbench.components.architectures.hps import HardSharing
from mmbench.components.base import Weighting
from mmbench.data.spec import TaskInfo
from mmbench.plugins import get_registry
from mmbench.train.gramian_engine import GramianEngine, applies_to, engine_for
from mmbench.train.loop import SplitTensors, losses_of
from mmbench.train.model import CachedFeatures, CellModel
from mmbench.train.step import backward, batch_stats_kept

#: CAGrad's per-step time may be at most this multiple of PCGrad's (same model, same Jacobian)
CAGRAD_TARGET = 1.2
#: issue #24's goal for UPGrad and MGDA at T = 3, per step relative to EW
GRAMIAN_TARGET = 1.6
FEATURES = 64


class PeakMemory(TorchDispatchMode):
    """The peak bytes of tensor storage created inside the block and still alive (exact, CPU or GPU)."""

    def __init__(self) -> None:
        super().__init__()
        self.live = self.peak = 0
        self.seen: set[int] = set()

    def _freed(self, key: int, size: int) -> None:
        self.live -= size
        self.seen.discard(key)

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for value in tree_flatten(out)[0]:
            if isinstance(value, Tensor):
                storage = value.untyped_storage()
                key = id(storage)
                if key not in self.seen:
                    self.seen.add(key)
                    size = storage.nbytes()
                    self.live += size
                    self.peak = max(self.peak, self.live)
                    weakref.finalize(storage, self._freed, key, size)
        return out


def tasks_of(n: int) -> list[TaskInfo]:
    kinds = [("classification", 5), ("regression", 1), ("classification", 2)]
    return [TaskInfo(f"t{i}", kinds[i % 3][0], kinds[i % 3][1]) for i in range(n)]


def batch_of(tasks: list[TaskInfo], size: int) -> SplitTensors:
    g = torch.Generator().manual_seed(0)
    targets = {t.name: (torch.randint(0, t.out_dim, (size,), generator=g) if t.type == "classification"
                        else torch.randn(size, generator=g)) for t in tasks}
    return SplitTensors({"x": torch.randn(size, FEATURES, generator=g)}, targets)


def model_of(tasks: list[TaskInfo], hidden: int, layers: int) -> CellModel:
    torch.manual_seed(0)
    names = [t.name for t in tasks]
    return CellModel({"x": CachedFeatures(FEATURES)}, tasks, architecture=lambda d: HardSharing(d, names, hidden, layers))


@dataclass
class Run:
    label: str
    weighting: Weighting
    model: CellModel
    engine: GramianEngine | None
    optimizer: torch.optim.Optimizer
    times: list[float] = field(default_factory=list)
    peak_mb: float = 0.0
    passes: int = 0


def step(run: Run, batch: SplitTensors, tasks: list[TaskInfo]) -> int:
    """One training step as :func:`mmbench.train.loop.train` takes it; returns its backward passes."""
    run.optimizer.zero_grad(set_to_none=True)
    fwd = run.model(batch.inputs)
    passes = backward(run.model, fwd, losses_of(fwd, batch.targets, tasks), run.weighting, 1.0, run.engine)
    run.optimizer.step()
    if run.weighting.wants_post_step_losses:
        with torch.no_grad(), batch_stats_kept(run.model):
            run.weighting.after_step(losses_of(run.model(batch.inputs), batch.targets, tasks).detach())
    return passes


def variants(n_tasks: int, wanted: list[str]) -> list[tuple[str, str, dict[str, Any], bool]]:
    """(label, name, options, engine) for every registered weighting that takes ``n_tasks`` tasks."""
    out = []
    for entry in get_registry("weightings"):
        if wanted and entry.name not in wanted and entry.name != "ew":
            continue
        try:
            probe = entry.create(n_tasks, seed=0)
        except ValueError:  # needs more tasks (Krum, the trimmed mean at T < 3)
            continue
        out.append((entry.name, entry.name, {}, False))
        if applies_to(probe):
            out.append((f"{entry.name} (engine)", entry.name, {}, True))
    if not wanted or "mgda" in wanted:
        out.append(("mgda (wrt=representation)", "mgda", {"wrt": "representation"}, False))
    return out


def measure(n_tasks: int, args: argparse.Namespace, wanted: list[str]) -> dict[str, Run]:
    tasks = tasks_of(n_tasks)
    batch = batch_of(tasks, args.batch)
    base = model_of(tasks, args.hidden, args.layers)
    registry = get_registry("weightings")
    runs: dict[str, Run] = {}
    for label, name, options, engine in variants(n_tasks, wanted):
        model = copy.deepcopy(base)
        weighting = registry.create(name, n_tasks, seed=0, **options)
        found = engine_for(model, weighting, mode="always") if engine else None
        opt = torch.optim.SGD(list(model.parameters()) + list(weighting.parameters()), lr=1e-3)
        run = Run(label, weighting, model, found, opt)
        for _ in range(2):  # warm-up (solver set-up, allocator), and the engine's check against J Jᵀ
            run.passes = step(run, batch, tasks)
        if engine and not (found and found.active):
            raise RuntimeError(f"{label}: the Gramian engine was not used ({found.reason if found else 'not applicable'})")
        gc.collect()
        with PeakMemory() as tracker:
            step(run, batch, tasks)
        run.peak_mb = tracker.peak / 2**20
        runs[label] = run
    for _ in range(args.rounds):
        for run in runs.values():
            start = time.perf_counter()
            for _ in range(args.steps):
                step(run, batch, tasks)
            run.times.append((time.perf_counter() - start) / args.steps)
    return runs


def report(n_tasks: int, runs: dict[str, Run], args: argparse.Namespace) -> dict[str, tuple[float, float]]:
    ew = runs["ew"]
    ew_time, ew_mb = min(ew.times), ew.peak_mb
    shared = sum(p.numel() for p in ew.model.shared_parameters())
    rows, ratios = [], {}
    for label, run in runs.items():
        t = min(run.times)
        ratios[label] = (t / ew_time, run.peak_mb / ew_mb)
        path = "engine" if run.engine is not None else ("losses" if run.weighting.need.value == "losses" else "jacobian")
        rows.append([label, run.weighting.need.value, path, run.passes, f"{t * 1e3:.2f}", f"{t / ew_time:.2f}",
                     f"{run.peak_mb:.1f}", f"{run.peak_mb / ew_mb:.2f}"])
    print(f"\nT = {n_tasks} tasks; batch {args.batch}, trunk {FEATURES}-" + "-".join([str(args.hidden)] * args.layers)
          + f" ({shared / 1e6:.2f} M shared parameters), torch {torch.__version__}, {torch.get_num_threads()} "
          f"thread(s), CPU; time: fastest of {args.rounds} rounds of {args.steps} steps")
    print(tabulate(rows, headers=["weighting", "need", "path", "backward passes", "ms/step", "× EW", "peak MB", "mem × EW"],
                   tablefmt="github"))
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="3,40", help="comma-separated numbers of tasks T")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, strategies interleaved; the fastest is reported")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: steadier timings)")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated names (EW is always included)")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    wanted = [n for n in args.only.split(",") if n]
    summary = {}
    for n_tasks in [int(t) for t in args.tasks.split(",") if t]:
        runs = measure(n_tasks, args, wanted)
        summary[n_tasks] = report(n_tasks, runs, args)
        if n_tasks == 3 and "cagrad" in runs and "pcgrad" in runs:
            ratio = min(runs["cagrad"].times) / min(runs["pcgrad"].times)
            print(f"\nCAGrad / PCGrad per-step time: {ratio:.3f} ({'within' if ratio <= CAGRAD_TARGET else 'ABOVE'} "
                  f"the {CAGRAD_TARGET} target)")
    print()
    for name in ("upgrad", "mgda"):
        for n_tasks, ratios in summary.items():
            if name in ratios and f"{name} (engine)" in ratios:
                (jt, jm), (et, em) = ratios[name], ratios[f"{name} (engine)"]
                verdict = f"; target ≤ {GRAMIAN_TARGET}× per step: {'met' if min(jt, et) <= GRAMIAN_TARGET else 'NOT met'}" \
                    if n_tasks == 3 else ""
                print(f"{name} at T = {n_tasks}: Jacobian path {jt:.2f}× EW time, {jm:.2f}× EW memory; engine {et:.2f}× "
                      f"time, {em:.2f}× memory{verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
