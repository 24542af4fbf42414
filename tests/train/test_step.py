"""The training step, checked against closed forms: every parameter after the shared representation
gets its gradient (late-weighted fusion's modality logits), the alignment loss keeps one relative weight
under every strategy, task-specific parameters get the strategy's factor, and gradient clipping."""

from __future__ import annotations

import torch
from torch import nn

from mmbench.components.base import AlignerOutput, Aligner, JacobianAggregator, JacobianWeighting
from mmbench.data.spec import TaskInfo
from mmbench.plugins import get_registry
from mmbench.train.model import CachedFeatures, CellModel
from mmbench.train.step import backward

TASKS = [TaskInfo("t0", "classification", 3), TaskInfo("t1", "regression", 1)]


def _model(fuser: str = "concat", aligner: Aligner | None = None) -> CellModel:
    torch.manual_seed(0)
    encoders = {"a": CachedFeatures(4), "b": CachedFeatures(5)}
    dims = aligner.out_dims if aligner is not None else {"a": 4, "b": 5}
    return CellModel(encoders, TASKS, aligner, get_registry("fusers").create(fuser, dims), trunk_dim=6)


def _batch() -> tuple[dict, dict]:
    g = torch.Generator().manual_seed(1)
    x = {"a": torch.randn(8, 4, generator=g), "b": torch.randn(8, 5, generator=g)}
    y = {"t0": torch.randint(0, 3, (8,), generator=g), "t1": torch.randn(8, generator=g)}
    return x, y


def _losses(model: CellModel, x: dict, y: dict) -> tuple[object, torch.Tensor]:
    fwd = model(x)
    losses = torch.stack([nn.functional.cross_entropy(fwd.predictions["t0"], y["t0"]),
                          nn.functional.mse_loss(fwd.predictions["t1"].reshape(-1), y["t1"])])
    return fwd, losses


def test_representation_strategies_update_parameters_after_the_representation():
    model = _model("late-weighted")
    x, y = _batch()
    fwd, losses = _losses(model, x, y)
    mgda = get_registry("weightings").create("mgda", 2, wrt="representation")
    backward(model, fwd, losses, mgda)
    logits = model.fuser.logits
    assert logits.grad is not None and logits.grad.abs().sum() > 0  # was None: late-weighted became a plain mean
    # the logits get exactly the gradient of the summed task losses (they lie after the representation)
    got = logits.grad.clone()
    _, again = _losses(model, x, y)
    (expected,) = torch.autograd.grad(again.sum(), [logits])
    assert torch.allclose(got, expected, atol=1e-6)


class _Halving(JacobianWeighting):
    """A test strategy: weights 0.5 each (sum 1), so the update is 0.5 · Σ rows."""

    def jacobian_weights(self, jacobian, losses):
        return torch.full((self.n_tasks,), 0.5)


class _ConstantAligner(Aligner):
    """Identity features plus an alignment loss c · ‖W‖² on its own parameter."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(3))
        self.out_dims = {"a": 4, "b": 5}

    def forward(self, features):
        return AlignerOutput(dict(features), (self.w ** 2).sum())


def test_alignment_weight_is_relative_to_the_mean_task_weight():
    x, y = _batch()
    grads = {}
    for name, make in (("ew", lambda: get_registry("weightings").create("ew", 2)), ("halving", lambda: _Halving(2))):
        model = _model("concat", _ConstantAligner())
        fwd, losses = _losses(model, x, y)
        backward(model, fwd, losses, make(), align_weight=0.3)
        grads[name] = model.aligner.w.grad.clone()
    # d/dw (w²).sum() = 2w = 2; EW: mean weight 1 → 0.3 · 2; weights summing to 1 (mean 0.5) → 0.3 · 0.5 · 2
    assert torch.allclose(grads["ew"], torch.full((3,), 0.6))
    assert torch.allclose(grads["halving"], torch.full((3,), 0.3))


class _LogHeads(_Halving):
    def task_parameter_weights(self, losses):
        return 1.0 / losses


def test_task_parameter_weights_scale_each_task_gradient_on_its_own_parameters():
    x, y = _batch()
    model = _model()
    fwd, losses = _losses(model, x, y)
    backward(model, fwd, losses, _LogHeads(2))
    head = model.heads["t1"]["fused"].weight
    model2 = _model()
    _, l2 = _losses(model2, x, y)
    (plain,) = torch.autograd.grad(l2[1], [model2.heads["t1"]["fused"].weight])
    assert torch.allclose(head.grad, plain / l2[1].detach(), atol=1e-6)


def test_grad_clip_bounds_the_update(write_grid, tmp_path):
    from mmbench.grid.config import load_config
    from mmbench.grid.runner import run_grid
    from mmbench.store import ResultStore

    moved = {}
    for clip in (0.0, 1e-6):
        training = {"epochs": 2, "batch_size": 64, "patience": 5, "grad_clip": clip, "lr": 0.1, "optimizer": "sgd"}
        grid = write_grid(tmp_path / f"g{clip}.yaml", training=training, families=["st-sm"], tasks=["redundant"], modalities=["a"])
        assert run_grid(load_config(grid), tmp_path / f"run{clip}").ok == 1
        with ResultStore(tmp_path / f"run{clip}") as store:
            (row,) = store.rows()
        history = row.result["history"]
        moved[clip] = abs(history[0]["val_loss"] - history[-1]["val_loss"])
    assert moved[1e-6] < 1e-3 < moved[0.0]  # SGD with tiny clipped gradients barely moves


class _NormedFeatures(CachedFeatures):
    """Cached features through a batch norm: a model with running statistics, as the `cnn` encoder has."""

    def __init__(self, dim: int):
        super().__init__(dim)
        self.norm = nn.BatchNorm1d(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)


def test_famos_post_step_forward_does_not_move_batch_norm_statistics():
    """FAMO scores the batch again after each update (in training mode): that pass must not count as a
    batch for batch norm, or FAMO cells would evaluate with other running statistics than EW's."""
    from mmbench.grid.config import DEFAULT_TRAINING
    from mmbench.train.loop import SplitTensors, train

    x, y = _batch()
    data = SplitTensors(x, y)
    training = DEFAULT_TRAINING | {"epochs": 1, "batch_size": 4}
    stats = {}
    for name in ("ew", "famo"):
        torch.manual_seed(0)
        encoders = {"a": _NormedFeatures(4), "b": CachedFeatures(5)}
        model = CellModel(encoders, TASKS, None, get_registry("fusers").create("concat", {"a": 4, "b": 5}), trunk_dim=6)
        weighting = get_registry("weightings").create(name, len(TASKS), seed=0)
        assert weighting.wants_post_step_losses == (name == "famo")
        train(model, weighting, data, data, TASKS, training, 0, torch.device("cpu"))
        norm = model.encoders["a"].norm
        stats[name] = (int(norm.num_batches_tracked), norm.running_mean.clone())
    assert stats["famo"][0] == stats["ew"][0] == 2  # two steps, two batches counted
    assert not torch.allclose(stats["famo"][1], torch.zeros(4))


def test_batch_stats_kept_restores_every_buffer():
    from mmbench.train.step import batch_stats_kept

    norm = nn.BatchNorm1d(3).train()
    before = {k: v.clone() for k, v in norm.named_buffers()}
    with batch_stats_kept(norm):
        norm(torch.randn(5, 3) + 4)
        assert not torch.equal(norm.running_mean, before["running_mean"])
    assert all(torch.equal(v, before[k]) for k, v in norm.named_buffers())


class _Summed(JacobianAggregator):
    """A test aggregator: the plain sum of the rows, not presented as a weighting."""

    def aggregate(self, jacobian, losses):
        return jacobian.sum(dim=0)


def test_a_non_weighted_aggregator_records_no_weights_and_keeps_the_alignment_weight():
    from mmbench.train.step import checked_weights

    x, y = _batch()
    model = _model("concat", _ConstantAligner())
    fwd, losses = _losses(model, x, y)
    summed = _Summed(2)
    backward(model, fwd, losses, summed, align_weight=0.3)
    assert summed.last_weights is None and checked_weights(summed) is None  # results: no task weights
    assert torch.allclose(model.aligner.w.grad, torch.full((3,), 0.6))  # align_weight × 1, as under EW
    trunk = _model("concat")
    fwd3, losses3 = _losses(trunk, x, y)
    backward(trunk, fwd3, losses3, _Summed(2))
    sum_model = _model("concat")
    _, plain = _losses(sum_model, x, y)
    plain.sum().backward()
    for p, q in zip(trunk.parameters(), sum_model.parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-6)  # the aggregate is the update: here the plain sum
