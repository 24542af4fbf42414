"""The torchjd wrappers: their scaling laws down to tiny gradients, agreement with torchjd itself, and the
global generator left alone."""

from __future__ import annotations


import pytest
import torch
from torchjd import aggregation as tja

from mmbench.components.weightings.gramian_solvers import MinNormWeighting
from mmbench.components.weightings.torchjd_wrappers import TorchJDStrategy
from mmbench.train.step import shared_update
from weightings_support import builtin_entries, factory_class, make


# --- torchjd wrappers: small gradients and agreement with torchjd --------------------------------

WRAPPERS = sorted(e.name for e in builtin_entries() if issubclass(factory_class(e), TorchJDStrategy))
#: the wrappers with a scaling law A(sJ) = s^k A(J) (``homogeneity`` not None)
SCALED = [name for name in WRAPPERS if make(name, 3).homogeneity is not None]


@pytest.mark.filterwarnings("ignore:You are solving a parameterized problem that is not DPP")
@pytest.mark.parametrize("name", SCALED)
def test_wrappers_follow_their_scaling_law_down_to_tiny_gradients(name):
    """A(sJ) = s^k A(J): torchjd's absolute epsilons (CAGrad/UPGrad's norm_eps = 1e-4 on the Gramian's trace,
    GradVac's 1e-8, Nash-MTL's solver) would zero or distort the update of small gradients."""
    g = torch.Generator().manual_seed(11)
    jacs = [0.3 * torch.randn(3, 6, generator=g) for _ in range(3)]
    w = make(name, 3)
    k = w.homogeneity
    w.reset(0)
    reference = [(shared_update(w, j, torch.ones(3)), w.last_weights) for j in jacs]
    for s in (1e-2, 1e-4, 1e-6):
        w.reset(0)
        for j, (result, weights) in zip(jacs, reference):
            scaled = shared_update(w, j * s, torch.ones(3))
            assert scaled.abs().max() > 0, f"{name} returned a zero update at scale {s}"
            assert torch.allclose(scaled / s**k, result, rtol=1e-4, atol=1e-6 * float(result.norm())), (name, s)
            if w.last_weights is not None:  # not GradDrop, ConFIG, the trimmed mean: no weights of the rows
                assert torch.allclose(w.last_weights * s ** (1 - k), weights, rtol=1e-4, atol=1e-6), (name, s)


#: registered name -> the same torchjd aggregator, built directly
DIRECT = {
    "pcgrad": lambda n: tja.PCGrad(),
    "imtl-g": lambda n: tja.IMTLG(),
    "aligned-mtl": lambda n: tja.AlignedMTL(),
    "upgrad": lambda n: tja.UPGrad(),
    "gradvac": lambda n: tja.GradVac(),
    "graddrop": lambda n: tja.GradDrop(),
    "nash-mtl": lambda n: tja.NashMTL(n_tasks=n),
    # torchjd 0.18's other aggregators and weightings (issue #24); stateful ones over the same sequence
    "fairgrad": lambda n: tja.FairGrad(alpha=1.0),
    "dualproj": lambda n: tja.DualProj(),
    "cr-mogm": lambda n: tja.GramianWeightedAggregator(tja.CRMOGMWeighting(MinNormWeighting(), alpha=0.9)),
    "modo": lambda n: tja.GramianWeightedAggregator(tja.MoDoWeighting()),
    "pcd": lambda n: tja.PCD(),
    "excess-mtl": lambda n: tja.ExcessMTL(),
    "config": lambda n: tja.ConFIG(),
    "krum": lambda n: tja.Krum(n_byzantine=0),
    "trimmed-mean": lambda n: tja.TrimmedMean(trim_number=1),
}


@pytest.mark.filterwarnings("ignore:You are solving a parameterized problem that is not DPP")
@pytest.mark.parametrize("name", sorted(DIRECT))
def test_wrapper_agrees_with_torchjd(name):
    """At ordinary scales the wrappers return torchjd's result (same seeded draws for the random ones);
    Nash-MTL is stateful and warm-starts in the units it saw, so it is compared on ``J / ‖J‖``, its input."""
    w, direct = make(name, 3), DIRECT[name](3)
    draws = torch.Generator().manual_seed(w.seed)
    g = torch.Generator().manual_seed(5)
    for _ in range(3):
        jac = torch.randn(3, 6, generator=g)
        torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=draws)))
        expected = direct(jac / jac.norm()) if name == "nash-mtl" else direct(jac)
        result = shared_update(w, jac, torch.ones(3))
        assert torch.allclose(result, expected, rtol=1e-5, atol=1e-6), name
        if w.last_weights is not None:  # not GradDrop, ConFIG, the trimmed mean (per coordinate: no weights of the rows)
            assert torch.allclose(w.last_weights @ jac, result, atol=1e-5)  # the recorded weights give the result
    fresh = shared_update(make("nash-mtl", 3), jac, torch.ones(3))
    assert torch.allclose(fresh, tja.NashMTL(n_tasks=3)(jac), rtol=1e-5, atol=1e-6)  # direction is scale-free


def test_wrappers_leave_the_global_generator_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    for name in ("pcgrad", "gradvac", "graddrop"):
        shared_update(make(name, 3), torch.randn(3, 6, generator=torch.Generator().manual_seed(1)), torch.ones(3))
    assert torch.equal(torch.rand(3), expected)


