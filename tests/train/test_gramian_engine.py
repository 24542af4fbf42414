"""The Gramian engine (torchjd's autogram) against the Jacobian path: the same update within 1e-5, where it
applies, and the Jacobian path where it does not."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from mmbench import GramianWeighting
from mmbench.data.spec import TaskInfo
from mmbench.plugins import get_registry
from mmbench.train.gramian_engine import GramianEngine, engine_for, gramian_checked, shared_modules
from mmbench.train.loop import SplitTensors, losses_of, train
from mmbench.train.model import CachedFeatures, CellModel
from mmbench.train.step import backward

TASKS = [TaskInfo("t0", "classification", 3), TaskInfo("t1", "regression", 1), TaskInfo("t2", "classification", 2)]
GRAMIAN = ["upgrad", "mgda", "cagrad", "imtl-g", "pcgrad", "aligned-mtl", "dualproj", "fairgrad", "cr-mogm", "krum"]


def _model(aligner: str | None = "projection", fuser: str = "concat") -> CellModel:
    torch.manual_seed(0)
    encoders = {"a": _Trained(4), "b": CachedFeatures(5)}
    made = get_registry("aligners").create(aligner, {"a": 4, "b": 5}, dim=6) if aligner else None
    dims = made.out_dims if made is not None else {"a": 4, "b": 5}
    return CellModel(encoders, TASKS, made, get_registry("fusers").create(fuser, dims), trunk_dim=7)


class _Trained(CachedFeatures):
    """A trainable encoder: a linear layer on its features."""

    frozen = False

    def __init__(self, out_dim: int):
        super().__init__(out_dim)
        self.linear = nn.Linear(out_dim, out_dim)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features)


def _batch(n: int = 16) -> tuple[dict, dict]:
    g = torch.Generator().manual_seed(1)
    x = {"a": torch.randn(n, 4, generator=g), "b": torch.randn(n, 5, generator=g)}
    y = {"t0": torch.randint(0, 3, (n,), generator=g), "t1": torch.randn(n, generator=g),
         "t2": torch.randint(0, 2, (n,), generator=g)}
    return x, y


def _grads(model: CellModel, name: str, engine: GramianEngine | None, steps: int = 2) -> list[list[torch.Tensor]]:
    weighting = get_registry("weightings").create(name, len(TASKS), seed=0)
    x, y = _batch()
    out = []
    for _ in range(steps):  # the first step verifies the engine against J Jᵀ, the second relies on it
        model.zero_grad(set_to_none=True)
        fwd = model(x)
        backward(model, fwd, losses_of(fwd, y, TASKS), weighting, 0.5, engine)
        out.append([p.grad.clone() for p in model.parameters() if p.requires_grad])
    return out


@pytest.mark.parametrize("name", GRAMIAN)
def test_the_engine_gives_the_jacobian_paths_update(name):
    jacobian_path = _grads(_model(), name, None)
    model = _model()
    engine = engine_for(model, get_registry("weightings").create(name, 3), mode="always")
    assert engine is not None
    engine_path = _grads(model, name, engine)
    assert engine.verified and engine.active
    for step_j, step_e in zip(jacobian_path, engine_path):
        for a, b in zip(step_j, step_e):
            assert torch.allclose(a, b, atol=1e-5, rtol=1e-5), name
    engine.close()


def test_the_engine_keeps_head_factors_and_the_alignment_loss():
    class _LogHeads(GramianWeighting):  # heads get the log-loss gradient, as DB-MTL's do
        def gramian_weights(self, gramian, losses):
            return torch.softmax(-gramian.diagonal(), dim=0)

        def task_parameter_weights(self, losses):
            return 1 / losses

    x, y = _batch()
    grads = []
    for mode in ("never", "always"):
        model = _model("vsepp")  # an alignment loss (InfoNCE's own logit scale is a direct parameter of a module
        #                          returning AlignerOutput, which the engine cannot follow: it falls back, see below)
        engine = engine_for(model, _LogHeads(3), mode=mode)
        model.zero_grad()
        fwd = model(x)
        assert fwd.align_loss is not None
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # the engine is used, never given up
            backward(model, fwd, losses_of(fwd, y, TASKS), _LogHeads(3), 0.3, engine)
        assert mode == "never" or engine.verified
        grads.append([p.grad for p in model.parameters() if p.requires_grad])
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-5)


def test_where_the_engine_applies():
    model, make = _model(), get_registry("weightings").create
    assert engine_for(model, make("upgrad", 3), mode="always") is not None
    assert engine_for(model, make("upgrad", 3), mode="never") is None
    assert engine_for(model, make("upgrad", 3), mode="auto") is None  # a small Jacobian: the faster Jacobian path
    assert engine_for(model, make("upgrad", 3, wrt="representation"), mode="always") is None
    for name in ("ew", "nash-mtl", "graddrop", "gradnorm", "config", "excess-mtl"):  # not weights of G alone
        assert engine_for(model, make(name, 3), mode="always") is None, name
    assert engine_for(model, None, mode="always") is None
    assert {id(p) for m in shared_modules(model) for p in m.parameters()} == {id(p) for p in model.shared_parameters()}


def test_a_module_the_engine_cannot_follow_falls_back_to_the_jacobian_path():
    class _Sneaky(CachedFeatures):  # uses its child's parameters without calling it: torchjd's documented limit
        frozen = False

        def __init__(self, out_dim):
            super().__init__(out_dim)
            self.linear = nn.Linear(out_dim, out_dim)

        def forward(self, features):
            return features @ self.linear.weight.T + self.linear.bias

    def model():
        torch.manual_seed(0)
        return CellModel({"a": _Sneaky(4), "b": CachedFeatures(5)}, TASKS, None,
                         get_registry("fusers").create("concat", {"a": 4, "b": 5}), trunk_dim=7)

    expected = _grads(model(), "upgrad", None)
    sneaky = model()
    engine = engine_for(sneaky, get_registry("weightings").create("upgrad", 3), mode="always")
    with pytest.warns(RuntimeWarning, match="Gramian engine not used"):
        got = _grads(sneaky, "upgrad", engine)
    assert not engine.active and "differs from J" in engine.reason
    for step_j, step_e in zip(expected, got):
        for a, b in zip(step_j, step_e):
            assert torch.allclose(a, b, atol=1e-6)


def test_training_with_the_engine_matches_the_jacobian_path(monkeypatch):
    x, y = _batch(24)
    data = SplitTensors(x, y)
    training = {"optimizer": "adam", "lr": 0.01, "weight_decay": 0.0, "batch_size": 8, "epochs": 2, "patience": 5,
                "align_weight": 0.5}
    results = {}
    for mode in ("never", "always"):
        monkeypatch.setenv("MMBENCH_GRAMIAN_ENGINE", mode)
        model = _model()
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # the engine is used, never given up
            report = train(model, get_registry("weightings").create("upgrad", 3), data, data, TASKS, training, 0,
                           torch.device("cpu"))
        results[mode] = (report, [p.detach().clone() for p in model.parameters()])
        assert not any(m._forward_hooks for m in model.modules())  # the engine's hooks left the model
    (plain, p_params), (engine, e_params) = results["never"], results["always"]
    assert plain.backward_passes == engine.backward_passes - plain.steps  # T + 1 passes a step instead of T
    for a, b in zip(plain.history, engine.history):
        assert a["train_losses"] == pytest.approx(b["train_losses"], rel=1e-4)
    for a, b in zip(p_params, e_params):
        assert torch.allclose(a, b, atol=1e-4)
    monkeypatch.setenv("MMBENCH_GRAMIAN_ENGINE", "sometimes")
    with pytest.raises(ValueError, match="MMBENCH_GRAMIAN_ENGINE"):
        engine_for(_model(), get_registry("weightings").create("upgrad", 3))


def test_the_first_step_check_tells_the_gramian_from_a_wrong_one():
    model = _model()
    x, y = _batch()
    fwd = model(x)
    losses = losses_of(fwd, y, TASKS)
    shared = model.shared_parameters()
    rows = [torch.cat([g.reshape(-1) for g in torch.autograd.grad(losses[t], shared, retain_graph=True)]) for t in range(3)]
    jac = torch.stack(rows)
    assert gramian_checked(jac @ jac.T, losses, shared)
    missing = jac[:, : jac.shape[1] // 2]  # half the shared parameters left out, as a module the engine missed
    assert not gramian_checked(missing @ missing.T, losses, shared)
    assert not gramian_checked(1.001 * jac @ jac.T, losses, shared)
