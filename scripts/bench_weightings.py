#!/usr/bin/env python
"""Time one training step for every registered loss-weighting strategy, against equal weighting (EW).

The same small model (a shared MLP trunk and one head per task) and the same batch serve every strategy;
each step is forward, the backward path the strategy's ``need`` asks for, and the optimiser step,
served as a trainer does:

- ``losses``: ``combine(losses).backward()`` (1 backward pass); FAMO-style strategies
  (``wants_post_step_losses``) also get the batch's losses after the step (one extra no-grad forward);
- ``param_jacobian``: one ``torch.autograd.grad`` per task over the shared parameters and that task's
  head (T passes), ``aggregate`` the Jacobian, write ``.grad``;
- ``repr_jacobian``: one ``autograd.grad`` per task w.r.t. the trunk output, ``aggregate``, then one
  backward of the aggregate through the trunk (T + 1 passes).

Heads get their task's gradient times ``task_parameter_weights`` (DB-MTL's ``1/L_t``), as the trainer does.

Usage: ``python scripts/bench_weightings.py [--steps 20 --rounds 5 --batch 512 --hidden 512]``.
Prints a table (ms per step from the fastest round, the least disturbed by other load), then the
CAGrad / PCGrad per-step ratio (the target is at most 1.2: CAGrad's solve must cost little next to the
Jacobian both need), and exits 0.
"""

from __future__ import annotations

import argparse
import copy
import time
from typing import Any

import torch
from tabulate import tabulate
from torch import Tensor, nn

from mmbench.components.base import Need, Weighting
from mmbench.plugins import get_registry

N_TASKS = 3
#: CAGrad's per-step time may be at most this multiple of PCGrad's (same model, same Jacobian)
CAGRAD_TARGET = 1.2


class Model(nn.Module):
    def __init__(self, d_in: int, hidden: int, rep: int, n_classes: int = 5):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                   nn.Linear(hidden, rep), nn.ReLU())
        self.heads = nn.ModuleList([nn.Linear(rep, n_classes), nn.Linear(rep, 1), nn.Linear(rep, 1)])

    def task_losses(self, rep: Tensor, batch: dict[str, Tensor]) -> Tensor:
        return torch.stack([
            nn.functional.cross_entropy(self.heads[0](rep), batch["y_class"]),
            nn.functional.mse_loss(self.heads[1](rep).squeeze(1), batch["y_reg"]),
            nn.functional.binary_cross_entropy_with_logits(self.heads[2](rep).squeeze(1), batch["y_bin"]),
        ])


def _write(params: list[nn.Parameter], grads: list[Tensor]) -> None:
    for p, g in zip(params, grads):
        p.grad = g


def step(model: Model, w: Weighting, opt: torch.optim.Optimizer, batch: dict[str, Tensor]) -> None:
    opt.zero_grad(set_to_none=True)
    shared = list(model.trunk.parameters())
    if w.need is Need.LOSSES:
        w.combine(model.task_losses(model.trunk(batch["x"]), batch)).backward()
    elif w.need is Need.PARAM_JACOBIAN:
        losses = model.task_losses(model.trunk(batch["x"]), batch)
        head_w = w.task_parameter_weights(losses.detach())
        rows = []
        for t in range(N_TASKS):
            head = list(model.heads[t].parameters())
            grads = torch.autograd.grad(losses[t], shared + head, retain_graph=t < N_TASKS - 1)
            _write(head, [g if head_w is None else head_w[t] * g for g in grads[len(shared):]])
            rows.append(torch.cat([g.reshape(-1) for g in grads[:len(shared)]]))
        direction = w.aggregate(torch.stack(rows), losses.detach())
        offset = 0
        for p in shared:
            p.grad = direction[offset: offset + p.numel()].view_as(p).clone()
            offset += p.numel()
    else:
        rep = model.trunk(batch["x"])
        leaf = rep.detach().requires_grad_(True)
        losses = model.task_losses(leaf, batch)
        head_w = w.task_parameter_weights(losses.detach())
        rows = []
        for t in range(N_TASKS):
            head = list(model.heads[t].parameters())
            grads = torch.autograd.grad(losses[t], [leaf] + head, retain_graph=t < N_TASKS - 1)
            _write(head, [g if head_w is None else head_w[t] * g for g in grads[1:]])
            rows.append(grads[0].reshape(-1))
        direction = w.aggregate(torch.stack(rows), losses.detach())
        rep.backward(direction.view_as(rep))
    opt.step()
    if w.wants_post_step_losses:
        with torch.no_grad():
            w.after_step(model.task_losses(model.trunk(batch["x"]), batch))


def backward_passes(w: Weighting) -> int:
    if w.backward_passes is not None:
        return w.backward_passes
    return {Need.LOSSES: 1, Need.PARAM_JACOBIAN: N_TASKS, Need.REPR_JACOBIAN: N_TASKS + 1}[w.need]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=7,
                        help="rounds, strategies interleaved; the fastest round is reported (least disturbed)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: steadier timings)")
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--only", default="", help="comma-separated names (EW is always included)")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    batch = {"x": torch.randn(args.batch, 64), "y_class": torch.randint(0, 5, (args.batch,)),
             "y_reg": torch.randn(args.batch), "y_bin": torch.randint(0, 2, (args.batch,)).float()}
    base = Model(64, args.hidden, 128)
    registry = get_registry("weightings")
    wanted = [n for n in args.only.split(",") if n]
    variants: list[tuple[str, str, dict[str, Any]]] = [
        (e.name, e.name, {}) for e in registry if not wanted or e.name in wanted or e.name == "ew"]
    if not wanted or "mgda" in wanted:
        variants.append(("mgda (wrt=representation)", "mgda", {"wrt": "representation"}))

    runs = []
    for label, name, options in variants:
        model = copy.deepcopy(base)
        w = registry.create(name, N_TASKS, seed=0, **options)
        opt = torch.optim.SGD(list(model.parameters()) + list(w.parameters()), lr=1e-3)
        for _ in range(3):  # warm-up (solver set-up, allocator)
            step(model, w, opt, batch)
        runs.append((label, model, w, opt, []))
    for _ in range(args.rounds):
        for label, model, w, opt, times in runs:
            start = time.perf_counter()
            for _ in range(args.steps):
                step(model, w, opt, batch)
            times.append((time.perf_counter() - start) / args.steps)

    ew_time = min(next(r[4] for r in runs if r[0] == "ew"))
    rows = []
    for label, _, w, _, times in runs:
        t = min(times)
        rows.append([label, w.need.value, backward_passes(w), int(w.wants_post_step_losses),
                     f"{t * 1e3:.2f}", f"{t / ew_time:.2f}"])
    print(f"batch {args.batch}, trunk 64-{args.hidden}-{args.hidden}-128, {N_TASKS} tasks, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    print(tabulate(rows, headers=["weighting", "need", "backward passes", "extra forward", "ms/step", "× EW"], tablefmt="github"))
    best = {label: min(times) for label, _, _, _, times in runs}
    if "cagrad" in best and "pcgrad" in best:
        ratio = best["cagrad"] / best["pcgrad"]
        verdict = "within" if ratio <= CAGRAD_TARGET else "ABOVE"
        print(f"\nCAGrad / PCGrad per-step time: {ratio:.3f} ({best['cagrad'] * 1e3:.2f} ms / "
              f"{best['pcgrad'] * 1e3:.2f} ms; {verdict} the {CAGRAD_TARGET} target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
