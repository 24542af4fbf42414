"""Loss-only weightings against their closed forms and LibMTL's formulas: EW, UW, GLS, DWA, RLW, FAMO."""

from __future__ import annotations

import math

import pytest
import torch
from torchjd.scalarization import GeometricMean

from weightings_support import make


def _loss_gradient(w, losses):
    leaf = losses.clone().requires_grad_(True)
    value = w.combine(leaf)
    value.backward()
    return value.detach(), leaf.grad


def test_ew_is_the_sum_with_unit_gradient():
    losses = torch.tensor([0.3, 1.7, 2.0])
    value, grad = _loss_gradient(make("ew"), losses)
    assert value.item() == pytest.approx(4.0)
    assert torch.equal(grad, torch.ones(3))


def test_uw_plain_form_objective_and_gradients_match_closed_form():
    w = make("uw", form="plain")
    with torch.no_grad():
        w.log_vars.copy_(torch.tensor([0.5, -1.0, 0.0]))
    losses = torch.tensor([2.0, 3.0, 4.0])
    value, grad_losses = _loss_gradient(w, losses)
    s, L = [0.5, -1.0, 0.0], [2.0, 3.0, 4.0]
    assert value.item() == pytest.approx(sum(math.exp(-si) * li + si for si, li in zip(s, L)), rel=1e-6)
    assert torch.allclose(grad_losses, torch.tensor([math.exp(-si) for si in s]))
    expected_s_grad = torch.tensor([1 - math.exp(-si) * li for si, li in zip(s, L)])
    assert torch.allclose(w.log_vars.grad, expected_s_grad)
    assert torch.allclose(w.last_weights, grad_losses)
    w.reset()
    assert torch.equal(w.log_vars.detach(), torch.zeros(3))


def libmtl_uw(losses, loss_scale):
    """LibMTL's ``UW.backward`` objective (weighting/UW.py), written out."""
    return (losses / (2 * loss_scale.exp()) + loss_scale / 2).sum()


def test_uw_default_is_libmtls_objective_init_and_weights():
    w = make("uw")
    assert w.form == "libmtl" and torch.equal(w.log_vars.detach(), torch.full((3,), -0.5))
    losses = torch.tensor([2.0, 3.0, 0.5])
    scale = torch.full((3,), -0.5, requires_grad=True)
    expected = libmtl_uw(losses, scale)
    expected.backward()
    leaf = losses.clone().requires_grad_(True)
    value = w.combine(leaf)
    value.backward()
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
    assert torch.allclose(w.log_vars.grad, scale.grad)
    assert torch.allclose(leaf.grad, 1 / (2 * scale.detach().exp()))  # LibMTL returns these as its weights
    assert torch.allclose(w.last_weights, leaf.grad)


def test_uw_plain_form_is_twice_libmtls_so_moves_twice_as_fast():
    losses = torch.tensor([2.0, 3.0, 0.5])
    plain, libmtl = make("uw", form="plain", init=0.3), make("uw", form="libmtl", init=0.3)
    _loss_gradient(plain, losses)
    _loss_gradient(libmtl, losses)
    assert torch.allclose(plain.combine(losses), 2 * libmtl.combine(losses))
    assert torch.allclose(plain.log_vars.grad, 2 * libmtl.log_vars.grad)


def test_uw_kendall_form_uses_the_task_types():
    # Kendall et al. 2018, eq. 10: 1/(2σ²) L_reg + 1/σ² L_cls + log σ_reg + log σ_cls, with s = log σ²
    w = make("uw", 3, form="kendall", task_types=["regression", "classification", "multilabel"])
    with torch.no_grad():
        w.log_vars.copy_(torch.tensor([0.2, -0.4, 0.1]))
    losses = torch.tensor([1.5, 0.7, 0.3])
    sigma2 = torch.exp(torch.tensor([0.2, -0.4, 0.1]))
    expected = (losses[0] / (2 * sigma2[0]) + losses[1] / sigma2[1] + losses[2] / sigma2[2]
                + sigma2.sqrt().log().sum())
    value, grad = _loss_gradient(w, losses)
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
    assert torch.allclose(grad, torch.tensor([0.5, 1.0, 1.0]) / sigma2)
    assert torch.equal(make("uw", 3, form="kendall", task_types=["regression"] * 3).log_vars.detach(), torch.zeros(3))
    with pytest.raises(ValueError, match="task_types"):
        make("uw", 3, form="kendall")
    with pytest.raises(ValueError, match="unknown task types"):
        make("uw", 2, form="kendall", task_types=["regression", "ranking"])
    with pytest.raises(ValueError, match="form"):
        make("uw", form="half")


@pytest.mark.parametrize("form", ["libmtl", "kendall"])
def test_uw_half_forms_share_the_stationary_weight_one_over_two_l(form):
    losses = torch.tensor([2.0, 0.25])
    w = make("uw", 2, form=form, task_types=["classification", "regression"])
    with torch.no_grad():  # the s minimising the objective for fixed L: a_t exp(-s_t) = 1 / (2 L_t)
        w.log_vars.copy_(torch.log(2 * w.factors * losses))
    _, grad = _loss_gradient(w, losses)
    assert torch.allclose(w.log_vars.grad, torch.zeros(2), atol=1e-6)
    assert torch.allclose(grad, 1 / (2 * losses))


def test_gls_is_the_geometric_mean_with_weights_g_over_t_l():
    gls = make("gls")
    losses = torch.tensor([1.0, 4.0, 16.0])
    value, grad = _loss_gradient(gls, losses)
    assert value.item() == pytest.approx(4.0)  # (1 * 4 * 16) ** (1/3)
    assert value.item() == pytest.approx(GeometricMean()(losses).item())
    expected = torch.tensor([4 / 3, 1 / 3, 1 / 12])  # d G / d L_t = G / (T L_t)
    assert torch.allclose(grad, expected) and torch.allclose(gls.last_weights, expected)
    zero = torch.tensor([0.0, 2.0])
    assert torch.isfinite(_loss_gradient(make("gls", 2), zero)[1]).all()  # clamped at eps


def test_dwa_weights_follow_the_formula():
    w = make("dwa")
    losses = torch.tensor([1.0, 2.0, 3.0])
    assert torch.equal(_loss_gradient(w, losses)[1], torch.ones(3))  # epoch 0
    w.end_epoch(torch.tensor([1.0, 2.0, 3.0]))
    assert torch.equal(_loss_gradient(w, losses)[1], torch.ones(3))  # epoch 1
    w.end_epoch(torch.tensor([0.5, 2.0, 3.3]))
    ratios = [0.5 / 1.0, 2.0 / 2.0, 3.3 / 3.0]
    exps = [math.exp(r / 2.0) for r in ratios]
    expected = torch.tensor([3 * e / sum(exps) for e in exps])
    value, grad = _loss_gradient(w, losses)
    assert torch.allclose(grad, expected, atol=1e-6)
    assert value.item() == pytest.approx(float(expected @ losses), rel=1e-6)
    assert torch.allclose(w.last_weights, expected)
    w.end_epoch(torch.tensor([0.25, 2.0, 3.3]))  # now the ratios of the last two epochs only
    exps = [math.exp(r / 2.0) for r in (0.5, 1.0, 1.0)]
    assert torch.allclose(_loss_gradient(w, losses)[1], torch.tensor([3 * e / sum(exps) for e in exps]), atol=1e-6)
    w.reset()
    assert torch.equal(_loss_gradient(w, losses)[1], torch.ones(3))
    assert int(w.epochs_seen) == 0


def test_rlw_is_reproducible_under_a_seed_and_sums_to_one():
    losses = torch.tensor([1.0, 2.0, 3.0])

    def draws(seed):
        w = make("rlw", seed=seed)
        return torch.stack([_loss_gradient(w, losses)[1] for _ in range(4)])

    first = draws(7)
    assert torch.equal(first, draws(7))
    assert not torch.equal(first, draws(8))
    assert torch.allclose(first.sum(dim=1), torch.ones(4))
    assert not torch.allclose(first[0], first[1])  # a fresh draw each step
    g = torch.Generator().manual_seed(7)
    assert torch.allclose(first[0], torch.softmax(torch.randn(3, generator=g), dim=0))


def test_famo_loss_gradient_is_the_normalised_inverse_loss_at_start():
    w = make("famo")
    losses = torch.tensor([0.5, 2.0, 4.0])
    _, grad = _loss_gradient(w, losses)
    inv = 1 / (losses + 1e-8)
    assert torch.allclose(grad, inv / inv.sum())
    assert torch.allclose(w.last_weights, grad)


def test_famo_logit_gradient_matches_autograd_of_the_softmax():
    w = make("famo")
    with torch.no_grad():
        w.logits.copy_(torch.tensor([0.2, -0.3, 0.1]))
    before, after = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.9, 1.5, 3.1])
    w.combine(before)
    logits = w.logits.clone().requires_grad_(True)
    delta = (before + 1e-8).log() - (after + 1e-8).log()
    (expected,) = torch.autograd.grad(torch.softmax(logits, -1), logits, grad_outputs=delta)
    assert torch.allclose(w.logit_gradient(after), expected, atol=1e-7)


def test_famo_update_is_torch_adam_with_weight_decay():
    w = make("famo", lr=0.05, weight_decay=0.01)
    logits = torch.zeros(3, requires_grad=True)
    adam = torch.optim.Adam([logits], lr=0.05, weight_decay=0.01)
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        before, after = torch.rand(3, generator=g) + 1, torch.rand(3, generator=g) + 0.5
        w.combine(before)
        logits.grad = w.logit_gradient(after)  # computed at the current logits, as FAMO does
        adam.step()
        w.after_step(after)
        assert torch.allclose(w.logits, logits.detach(), atol=1e-6)
    assert not torch.allclose(w.logits, torch.zeros(3))


def test_famo_reset_restores_state():
    w = make("famo")
    g = torch.Generator().manual_seed(3)
    seq = [(torch.rand(3, generator=g) + 1, torch.rand(3, generator=g) + 0.5) for _ in range(3)]

    def run():
        out = []
        for before, after in seq:
            out.append(_loss_gradient(w, before)[1])
            w.after_step(after)
        return torch.stack(out)

    first = run()
    w.reset()
    assert torch.equal(w.logits, torch.zeros(3)) and int(w.steps) == 0
    assert torch.equal(run(), first)
    with pytest.raises(RuntimeError):
        make("famo").after_step(torch.ones(3))

