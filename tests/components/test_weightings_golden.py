"""Gradient strategies on fixed Jacobians: closed forms, SciPy solutions of their convex problems, torchjd
(MGDA, PCGrad, CAGrad, GradVac, GradDrop, the wrappers' plumbing, GradNorm and DB-MTL). torchjd 0.18's
other strategies: test_weightings_golden_torchjd018.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from torchjd import aggregation as tja

from mmbench.components.base import Need
from mmbench.components.weightings.gramian_solvers import cagrad_weights, min_norm_weights
from mmbench.components.weightings.torchjd_wrappers import TorchJDAggregator
from mmbench.plugins import get_registry
from mmbench.testing import check_weighting
from mmbench.train.step import shared_update

G1, G2 = [1.0, 0.0], [-0.5, 1.0]  # conflicting: g1·g2 = -0.5
CONFLICT = torch.tensor([G1, G2])
LOSSES2 = torch.tensor([1.0, 1.0])
#: 3 tasks whose min-norm point lies inside the simplex (all weights > 0) ...
INTERIOR = torch.tensor([[1.0, 0.2, 0.0], [-0.6, 1.0, 0.1], [-0.3, -0.8, 0.4]], dtype=torch.float64)
#: ... and 3 tasks whose min-norm point lies on an edge (g3 is dominated: its weight is 0)
EDGE = torch.tensor([[1.0, 0.0, 0.0], [-0.5, 1.0, 0.0], [2.0, 2.0, 0.5]], dtype=torch.float64)


def make(name: str, n_tasks: int = 2, **options):
    return get_registry("weightings").create(name, n_tasks, **options)


def jacobians(n: int = 3, t: int = 3, p: int = 6, seed: int = 5, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(t, p, generator=g, dtype=dtype) for _ in range(n)]


def simplex_minimum(f, t: int) -> np.ndarray:
    """A tight SLSQP solution of ``min_{w ∈ simplex} f(w)``, the best of several starts."""
    best = None
    for start in [np.full(t, 1.0 / t), *(0.9 * np.eye(t) + 0.1 / t)]:
        res = minimize(f, start, method="SLSQP", bounds=[(0.0, 1.0)] * t,
                       constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0}],
                       options={"ftol": 1e-16, "maxiter": 3000})
        best = res if best is None or res.fun < best.fun else best
    return best.x


# --- MGDA -------------------------------------------------------------------------------------

def two_task_min_norm(g1: torch.Tensor, g2: torch.Tensor) -> torch.Tensor:
    """Closed form: the min-norm point of the segment [g1, g2] is γ g1 + (1-γ) g2 with this γ."""
    gamma = ((g2 - g1) @ g2 / ((g1 - g2) @ (g1 - g2))).clamp(0, 1)
    return gamma * g1 + (1 - gamma) * g2


@pytest.mark.parametrize("solver", ["nnls", "frank-wolfe"])
def test_mgda_two_tasks_is_the_closed_form(solver):
    w = make("mgda", solver=solver)
    result = shared_update(w, CONFLICT, LOSSES2)
    assert torch.allclose(result, torch.tensor([4 / 13, 6 / 13]), atol=1e-6)  # γ = 7/13
    assert torch.allclose(w.last_weights, torch.tensor([7 / 13, 6 / 13]), atol=1e-6)
    assert torch.allclose(result @ CONFLICT[0], result @ CONFLICT[1], atol=1e-6)  # equal progress on both tasks
    for jac in jacobians(6, t=2, dtype=torch.float64) + [torch.tensor([[2.0, 1.0], [0.5, 0.2]], dtype=torch.float64)]:
        expected = two_task_min_norm(jac[0], jac[1])  # the last pair clips γ to 0
        assert torch.allclose(shared_update(w, jac, LOSSES2), expected, atol=1e-6 * jac.norm())


@pytest.mark.parametrize("jac", [INTERIOR, EDGE], ids=["interior", "edge"])
def test_mgda_three_tasks_match_the_scipy_qp_solution(jac):
    gram = (jac @ jac.T).numpy()
    w_qp = simplex_minimum(lambda w: w @ gram @ w, 3)
    w = make("mgda", 3)
    assert np.allclose(shared_update(w, jac, torch.ones(3)).numpy(), w_qp @ jac.numpy(), atol=1e-6)
    assert np.allclose(w.last_weights.numpy(), w_qp, atol=1e-6)
    if jac is EDGE:
        assert w_qp[2] < 1e-9  # the case Frank–Wolfe (no away steps) only approaches sublinearly


def test_mgda_frank_wolfe_default_tolerance_reaches_the_interior_solution():
    gram = (INTERIOR @ INTERIOR.T).numpy()
    expected = simplex_minimum(lambda w: w @ gram @ w, 3) @ INTERIOR.numpy()
    result = shared_update(make("mgda", 3, solver="frank-wolfe"), INTERIOR, torch.ones(3))
    assert np.allclose(result.numpy(), expected, atol=1e-6)  # torchjd's epsilon=1e-3 stops ~1e-3 away


def test_min_norm_weights_are_a_zero_combination_at_a_pareto_stationary_point():
    jac = torch.tensor([[1.0, 0.0], [-1.0, 0.5], [0.0, -1.0]], dtype=torch.float64)  # 0 is in the hull
    w = min_norm_weights(jac @ jac.T)
    assert torch.all(w >= 0) and math.isclose(float(w.sum()), 1.0)
    assert torch.allclose(w @ jac, torch.zeros(2, dtype=torch.float64), atol=1e-9)


# --- PCGrad -----------------------------------------------------------------------------------

def test_pcgrad_matches_the_closed_form_projection():
    g1, g2 = CONFLICT
    g1_pc = g1 - (g1 @ g2) / (g2 @ g2) * g2  # onto the normal plane of g2: [0.8, 0.4]
    g2_pc = g2 - (g2 @ g1) / (g1 @ g1) * g1  # onto the normal plane of g1: [0.0, 1.0]
    w = make("pcgrad")
    result = shared_update(w, CONFLICT, LOSSES2)
    assert torch.allclose(result, g1_pc + g2_pc) and torch.allclose(result, torch.tensor([0.8, 1.4]))
    assert torch.allclose(w.last_weights, torch.tensor([1.5, 1.4]))  # g1_pc + g2_pc = 1.5 g1 + 1.4 g2


# --- CAGrad -----------------------------------------------------------------------------------

def cagrad_reference(jac: torch.Tensor, c: float = 0.4) -> np.ndarray:
    """Liu et al. 2021, Alg. 1, solved by SciPy: w* = argmin_Δ g_wᵀ g0 + c‖g0‖ ‖g_w‖, d = g0 + c‖g0‖ g_w/‖g_w‖."""
    j = jac.double().numpy()
    t = len(j)
    g0 = j.mean(axis=0)
    rho = c * np.linalg.norm(g0)
    w = simplex_minimum(lambda w: (w @ j) @ g0 + rho * np.linalg.norm(w @ j), t)
    return g0 + rho * (w @ j) / np.linalg.norm(w @ j)


@pytest.mark.parametrize("t", [2, 3, 5])
def test_cagrad_matches_a_tight_scipy_solution(t):
    w = make("cagrad", t)
    for jac in jacobians(8, t=t, p=7, seed=t, dtype=torch.float64):
        expected = cagrad_reference(jac)
        assert np.allclose(shared_update(w, jac, torch.ones(t)).numpy(), expected, atol=1e-6 * np.linalg.norm(expected))


def test_cagrad_agrees_with_torchjd_within_torchjds_solver_accuracy():
    # torchjd solves the same problem with cvxpy/Clarabel at default tolerances: ~1e-4 off on edge optima
    errors = []
    for t in (2, 3, 4):
        w = make("cagrad", t)
        for jac in jacobians(10, t=t, p=7, seed=10 + t, dtype=torch.float64):
            expected = tja.CAGrad(c=0.4)(jac)
            errors.append(float((shared_update(w, jac, torch.ones(t)) - expected).norm() / expected.norm()))
            assert torch.allclose(w.last_weights @ jac, shared_update(w, jac, torch.ones(t)))
    assert max(errors) < 3e-4 and float(np.median(errors)) < 2e-5


def test_cagrad_special_cases():
    jac = jacobians(1, dtype=torch.float64)[0]
    assert torch.allclose(shared_update(make("cagrad", 3, c=0.0), jac, torch.ones(3)), jac.mean(dim=0))  # c = 0: the mean
    stationary = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)  # g0 = 0: nothing to improve
    assert torch.equal(shared_update(make("cagrad", c=0.4), stationary, LOSSES2), torch.zeros(2, dtype=torch.float64))
    pareto = torch.tensor([[1.0, 0.0], [-1.0, 0.5], [0.0, -1.0]], dtype=torch.float64)  # 0 inside the hull
    assert torch.equal(tja.CAGrad(c=2.0)(pareto), torch.zeros(2, dtype=torch.float64))  # c ≥ 1: the ball holds 0
    assert torch.allclose(shared_update(make("cagrad", 3, c=2.0), pareto, torch.ones(3)), torch.zeros(2, dtype=torch.float64))
    wide = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [-1.0, 0.5, 0.0]], dtype=torch.float64)
    assert np.allclose(shared_update(make("cagrad", 4), wide, torch.ones(4)).numpy(), cagrad_reference(wide), atol=1e-6)
    assert torch.equal(cagrad_weights(torch.zeros(2, 2), c=0.4), torch.zeros(2))


# --- GradVac and GradDrop ---------------------------------------------------------------------

def test_gradvac_follows_the_papers_update_on_two_tasks():
    # Wang et al. 2021, eq. 5: if φ < φ̂, g_i += ‖g_i‖ (φ̂ √(1-φ²) - φ √(1-φ̂²)) / (‖g_j‖ √(1-φ̂²)) g_j; φ̂ ← (1-β)φ̂ + βφ
    w = make("gradvac", beta=0.5)
    g1, g2 = CONFLICT.double()
    phi = float(g1 @ g2 / (g1.norm() * g2.norm()))
    first = shared_update(w, CONFLICT, LOSSES2)  # φ̂ = 0: the correction is PCGrad's projection
    assert torch.allclose(first, torch.tensor([0.8, 1.4]), atol=1e-6)
    target = 0.5 * phi
    expected = torch.zeros(2, dtype=torch.float64)
    for gi, gj in ((g1, g2), (g2, g1)):
        a = gi.norm() * (target * math.sqrt(1 - phi**2) - phi * math.sqrt(1 - target**2)) / (gj.norm() * math.sqrt(1 - target**2))
        expected += gi + a * gj
    assert torch.allclose(shared_update(w, CONFLICT, LOSSES2).double(), expected, atol=1e-6)
    w.reset()
    assert torch.allclose(shared_update(w, CONFLICT, LOSSES2), first)


def test_graddrop_keeps_one_sign_per_coordinate():
    jac = torch.tensor([[1.0, 2.0, -1.0, 0.5], [3.0, -1.0, -2.0, -0.5], [0.5, -2.0, -0.5, 1.0]])
    positive, negative = jac.clamp(min=0).sum(dim=0), jac.clamp(max=0).sum(dim=0)
    w = make("graddrop", 3)
    for _ in range(10):
        result = shared_update(w, jac, torch.ones(3))
        assert torch.all((result == positive) | (result == negative))
        assert result[0] == jac[:, 0].sum() and result[2] == jac[:, 2].sum()  # one sign only: nothing dropped
    leaky = shared_update(make("graddrop", 3, leak=[1.0, 1.0, 1.0]), jac, torch.ones(3))
    assert torch.allclose(leaky, jac.sum(dim=0))  # full leak: the plain sum
    with pytest.raises(ValueError, match="one value per task"):
        make("graddrop", 3, leak=[0.5])


def test_graddrop_and_gradvac_draw_from_the_weighting_generator():
    for name in ("graddrop", "gradvac"):
        torch.manual_seed(0)
        expected = torch.rand(3)
        torch.manual_seed(0)
        a, b = make(name, 3, seed=4), make(name, 3, seed=4)
        for jac in jacobians(3):
            assert torch.equal(shared_update(a, jac, torch.ones(3)), shared_update(b, jac, torch.ones(3)))
        assert torch.equal(torch.rand(3), expected)  # the global stream is untouched


# --- the wrappers' plumbing -------------------------------------------------------------------

def test_upgrad_never_conflicts_with_any_task():
    for jac in [CONFLICT, *jacobians(4)]:
        result = shared_update(make("upgrad", jac.shape[0]), jac, torch.ones(jac.shape[0]))
        assert (jac @ result >= -1e-5).all()


def test_nash_mtl_reset_restores_state():
    w, fresh = make("nash-mtl", 3), make("nash-mtl", 3)
    first = [shared_update(w, j, torch.ones(3)) for j in jacobians()]
    assert w.aggregator.weighting.step > 0
    w.reset()
    assert w.aggregator.weighting.step == 0
    again = [shared_update(w, j, torch.ones(3)) for j in jacobians()]
    reference = [shared_update(fresh, j, torch.ones(3)) for j in jacobians()]
    for a, b, c in zip(first, again, reference):
        assert torch.equal(a, b) and torch.equal(b, c)


@pytest.mark.parametrize("name", ["gradnorm", "mgda", "upgrad", "cagrad", "gradvac", "graddrop", "fairgrad", "dualproj",
                                  "cr-mogm", "sdmgrad", "modo", "pcd", "config", "krum", "trimmed-mean"])
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


def test_non_weighted_aggregators_return_the_update_and_record_no_weights():
    class ConFIG(TorchJDAggregator):  # not a WeightedAggregator in torchjd
        aggregator_cls = "ConFIG"

    w = ConFIG(2)
    result = shared_update(w, CONFLICT, LOSSES2)
    assert torch.equal(result, tja.ConFIG()(CONFLICT))
    assert w.last_weights is None  # not a weighted method: no least-squares stand-in
    drop = make("graddrop")
    assert shared_update(drop, CONFLICT, LOSSES2).shape == (2,) and drop.last_weights is None


# --- hand-written strategies ------------------------------------------------------------------

def test_gradnorm_matches_hand_computed_steps():
    jac = torch.tensor([[3.0, 4.0], [0.0, 1.0]])  # gradient norms 5 and 1
    w = make("gradnorm", alpha=1.5, lr=0.1)
    # step 1: L(0) = L, so r = [1, 1]; norms [5, 1], target mean = 3; sign(n - target) = [+1, -1]
    result = shared_update(w, jac, torch.tensor([2.0, 1.0]))
    assert torch.allclose(result, torch.tensor([3.0, 5.0]))
    assert torch.allclose(w.last_weights, torch.ones(2))
    # w <- [1 - 0.1*5, 1 + 0.1*1] = [0.5, 1.1], renormalised to sum 2
    assert torch.allclose(w.weights, torch.tensor([0.625, 1.375]))
    # step 2: L~ = [0.5, 1], r = [2/3, 4/3]; norms [3.125, 1.375], mean 2.25;
    # targets 2.25 * r^1.5 = [1.2247, 3.4641]; sign = [+1, -1]; w <- [0.125, 1.475] -> sum 2
    result = shared_update(w, jac, torch.tensor([1.0, 1.0]))
    assert torch.allclose(result, 0.625 * jac[0] + 1.375 * jac[1])
    assert torch.allclose(w.weights, torch.tensor([0.15625, 1.84375]))
    w.reset()
    assert torch.equal(w.weights, torch.ones(2)) and torch.isnan(w.initial_losses).all()


def test_db_mtl_matches_hand_computed_step():
    jac = torch.tensor([[3.0, 4.0], [0.0, 1.0]])
    w = make("db-mtl")
    # log-loss gradients g/L = [[1.5, 2], [0, 1]]; buffer 0.1 * that (from zero, beta 0.9);
    # norms [0.25, 0.1]; alpha = [1, 2.5]; direction [0.15, 0.2] + 2.5 * [0, 0.1]
    result = shared_update(w, jac, torch.tensor([2.0, 1.0]))
    assert torch.allclose(result, torch.tensor([0.15, 0.45]), atol=1e-6)
    assert torch.allclose(w.last_weights, torch.tensor([1.0, 2.5]), atol=1e-6)
    # step 2 with the same inputs: buffer = g + 0.9 (0.1 g - g) = 0.19 g
    result = shared_update(w, jac, torch.tensor([2.0, 1.0]))
    assert torch.allclose(result, torch.tensor([0.285, 0.855]), atol=1e-6)
    w.reset()
    assert w.grad_buffer is None and w.steps == 0


def test_db_mtl_heads_get_the_log_loss_gradient():
    losses = torch.tensor([2.0, 0.5, 1e-3])
    w = make("db-mtl", 3)
    factors = w.task_parameter_weights(losses)
    assert torch.allclose(factors, 1 / (losses + 1e-8))
    head = torch.tensor(1.5, requires_grad=True)  # a head parameter: L_t = head², ∂log(L_t)/∂head = 2 head / L_t
    loss = head**2
    (log_grad,) = torch.autograd.grad(torch.log(loss + 1e-8), head, retain_graph=True)
    (grad,) = torch.autograd.grad(loss, head)
    assert torch.allclose(w.task_parameter_weights(loss.detach().reshape(1))[0] * grad, log_grad)
    assert make("mgda", 3).task_parameter_weights(losses) is None  # others keep the plain gradient


