"""Built-in architectures: the mmbench contract on every one, plus each method's defining property."""

from __future__ import annotations

import inspect
import json

import pytest
import torch
from torch import Tensor, nn

from mmbench.components.architectures.cross_stitch import CrossStitch, near_identity
from mmbench.components.architectures.dselect_k import DSelectK, binary_codes, smooth_step
from mmbench.components.architectures.experts import ExpertBank
from mmbench.components.architectures.hps import HardSharing
from mmbench.components.architectures.mmoe import MMoE
from mmbench.components.architectures.mtan import MTAN
from mmbench.components.architectures.ple import CGC, PLE
from mmbench.components.base import Architecture, ArchitectureOutput
from mmbench.plugins import get_registry
from mmbench.plugins.metadata import check_search_space
from mmbench.plugins.options import options_signature, resolve_options, target
from mmbench.testing import ContractError, check_architecture

PLUGIN = "mmbench.components.architectures"
BUILTINS = [e for e in get_registry("architectures") if e.plugin == PLUGIN]
EXPECTED = {"hps", "mmoe", "cgc", "ple", "dselect-k", "cross-stitch", "mtan"}
TASKS = ["a", "b", "c"]


def _x(batch: int = 5, dim: int = 10, seed: int = 0) -> Tensor:
    return torch.randn(batch, dim, generator=torch.Generator().manual_seed(seed))


# --- registration and the contract ----------------------------------------------------------------

def test_every_expected_architecture_is_registered_with_metadata() -> None:
    assert {e.name for e in BUILTINS} == EXPECTED
    for e in BUILTINS:
        assert e.description and e.metadata.get("reference")
        assert json.dumps(e.as_dict())  # what `mmbench list --json` prints


@pytest.mark.parametrize("entry", BUILTINS, ids=lambda e: e.name)
def test_signature_and_search_space(entry) -> None:
    params = list(inspect.signature(target(entry)).parameters.values())
    assert [p.name for p in params[:3]] == ["in_dim", "tasks", "width"]
    options, var_kw = options_signature(entry)
    assert not var_kw and all(p.default is not p.empty for p in options.values())
    defaults = {k: p.default for k, p in options.items()}
    assert resolve_options(entry, {}) == defaults  # JSON-serialisable defaults, unchanged by the round trip
    space = entry.metadata["search_space"]
    assert check_search_space(space) is None and space and set(space) <= set(options)
    for name, spec in space.items():
        assert defaults[name] in spec["choices"] if "choices" in spec else spec["low"] <= defaults[name] <= spec["high"]
    assert target(entry).has_shared_representation is (entry.name in ("hps", "mtan"))


@pytest.mark.parametrize("entry", BUILTINS, ids=lambda e: e.name)
def test_contract(entry) -> None:
    check_architecture(entry.factory)  # three tasks and one


@pytest.mark.parametrize("factory, options", [
    (HardSharing, {"width": 0}), (HardSharing, {"layers": 3}), (MMoE, {"num_experts": 1}),
    (PLE, {"levels": 3, "shared_experts": 1, "task_experts": 2}), (DSelectK, {"num_experts": 5, "k": 1}),
    (DSelectK, {"num_experts": 3, "k": 3, "gamma": 0.5}), (CrossStitch, {"layers": 3}),
    (MTAN, {"layers": 2, "attention_dim": 3}),
], ids=lambda v: getattr(v, "__name__", str(v)))
def test_contract_options(factory, options) -> None:
    check_architecture(factory, tasks=("x", "y"), **options)


@pytest.mark.parametrize("entry", [e for e in BUILTINS if e.name != "hps"], ids=lambda e: e.name)
def test_width_zero_only_for_hard_sharing(entry) -> None:
    with pytest.raises(ValueError, match="width=0.*only by 'hps'"):
        entry.create(10, TASKS, 0)


def test_parameter_counts() -> None:  # golden: in_dim 10, width 8, three tasks, default options
    counts = {e.name: sum(p.numel() for p in e.create(10, TASKS, 8).parameters()) for e in BUILTINS}
    assert counts == {"hps": 88, "mmoe": 484, "cgc": 539, "ple": 1035, "dselect-k": 550, "cross-stitch": 273,
                      "mtan": 520}


# --- goldens -------------------------------------------------------------------------------------

def test_expert_bank_is_n_linear_relu_layers() -> None:
    bank, x = ExpertBank(10, 4, 3), _x()
    per_input = torch.stack([torch.randn(5, 10, generator=torch.Generator().manual_seed(i)) for i in range(3)], 1)
    for e in range(3):
        def layer(v: Tensor, e: int = e) -> Tensor:
            return torch.relu(nn.functional.linear(v, bank.weight[e], bank.bias[e]))

        assert torch.allclose(bank(x)[:, e], layer(x), atol=1e-6)
        assert torch.allclose(bank(per_input)[:, e], layer(per_input[:, e]), atol=1e-6)


def test_mmoe_gate_with_fixed_logits_mixes_experts() -> None:
    torch.manual_seed(0)
    arch, x = MMoE(10, TASKS, 6, num_experts=3), _x()
    logits = {"a": [0.0, 0.0, 0.0], "b": [2.0, 0.0, -1.0], "c": [0.0, 50.0, 0.0]}
    with torch.no_grad():
        for t, lg in logits.items():
            arch.gates[t].weight.zero_()
            arch.gates[t].bias.copy_(torch.tensor(lg))
    experts = [torch.relu(x @ arch.experts.weight[e].T + arch.experts.bias[e]) for e in range(3)]
    out = arch(x).tasks
    assert torch.allclose(out["a"], sum(experts) / 3, atol=1e-6)
    w = torch.tensor([2.0, 0.0, -1.0]).exp()
    w = w / w.sum()  # softmax([2, 0, -1]) = [0.8438, 0.1142, 0.0420]
    assert torch.allclose(w, torch.tensor([0.84379473, 0.11419519, 0.04201007]), atol=1e-7)
    assert torch.allclose(out["b"], sum(wi * e for wi, e in zip(w, experts)), atol=1e-6)
    assert torch.allclose(out["c"], experts[1], atol=1e-6)


def test_mmoe_with_one_expert_equals_hard_sharing() -> None:
    mmoe, hps, x = MMoE(10, TASKS, 6, num_experts=1), HardSharing(10, TASKS, 6), _x()
    assert not list(mmoe.gates.parameters()) and not mmoe.task_parameters("a")  # a 1-way softmax is 1
    with torch.no_grad():
        hps.trunk[0].weight.copy_(mmoe.experts.weight[0])
        hps.trunk[0].bias.copy_(mmoe.experts.bias[0])
    want = hps(x)
    for t, rep in mmoe(x).tasks.items():
        assert torch.allclose(rep, want.tasks[t], atol=1e-6)


def test_ple_with_one_level_equals_cgc() -> None:
    torch.manual_seed(3)
    cgc = CGC(10, TASKS, 6, shared_experts=2, task_experts=2)
    torch.manual_seed(4)
    ple = PLE(10, TASKS, 6, levels=1, shared_experts=2, task_experts=2)
    x = _x()
    assert ple.layers[0].shared_gate is None
    ple.layers[0].load_state_dict(cgc.layer.state_dict())
    got, want = ple(x).tasks, cgc(x).tasks
    assert all(torch.equal(got[t], want[t]) for t in TASKS)
    assert [n for n, _ in ple.named_parameters()] == ["layers.0." + n for n, _ in cgc.layer.named_parameters()]
    assert {id(p) for p in ple.task_parameters("b")} == {id(p) for p in ple.layers[0].own["b"].parameters()} | {
        id(p) for p in ple.layers[0].gates["b"].parameters()}


def test_ple_shared_gate_feeds_next_level() -> None:
    torch.manual_seed(0)
    ple, x = PLE(10, ["a", "b"], 4, levels=2, shared_experts=1, task_experts=1), _x()
    first, second = ple.layers
    shared_all = torch.cat([first.shared(x), first.own["a"](x), first.own["b"](x)], dim=1)
    shared_in = (torch.softmax(first.shared_gate(x), -1).unsqueeze(-1) * shared_all).sum(1)
    a_in = (torch.softmax(first.gates["a"](x), -1).unsqueeze(-1) * shared_all[:, [0, 1]]).sum(1)
    a_all = torch.cat([second.shared(shared_in), second.own["a"](a_in)], dim=1)
    a_out = (torch.softmax(second.gates["a"](a_in), -1).unsqueeze(-1) * a_all).sum(1)
    assert torch.allclose(ple(x).tasks["a"], a_out, atol=1e-6)


def test_smooth_step_and_codes() -> None:
    t = torch.tensor([-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0])
    assert torch.allclose(smooth_step(t, 1.0), torch.tensor([0.0, 0.0, 0.15625, 0.5, 0.84375, 1.0, 1.0]))
    assert torch.allclose(smooth_step(2 * t, 2.0), smooth_step(t, 1.0))  # S_γ(γs) = S_1(s)
    assert binary_codes(5).int().tolist() == [[0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1], [1, 0, 0]]
    assert binary_codes(2).int().tolist() == [[0], [1]]


def _force(arch: DSelectK, task: str, experts: list[int], mix_logits: list[float]) -> None:
    """Saturate selector ``i`` on expert ``experts[i]`` (biases ±γ, weights 0); fixed mixer logits."""
    codes = arch.codes.float()
    with torch.no_grad():
        arch.selectors[task].weight.zero_()
        arch.selectors[task].bias.copy_(torch.cat([(2 * codes[e] - 1) * arch.gamma for e in experts]))
        if arch.k > 1:
            arch.mixers[task].weight.zero_()
            arch.mixers[task].bias.copy_(torch.tensor(mix_logits))


def test_dselect_k_forced_selector_picks_that_expert() -> None:
    torch.manual_seed(0)
    arch, x = DSelectK(10, TASKS, 6, num_experts=4, k=2, gamma=0.7), _x()
    _force(arch, "a", [2, 2], [0.3, -1.0])
    _force(arch, "b", [0, 3], [0.0, 0.0])
    experts = arch.experts(x)
    out = arch(x).tasks
    assert torch.allclose(arch.gate("a", x), torch.tensor([[0.0, 0.0, 1.0, 0.0]]).expand(5, 4), atol=1e-6)
    assert torch.allclose(out["a"], experts[:, 2], atol=1e-6)
    assert torch.allclose(out["b"], (experts[:, 0] + experts[:, 3]) / 2, atol=1e-6)


def test_dselect_k_not_power_of_two_renormalises() -> None:
    torch.manual_seed(0)
    arch, x = DSelectK(10, TASKS, 6, num_experts=3, k=1), _x()
    assert torch.allclose(arch.gate("a", x).sum(-1), torch.ones(5), atol=1e-6)
    _force(arch, "b", [1], [])
    assert torch.allclose(arch(x).tasks["b"], arch.experts(x)[:, 1], atol=1e-6)


def test_cross_stitch_units_start_near_identity() -> None:
    assert torch.allclose(near_identity(3, 0.9), torch.tensor([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]]))
    assert torch.equal(near_identity(1, 0.9), torch.ones(1, 1))
    assert all(torch.equal(u, near_identity(3, 0.9)) for u in CrossStitch(10, TASKS, 6, layers=2).units)


def test_cross_stitch_with_identity_units_equals_independent_towers() -> None:
    torch.manual_seed(0)
    arch, x = CrossStitch(10, TASKS, 6, layers=3), _x()
    with torch.no_grad():
        for unit in arch.units:
            unit.copy_(torch.eye(3))
    out = arch(x).tasks
    for t in TASKS:
        tower = nn.Sequential(*[arch.columns[layer][t] for layer in range(3)])
        assert torch.allclose(out[t], tower(x), atol=1e-6)


def test_mtan_masks_the_shared_features() -> None:
    torch.manual_seed(0)
    arch, x = MTAN(10, TASKS, 6), _x()
    with torch.no_grad():
        arch.attention["a"][2].weight.zero_()
        arch.attention["a"][2].bias.fill_(50.0)  # mask σ(50) = 1: the trunk output itself
    out = arch(x)
    assert out.shared is not None and torch.allclose(out.tasks["a"], out.shared, atol=1e-6)
    assert torch.all(out.tasks["b"] <= out.shared) and torch.all(out.tasks["b"] >= 0)


def test_hard_sharing_numerics_unchanged() -> None:  # golden: the trunk is built first, as before
    torch.manual_seed(0)
    arch = HardSharing(4, ["a"], 3)
    torch.manual_seed(0)
    layer = nn.Linear(4, 3)
    assert torch.equal(arch.trunk[0].weight, layer.weight) and isinstance(arch.trunk[1], nn.ReLU)


# --- the check catches broken architectures ------------------------------------------------------

class _ListExperts(Architecture):
    """Experts kept in a plain Python list: never registered, so never trained or moved."""

    def __init__(self, in_dim, tasks, width=8):
        super().__init__(tasks)
        self.experts = [nn.Linear(in_dim, width) for _ in range(2)]
        self.gates = nn.ModuleDict({t: nn.Linear(in_dim, 2) for t in self.task_names})
        self.out_dim = width

    def forward(self, x):
        experts = torch.stack([torch.relu(e(x)) for e in self.experts], dim=1)
        return ArchitectureOutput({t: (torch.softmax(self.gates[t](x), -1).unsqueeze(-1) * experts).sum(1)
                                   for t in self.task_names})

    def task_parameters(self, task):
        return list(self.gates[task].parameters())


class _GatesShared(MMoE):
    """Forgets to declare the gates as task parameters (the default puts them in shared)."""

    def task_parameters(self, task):
        return []


class _WrongOwner(PLE):
    """Declares the first level's task experts as task parameters, but the shared gate carries them to all."""

    def task_parameters(self, task):
        return super().task_parameters(task) + list(self.layers[0].own[task].parameters())


class _Twice(MMoE):
    def shared_parameters(self):
        return list(self.parameters())


class _SkipConnection(HardSharing):
    """Claims the trunk output as the shared representation, but the input also skips past it."""

    def forward(self, x):
        out = super().forward(x)
        return ArchitectureOutput({t: r + x[:, : r.shape[1]] for t, r in out.tasks.items()}, out.shared)


class _NoShared(HardSharing):
    def forward(self, x):
        return ArchitectureOutput(super().forward(x).tasks)


class _MissingTask(HardSharing):
    def forward(self, x):
        out = super().forward(x)
        return ArchitectureOutput({t: out.tasks[t] for t in self.task_names[:1]}, out.shared)


class _DeadGate(MMoE):
    def forward(self, x):
        experts = self.experts(x)
        return ArchitectureOutput({t: experts.mean(1) for t in self.task_names})


class _Unseeded(HardSharing):
    def forward(self, x):
        out = super().forward(x)
        noise = torch.from_numpy(__import__("numpy").random.rand(*out.shared.shape)).float()
        return ArchitectureOutput({t: r + noise for t, r in out.tasks.items()}, out.shared)


class _PlainTensor(HardSharing):
    def __init__(self, in_dim, tasks, width=8):
        super().__init__(in_dim, tasks, width)
        self.proj = torch.eye(width)  # a fixed projection, not a buffer: stays float32 (and on the CPU)

    def forward(self, x):
        out = super().forward(x)
        return ArchitectureOutput({t: r @ self.proj for t, r in out.tasks.items()}, out.shared)


class _NotAnArchitecture(nn.Module):
    def __init__(self, in_dim, tasks, width):
        super().__init__()


@pytest.mark.parametrize("factory, message", [
    (_ListExperts, "plain list"),
    (_GatesShared, "shared but only the loss of task 'a'"),
    (_WrongOwner, r"declared task_parameters\('a'\) but the losses of \['b', 'c'\]"),
    (_Twice, "is in both"),
    (_SkipConnection, "depend on the input other than through shared"),
    (_NoShared, "has_shared_representation is True"),
    (_MissingTask, "expected exactly"),
    (_DeadGate, "gates.a.weight' receives no gradient"),
    (_Unseeded, "two runs under the same seed differ"),
    (_PlainTensor, "float64"),
    (_NotAnArchitecture, "not an mmbench Architecture"),
], ids=lambda v: getattr(v, "__name__", "msg"))
def test_check_catches_broken_architectures(factory, message) -> None:
    with pytest.raises(ContractError, match=message):
        check_architecture(factory)


def test_base_class_defaults() -> None:
    arch = HardSharing(4, ["a", "b"], 3)
    assert isinstance(arch, Architecture) and arch.task_parameters("a") == []
    assert {id(p) for p in arch.shared_parameters()} == {id(p) for p in arch.parameters()}


def test_cross_stitch_identity_start_is_reported_single_task() -> None:  # why self_weight's range stops at 0.95
    with pytest.raises(ContractError, match="shared but only the loss of task"):
        check_architecture(CrossStitch, self_weight=1.0)


# --- in a real model, with the trainer's backward ----------------------------------------------

@pytest.mark.parametrize("entry", BUILTINS, ids=lambda e: e.name)
def test_trains_in_a_cell_model_with_a_jacobian_strategy(entry) -> None:
    from mmbench.data.spec import TaskInfo
    from mmbench.train.loop import losses_of
    from mmbench.train.model import CachedFeatures, CellModel
    from mmbench.train.step import backward

    tasks = [TaskInfo("c", "classification", 3), TaskInfo("r", "regression", 1)]
    torch.manual_seed(0)
    model = CellModel({"x": CachedFeatures(10)}, tasks, trunk_dim=6,
                      architecture=lambda d: entry.create(d, ["c", "r"], 6))
    g = torch.Generator().manual_seed(0)
    targets = {"c": torch.randint(0, 3, (8,), generator=g), "r": torch.randn(8, generator=g)}
    wrts = ["params"] + (["representation"] if model.has_shared_representation else [])
    for wrt in wrts:
        weighting = get_registry("weightings").create("mgda" if wrt == "representation" else "pcgrad", 2, seed=0,
                                                      **({"wrt": wrt} if wrt == "representation" else {}))
        model.zero_grad(set_to_none=True)
        fwd = model({"x": _x(8)})
        backward(model, fwd, losses_of(fwd, targets, tasks), weighting)
        for name, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), (wrt, name)
    own = {id(p) for p in model.task_parameters()}
    arch = model.architectures["fused"]
    assert {id(p) for t in ["c", "r"] for p in arch.task_parameters(t)} <= own
