"""Gradient strategies on fixed Jacobians: closed forms, and torchjd's own output for every wrapper."""

from __future__ import annotations

import pytest
import torch
from torchjd import aggregation as tja

from mmbench.components.base import Need
from mmbench.components.weightings.torchjd_wrappers import TorchJDWeighting
from mmbench.plugins import get_registry
from mmbench.testing import check_weighting

G1, G2 = [1.0, 0.0], [-0.5, 1.0]  # conflicting: g1·g2 = -0.5
CONFLICT = torch.tensor([G1, G2])
LOSSES2 = torch.tensor([1.0, 1.0])

#: registered name -> how to build the same torchjd aggregator directly
DIRECT = {
    "mgda": lambda n: tja.MGDA(),
    "pcgrad": lambda n: tja.PCGrad(),
    "cagrad": lambda n: tja.CAGrad(c=0.4),
    "imtl-g": lambda n: tja.IMTLG(),
    "nash-mtl": lambda n: tja.NashMTL(n_tasks=n),
    "aligned-mtl": lambda n: tja.AlignedMTL(),
    "upgrad": lambda n: tja.UPGrad(),
}


def make(name: str, n_tasks: int = 2, **options):
    return get_registry("weightings").create(name, n_tasks, **options)


def jacobians(n: int = 3, t: int = 3, p: int = 6):
    g = torch.Generator().manual_seed(5)
    return [torch.randn(t, p, generator=g) for _ in range(n)]


def test_pcgrad_matches_the_closed_form_projection():
    g1, g2 = CONFLICT
    g1_pc = g1 - (g1 @ g2) / (g2 @ g2) * g2  # onto the normal plane of g2: [0.8, 0.4]
    g2_pc = g2 - (g2 @ g1) / (g1 @ g1) * g1  # onto the normal plane of g1: [0.0, 1.0]
    w = make("pcgrad")
    result = w.aggregate(CONFLICT, LOSSES2)
    assert torch.allclose(result, g1_pc + g2_pc) and torch.allclose(result, torch.tensor([0.8, 1.4]))
    assert torch.allclose(w.last_weights, torch.tensor([1.5, 1.4]))  # g1_pc + g2_pc = 1.5 g1 + 1.4 g2


def test_mgda_finds_the_min_norm_point_of_the_convex_hull():
    g1, g2 = CONFLICT
    gamma = ((g2 - g1) @ g2) / ((g1 - g2) @ (g1 - g2))  # 7/13, the minimiser of ‖γ g1 + (1-γ) g2‖
    w = make("mgda")
    result = w.aggregate(CONFLICT, LOSSES2)
    assert torch.allclose(result, gamma * g1 + (1 - gamma) * g2, atol=1e-6)
    assert torch.allclose(result, torch.tensor([4 / 13, 6 / 13]), atol=1e-6)
    assert torch.allclose(w.last_weights, torch.tensor([7 / 13, 6 / 13]), atol=1e-6)
    assert torch.allclose(result @ g1, result @ g2, atol=1e-6)  # equal progress on both tasks


@pytest.mark.filterwarnings("ignore:You are solving a parameterized problem that is not DPP")
@pytest.mark.parametrize("name", sorted(DIRECT))
def test_wrapper_returns_exactly_what_torchjd_returns(name):
    w, direct = make(name, 3), DIRECT[name](3)
    draws = torch.Generator().manual_seed(w.seed)  # PCGrad's shuffles are seeded from the weighting's generator
    for jac in jacobians():
        if name == "pcgrad":
            torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=draws)))
        expected = direct(jac)
        result = w.aggregate(jac, torch.ones(3))
        assert torch.equal(result, expected)
        assert torch.allclose(w.last_weights @ jac, result, atol=1e-5)  # the recorded weights give the result


def test_pcgrad_leaves_the_global_generator_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    make("pcgrad", 3).aggregate(jacobians(1)[0], torch.ones(3))
    assert torch.equal(torch.rand(3), expected)


def test_upgrad_never_conflicts_with_any_task():
    for jac in [CONFLICT, *jacobians(4)]:
        result = make("upgrad", jac.shape[0]).aggregate(jac, torch.ones(jac.shape[0]))
        assert (jac @ result >= -1e-5).all()


def test_nash_mtl_reset_restores_state():
    w, fresh = make("nash-mtl", 3), make("nash-mtl", 3)
    first = [w.aggregate(j, torch.ones(3)) for j in jacobians()]
    assert w.aggregator.weighting.step > 0
    w.reset()
    assert w.aggregator.weighting.step == 0
    again = [w.aggregate(j, torch.ones(3)) for j in jacobians()]
    reference = [fresh.aggregate(j, torch.ones(3)) for j in jacobians()]
    for a, b, c in zip(first, again, reference):
        assert torch.equal(a, b) and torch.equal(b, c)


@pytest.mark.parametrize("name", ["gradnorm", "mgda", "upgrad"])
def test_contract_with_the_representation_jacobian(name):
    check_weighting(get_registry("weightings").get(name).factory, wrt="representation")


def test_wrt_option_sets_the_need():
    assert make("mgda").need is Need.PARAM_JACOBIAN
    assert make("mgda", wrt="representation").need is Need.REPR_JACOBIAN
    assert make("gradnorm", wrt="representation").need is Need.REPR_JACOBIAN
    assert type(make("mgda")).need is Need.PARAM_JACOBIAN  # the class default is untouched
    with pytest.raises(ValueError, match="wrt"):
        make("upgrad", wrt="features")
    with pytest.raises(ValueError, match="params"):
        make("db-mtl", wrt="representation")


def test_non_weighted_aggregators_record_least_squares_weights():
    class ConFIG(TorchJDWeighting):  # not a WeightedAggregator in torchjd
        aggregator_cls = "ConFIG"

    w = ConFIG(2)
    result = w.aggregate(CONFLICT, LOSSES2)
    assert torch.equal(result, tja.ConFIG()(CONFLICT))
    assert torch.allclose(w.last_weights @ CONFLICT, result, atol=1e-5)


def test_gradnorm_matches_hand_computed_steps():
    jac = torch.tensor([[3.0, 4.0], [0.0, 1.0]])  # gradient norms 5 and 1
    w = make("gradnorm", alpha=1.5, lr=0.1)
    # step 1: L(0) = L, so r = [1, 1]; norms [5, 1], target mean = 3; sign(n - target) = [+1, -1]
    result = w.aggregate(jac, torch.tensor([2.0, 1.0]))
    assert torch.allclose(result, torch.tensor([3.0, 5.0]))
    assert torch.allclose(w.last_weights, torch.ones(2))
    # w <- [1 - 0.1*5, 1 + 0.1*1] = [0.5, 1.1], renormalised to sum 2
    assert torch.allclose(w.weights, torch.tensor([0.625, 1.375]))
    # step 2: L~ = [0.5, 1], r = [2/3, 4/3]; norms [3.125, 1.375], mean 2.25;
    # targets 2.25 * r^1.5 = [1.2247, 3.4641]; sign = [+1, -1]; w <- [0.125, 1.475] -> sum 2
    result = w.aggregate(jac, torch.tensor([1.0, 1.0]))
    assert torch.allclose(result, 0.625 * jac[0] + 1.375 * jac[1])
    assert torch.allclose(w.weights, torch.tensor([0.15625, 1.84375]))
    w.reset()
    assert torch.equal(w.weights, torch.ones(2)) and torch.isnan(w.initial_losses).all()


def test_db_mtl_matches_hand_computed_step():
    jac = torch.tensor([[3.0, 4.0], [0.0, 1.0]])
    w = make("db-mtl")
    # log-loss gradients g/L = [[1.5, 2], [0, 1]]; buffer 0.1 * that (from zero, beta 0.9);
    # norms [0.25, 0.1]; alpha = [1, 2.5]; direction [0.15, 0.2] + 2.5 * [0, 0.1]
    result = w.aggregate(jac, torch.tensor([2.0, 1.0]))
    assert torch.allclose(result, torch.tensor([0.15, 0.45]), atol=1e-6)
    assert torch.allclose(w.last_weights, torch.tensor([1.0, 2.5]), atol=1e-6)
    # step 2 with the same inputs: buffer = g + 0.9 (0.1 g - g) = 0.19 g
    result = w.aggregate(jac, torch.tensor([2.0, 1.0]))
    assert torch.allclose(result, torch.tensor([0.285, 0.855]), atol=1e-6)
    w.reset()
    assert w.grad_buffer is None and w.steps == 0
