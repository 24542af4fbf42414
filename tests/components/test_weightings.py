"""Built-in weightings: the contract check on each, registration, and loss-only golden values."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch

from mmbench.components.base import Need
from mmbench.plugins import get_registry
from mmbench.testing import check_weighting

PLUGIN = "mmbench.components.weightings"
REQUIRED = {"ew", "uw", "dwa", "rlw", "famo", "gradnorm", "db-mtl", "mgda", "pcgrad", "cagrad", "imtl-g",
            "nash-mtl", "aligned-mtl", "upgrad"}


def builtin_entries():
    return [e for e in get_registry("weightings") if e.plugin == PLUGIN]


def make(name: str, n_tasks: int = 3, **options):
    return get_registry("weightings").create(name, n_tasks, **options)


def test_every_required_name_is_registered_with_metadata():
    entries = {e.name: e for e in builtin_entries()}
    assert REQUIRED <= set(entries)
    for entry in entries.values():
        assert entry.description and entry.metadata["reference"]
        assert entry.metadata["need"] == entry.create(2).need.value, entry.name


@pytest.mark.parametrize("entry", builtin_entries(), ids=lambda e: e.name)
def test_contract(entry):
    check_weighting(entry.factory)
    if entry.name == "nash-mtl":  # its bargaining problem is ill-formed for one task: a clear error instead
        with pytest.raises(ValueError, match="at least 2 tasks"):
            entry.create(1)
    else:
        check_weighting(entry.factory, n_tasks=1)


def test_registration_does_not_import_torch():
    code = f"import sys, {PLUGIN}; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


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


def test_uw_objective_and_gradients_match_closed_form():
    w = make("uw")
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
