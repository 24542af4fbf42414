"""torchjd 0.18's other gradient strategies on fixed Jacobians (issue #24): SDMGrad, MoDo, FairGrad, DualProj,
CR-MOGM, PCD, Krum, trimmed mean, ConFIG, ExcessMTL."""

from __future__ import annotations


import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from torchjd import aggregation as tja

from mmbench.plugins import get_registry
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


# --- torchjd 0.18's other gradient strategies (issue #24) ---------------------------------------

def test_sdmgrad_is_torchjds_weighting_on_the_gramian():
    # float64: its inner loop (20 projected SGD steps, lr 10) amplifies float32 rounding to ~1e-4 (so it is not in
    # test_wrapper_agrees_with_torchjd, which compares in float32). Exact on its input J / ||J|| (trace-normalised
    # Gramian); on J itself only torchjd's absolute 1e-8 differs
    w = make("sdmgrad", 3)
    on_input, on_raw = (tja.GramianWeightedAggregator(tja.SDMGradWeighting()) for _ in range(2))
    for jac in jacobians(4, dtype=torch.float64):
        result = shared_update(w, jac, torch.ones(3))
        assert torch.allclose(result, on_input(jac / jac.norm()) * jac.norm(), rtol=1e-10, atol=1e-12)
        assert torch.allclose(result, on_raw(jac), atol=1e-5)
        assert torch.allclose(w.last_weights.sum(), torch.tensor(1.0, dtype=torch.float64))  # on the simplex


def test_modo_takes_one_projected_gradient_step_per_call():
    # Chen et al. 2024, eq. 2.9a with rho: lambda <- proj_simplex(lambda - gamma (G lambda + rho lambda)), from uniform
    w = make("modo", 2, gamma=0.1, rho=0.1)
    gram = CONFLICT @ CONFLICT.T  # [[1, -0.5], [-0.5, 1.25]]
    step = torch.full((2,), 0.5) - 0.1 * (gram @ torch.full((2,), 0.5) + 0.1 * torch.full((2,), 0.5))
    expected = step + (1 - step.sum()) / 2  # interior: the projection shifts both equally
    assert torch.allclose(shared_update(w, CONFLICT, LOSSES2), expected @ CONFLICT, atol=1e-6)
    assert torch.allclose(w.last_weights, expected, atol=1e-6)
    w.reset()
    assert torch.allclose(w.weigh(CONFLICT, LOSSES2), expected, atol=1e-6)  # reset: from uniform again


def test_fairgrad_solves_the_alpha_fair_equation():
    for alpha in (0.5, 1.0, 2.0):
        w = make("fairgrad", 3, alpha=alpha)
        for jac in jacobians(2, dtype=torch.float64):
            weights = w.weigh(jac, torch.ones(3))
            gram = jac @ jac.T  # Ban & Ji 2024, eq. 4: G w = w^(-1/alpha), w > 0
            assert torch.all(weights > 0)
            assert torch.allclose(gram @ weights, weights ** (-1 / alpha), rtol=1e-5), alpha
    uniform = make("fairgrad", 3, alpha=0.0).weigh(jacobians(1)[0], torch.ones(3))
    assert torch.allclose(uniform, torch.full((3,), 1 / 3))  # alpha 0: linear scalarization with uniform weights


def test_dualproj_is_the_mean_when_nothing_conflicts_and_never_conflicts():
    aligned = torch.tensor([[1.0, 0.2], [0.8, 0.1]])
    assert torch.allclose(shared_update(make("dualproj"), aligned, LOSSES2), aligned.mean(dim=0), atol=1e-6)
    for jac in [CONFLICT, *jacobians(4)]:
        assert (jac @ shared_update(make("dualproj", jac.shape[0]), jac, torch.ones(jac.shape[0])) >= -1e-5).all()


def test_cr_mogm_is_an_ema_of_its_base_weights():
    jacs = jacobians(3, dtype=torch.float64)
    w, base = make("cr-mogm", 3, base="upgrad", alpha=0.7), make("upgrad", 3)
    direct = tja.GramianWeightedAggregator(tja.CRMOGMWeighting(tja.UPGradWeighting(), alpha=0.7))  # torchjd's own
    smoothed = None
    for jac in jacs:
        raw = base.weigh(jac, torch.ones(3))
        smoothed = raw if smoothed is None else 0.7 * smoothed + 0.3 * raw  # the first step unsmoothed
        assert torch.allclose(w.weigh(jac, torch.ones(3)), smoothed, atol=1e-6)
        assert torch.allclose(smoothed @ jac, direct(jac), atol=1e-5)
    assert type(make("cr-mogm", 3).aggregator.gramian_weighting.weighting).__name__ == "MinNormWeighting"  # mgda default
    with pytest.raises(ValueError, match="base"):
        make("cr-mogm", 3, base="pcgrad")


def test_pcd_follows_the_primary_task_when_nothing_conflicts():
    # no constraint active: the update is the first task's gradient (rescaled to its norm)
    jac = torch.tensor([[1.0, 0.0, 0.0], [0.5, 1.0, 0.0], [0.5, 0.0, 1.0]], dtype=torch.float64)
    assert torch.allclose(shared_update(make("pcd", 3), jac, torch.ones(3)), jac[0], atol=1e-9)
    result = shared_update(make("pcd", 2), CONFLICT.double(), LOSSES2.double())  # g2 conflicts: it gets tau of its progress
    assert result @ CONFLICT[1].double() > 0 and torch.isclose(result.norm(), CONFLICT[0].double().norm())


def test_krum_selects_the_gradient_closest_to_the_others():
    jac = torch.tensor([[1.0, 0.0], [1.1, 0.1], [0.9, -0.1], [-5.0, 8.0]])  # the last is an outlier
    w = make("krum", 4, n_byzantine=1)
    assert torch.equal(shared_update(w, jac, torch.ones(4)), jac[0])  # nearest two neighbours closest in sum
    assert torch.equal(w.last_weights, torch.tensor([1.0, 0.0, 0.0, 0.0]))
    multi = make("krum", 4, n_byzantine=1, n_selected=3)
    assert torch.allclose(shared_update(multi, jac, torch.ones(4)), jac[:3].mean(dim=0))
    with pytest.raises(ValueError, match="at least 4 tasks"):
        make("krum", 3, n_byzantine=1)


def test_trimmed_mean_drops_the_extremes_per_coordinate():
    jac = torch.tensor([[1.0, -3.0], [2.0, 5.0], [10.0, 0.0]])
    w = make("trimmed-mean", 3)
    assert torch.equal(shared_update(w, jac, torch.ones(3)), torch.tensor([2.0, 0.0]))  # the median of each column
    assert w.last_weights is None
    assert torch.allclose(shared_update(make("trimmed-mean", 3, trim_number=0), jac, torch.ones(3)), jac.mean(dim=0))


def test_config_has_equal_cosine_with_every_task_and_no_weights():
    w = make("config", 3)
    for jac in jacobians(3):
        update = shared_update(w, jac, torch.ones(3))
        cosines = torch.nn.functional.cosine_similarity(jac, update.unsqueeze(0))
        assert torch.allclose(cosines, cosines.mean().expand(3), atol=1e-5) and cosines.min() > 0
        assert w.last_weights is None


def test_excess_mtl_weights_follow_the_excess_risk_update():
    # He et al. 2024, eqs. 6-9 (torchjd's form): S += g^2; E_i = sum g_i^2 / sqrt(S_i + 1e-7); the first call's
    # E is the baseline; w <- softmax(log w + eta E / E0) from uniform
    jacs = jacobians(2, dtype=torch.float64)
    w = make("excess-mtl", 3, robust_step_size=0.5)
    total, weights, baseline = torch.zeros_like(jacs[0]), torch.full((3,), 1 / 3, dtype=torch.float64), None
    for jac in jacs:
        total = total + jac**2
        excess = (jac**2 / torch.sqrt(total + 1e-7)).sum(dim=1)
        if baseline is None:
            baseline = excess
        else:
            excess = excess / (baseline + 1e-7)
        weights = torch.softmax(torch.log(weights) + 0.5 * excess, dim=0)
        assert torch.allclose(w.weigh(jac, torch.ones(3)), weights, atol=1e-9)
    with pytest.raises(ValueError, match="params"):
        make("excess-mtl", 3, wrt="representation")
