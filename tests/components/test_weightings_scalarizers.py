"""Loss-only strategies added by issue #24: tuned linear scalarization (``ls``, ``si-ls``) and torchjd's
scalarizers (``stch``, ``imtl-l``, ``cosmos``, ``pbi``), against closed forms and torchjd's own values."""

from __future__ import annotations

import math

import pytest
import torch
from torchjd import scalarization as tjs

from mmbench.plugins import get_registry


def make(name: str, n_tasks: int = 3, **options):
    return get_registry("weightings").create(name, n_tasks, **options)


def value_and_factors(w, losses):
    leaf = losses.clone().requires_grad_(True)
    value = w.combine(leaf)
    value.backward()
    return value.detach(), leaf.grad


LOSSES = torch.tensor([0.3, 1.7, 2.0])


def test_untuned_ls_is_ew_exactly():
    ew, ls = make("ew"), make("ls")
    assert torch.equal(ls.combine(LOSSES), ew.combine(LOSSES))  # bit for bit: an untuned ls cell is an EW cell
    assert torch.equal(value_and_factors(ls, LOSSES)[1], torch.ones(3)) and torch.equal(ls.last_weights, torch.ones(3))


def test_ls_weights_are_per_task_and_normalised_to_mean_one():
    ls = make("ls", weights=[1.0, 2.0, 5.0])  # mean 8/3
    expected = torch.tensor([3 / 8, 6 / 8, 15 / 8])
    value, factors = value_and_factors(ls, LOSSES)
    assert torch.allclose(factors, expected) and torch.allclose(ls.last_weights, expected)
    assert value.item() == pytest.approx(float(expected @ LOSSES))
    assert torch.equal(make("ls", weights=[2.0, 4.0, 10.0]).weights, ls.weights)  # only the ratios matter
    assert torch.equal(make("ls", weights=7.0).weights, torch.ones(3))  # one value: every task
    ls.reset(3)
    assert torch.allclose(ls.last_weights, expected)  # fixed weights survive reset
    for bad in ([1.0, 2.0], [1.0, 0.0, 1.0], -1.0):
        with pytest.raises(ValueError, match="weights"):
            make("ls", weights=bad)


def test_si_ls_is_the_weighted_sum_of_log_losses():
    si = make("si-ls", weights=[1.0, 1.0, 2.0])
    w = torch.tensor([0.75, 0.75, 1.5])
    value, factors = value_and_factors(si, LOSSES)
    assert value.item() == pytest.approx(float((w * LOSSES.log()).sum()))
    assert torch.allclose(factors, w / LOSSES) and torch.allclose(si.last_weights, w / LOSSES)
    # scale invariance: multiplying one task's loss by 10 shifts the objective, not the gradient w.r.t. log L
    scaled = LOSSES * torch.tensor([10.0, 1.0, 1.0])
    assert torch.allclose(value_and_factors(si, scaled)[1] * scaled, factors * LOSSES)
    assert math.isfinite(value_and_factors(make("si-ls"), torch.tensor([0.0, 1.0, 1.0]))[0].item())  # clamped at eps


def test_stch_is_a_soft_maximum_with_softmax_weights():
    # moved from the example plugin: L / (T mu) = (0, 0, ln 4), value mu ln(1 + 1 + 4), weights (1, 1, 4) / 18
    stch = make("stch", mu=0.1)
    value, factors = value_and_factors(stch, torch.tensor([0.0, 0.0, 0.3 * math.log(4.0)]))
    assert value.item() == pytest.approx(0.1 * math.log(6.0))
    expected = torch.tensor([1 / 18, 1 / 18, 4 / 18])
    torch.testing.assert_close(factors, expected)
    torch.testing.assert_close(stch.last_weights, expected)
    assert make("stch", mu=1e-3).combine(torch.tensor([1.0, 2.0, 5.0])).item() == pytest.approx(5.0 / 3, abs=1e-3)
    with pytest.raises(ValueError, match="mu"):
        make("stch", mu=0.0)


def test_imtl_l_learns_scales_towards_one_over_the_loss():
    w = make("imtl-l")
    with torch.no_grad():
        w.scalarizer.log_scale.copy_(torch.tensor([0.5, -1.0, 0.0]))
    value, factors = value_and_factors(w, LOSSES)
    s = torch.tensor([0.5, -1.0, 0.0])
    assert value.item() == pytest.approx(float((s.exp() * LOSSES - s).sum()), rel=1e-6)  # Liu et al. 2021: sum e^s L - s
    assert torch.allclose(factors, s.exp()) and torch.allclose(w.last_weights, s.exp())
    assert torch.allclose(w.scalarizer.log_scale.grad, s.exp() * LOSSES - 1)  # stationary at e^s = 1 / L
    assert [p.shape for p in w.parameters()] == [torch.Size([3])]  # trained with the model
    w.reset()
    assert torch.equal(w.scalarizer.log_scale.detach(), torch.zeros(3))


@pytest.mark.parametrize("name, direct", [
    ("cosmos", lambda pref: tjs.COSMOS(lambda_=1.0, weights=pref)),
    ("pbi", lambda pref: tjs.PBI(theta=5.0, weights=pref)),
])
def test_cosmos_and_pbi_are_torchjds_scalarizers(name, direct):
    w = make(name, pref_vector=[1.0, 1.0, 2.0])
    pref = torch.tensor([0.25, 0.25, 0.5])  # normalised to the simplex
    value, factors = value_and_factors(w, LOSSES)
    leaf = LOSSES.clone().requires_grad_(True)
    expected = direct(pref)(leaf)
    expected.backward()
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
    assert torch.allclose(factors, leaf.grad) and torch.allclose(w.last_weights, leaf.grad)


def test_cosmos_without_penalty_is_linear_scalarization_and_pbi_with_a_uniform_preference():
    value, factors = value_and_factors(make("cosmos", lambda_=0.0), LOSSES)
    assert value.item() == pytest.approx(float(LOSSES.mean())) and torch.allclose(factors, torch.full((3,), 1 / 3))
    # PBI, theta 0: the projection of L on the unit preference direction, d1 = sum L / sqrt(T)
    assert make("pbi", theta=0.0).combine(LOSSES).item() == pytest.approx(float(LOSSES.sum()) / math.sqrt(3), rel=1e-6)
    with pytest.raises(ValueError, match="pref_vector"):
        make("pbi", pref_vector=[1.0, -1.0, 1.0])
