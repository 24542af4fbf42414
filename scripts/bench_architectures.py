#!/usr/bin/env python
"""Time one training step for every registered multitask architecture, against hard sharing (HPS).

Every architecture sits in a real :class:`~mmbench.train.model.CellModel` (cached features of one
modality → architecture → one linear head per task) and sees the same batch and targets. A step is the
forward pass, :func:`mmbench.train.step.backward` as the trainer calls it, and an Adam step:

- ``ew``: equal weighting, the sum of the task losses (one backward pass);
- a Jacobian strategy (default ``pcgrad``, Yu et al. 2020): one ``autograd.grad`` per task over the
  model's shared and task parameters, aggregated over the shared ones (T passes) — this is where the
  architecture's shared/task split changes the cost.

Usage: ``python scripts/bench_architectures.py [--steps 10 --rounds 5 --batch 512 --in-dim 128 --width 64]``.
Prints a table (ms per step from the fastest round, the least disturbed by other load; ratios to
``hps`` under the same strategy) and exits 0.
"""

from __future__ import annotations

import argparse
import time

import torch
from tabulate import tabulate

from mmbench.components.base import Weighting
from mmbench.data.spec import TaskInfo
from mmbench.plugins import get_registry
from mmbench.train.loop import losses_of
from mmbench.train.model import CachedFeatures, CellModel
from mmbench.train.step import backward

TASKS = [TaskInfo("digit", "classification", 10), TaskInfo("size", "regression", 1), TaskInfo("tags", "multilabel", 5)]


class Run:
    """One (architecture, strategy) pair: its model, optimiser and step times."""

    def __init__(self, arch: str, strategy: str, in_dim: int, width: int):
        torch.manual_seed(0)
        entry = get_registry("architectures").get(arch)
        names = [t.name for t in TASKS]
        self.arch, self.strategy = arch, strategy
        self.model = CellModel({"x": CachedFeatures(in_dim)}, TASKS, trunk_dim=width,
                               architecture=lambda d: entry.create(d, names, width))
        self.weighting: Weighting = get_registry("weightings").create(strategy, len(TASKS), seed=0)
        self.opt = torch.optim.Adam(list(self.model.parameters()) + list(self.weighting.parameters()), lr=1e-3)
        self.times: list[float] = []

    def step(self, batch: dict) -> None:
        self.opt.zero_grad(set_to_none=True)
        fwd = self.model({"x": batch["x"]})
        backward(self.model, fwd, losses_of(fwd, batch, TASKS), self.weighting)
        self.opt.step()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds, runs interleaved; the fastest round is reported (least disturbed)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: steadier timings)")
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--in-dim", type=int, default=128, help="fused feature width")
    parser.add_argument("--width", type=int, default=64, help="training.trunk_dim")
    parser.add_argument("--strategies", default="ew,pcgrad", help="comma-separated weightings (first: loss-only)")
    parser.add_argument("--only", default="", help="comma-separated architectures (hps is always included)")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    batch = {"x": torch.randn(args.batch, args.in_dim, generator=g),
             "digit": torch.randint(0, 10, (args.batch,), generator=g),
             "size": torch.randn(args.batch, generator=g),
             "tags": torch.randint(0, 2, (args.batch, 5), generator=g).float()}
    wanted = [n for n in args.only.split(",") if n]
    archs = [e.name for e in get_registry("architectures") if not wanted or e.name in wanted or e.name == "hps"]
    strategies = [s for s in args.strategies.split(",") if s]
    runs = [Run(a, s, args.in_dim, args.width) for a in archs for s in strategies]
    for run in runs:
        for _ in range(3):  # warm-up (allocator, solver set-up)
            run.step(batch)
    for _ in range(args.rounds):
        for run in runs:
            start = time.perf_counter()
            for _ in range(args.steps):
                run.step(batch)
            run.times.append((time.perf_counter() - start) / args.steps)

    best = {(r.arch, r.strategy): min(r.times) for r in runs}
    rows = []
    for arch in archs:
        model = next(r.model for r in runs if r.arch == arch)
        cells = []
        for s in strategies:
            cells += [f"{best[arch, s] * 1e3:.2f}", f"{best[arch, s] / best['hps', s]:.2f}"]
        arch_module = model.architectures["fused"]
        rows.append([arch, sum(p.numel() for p in arch_module.parameters()),
                     sum(p.numel() for p in arch_module.shared_parameters()),
                     "yes" if arch_module.has_shared_representation else "no", *cells])
    headers = ["architecture", "params", "shared params", "shared repr."]
    for s in strategies:
        headers += [f"{s} ms/step", f"{s} × hps"]
    print(f"batch {args.batch}, in_dim {args.in_dim}, width {args.width}, {len(TASKS)} tasks, default options, "
          f"Adam, torch {torch.__version__}, {torch.get_num_threads()} thread(s), CPU; fastest of {args.rounds} rounds")
    print(tabulate(rows, headers=headers, tablefmt="github"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
