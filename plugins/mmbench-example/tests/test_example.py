"""mmbench-example's own tests: mmbench's contract checks, golden values, and the hooks it implements."""

from __future__ import annotations

import math

import pluggy
import pytest
import torch
from click.testing import CliRunner

import mmbench_example
from mmbench import hookspecs
from mmbench.components.base import Need
from mmbench.testing import check_fuser, check_weighting
from mmbench_example.fusers import MaxFusion
from mmbench_example.weightings import SmoothTchebycheff


def _registered(hook: str) -> dict[str, dict]:
    """Call one of the plugin's registration hooks through pluggy, as mmbench does, and collect the calls."""
    pm = pluggy.PluginManager("mmbench")
    pm.add_hookspecs(hookspecs)
    pm.register(mmbench_example, name="example")
    seen: dict[str, dict] = {}
    getattr(pm.hook, hook)(register=lambda name, factory, **meta: seen.__setitem__(name, {"factory": factory, **meta}))
    return seen


def test_max_fusion_meets_the_fuser_contract():
    check_fuser(MaxFusion)
    check_fuser(MaxFusion, dim=5)


def test_max_fusion_is_the_elementwise_max_of_the_projections():
    fuser = MaxFusion({"a": 2, "b": 2}, dim=2)
    with torch.no_grad():
        fuser.proj["a"].weight.copy_(torch.eye(2))
        fuser.proj["b"].weight.copy_(2 * torch.eye(2))
        fuser.proj["a"].bias.zero_()
        fuser.proj["b"].bias.fill_(-1.0)
    out = fuser({"b": torch.tensor([[1.0, -3.0]]), "a": torch.tensor([[4.0, 0.5]])})
    # a -> (4, 0.5); b -> (2*1 - 1, 2*-3 - 1) = (1, -7); max = (4, 0.5)
    torch.testing.assert_close(out, torch.tensor([[4.0, 0.5]]))


def test_max_fusion_needs_two_modalities():
    with pytest.raises(ValueError, match="at least 2"):
        MaxFusion({"a": 3})


def test_stch_meets_the_weighting_contract():
    check_weighting(SmoothTchebycheff)
    check_weighting(SmoothTchebycheff, mu=1.0)
    assert SmoothTchebycheff.need is Need.LOSSES


def test_stch_is_a_soft_maximum_with_softmax_weights():
    stch = SmoothTchebycheff(3, mu=0.1)
    losses = torch.tensor([0.0, 0.0, 0.3 * math.log(4.0)], requires_grad=True)
    objective = stch.combine(losses)
    objective.backward()
    # L / (T mu) = (0, 0, ln 4): value mu * ln(1 + 1 + 4), weights softmax(.) / T = (1, 1, 4) / 18
    assert objective.item() == pytest.approx(0.1 * math.log(6.0))
    expected = torch.tensor([1 / 18, 1 / 18, 4 / 18])
    torch.testing.assert_close(losses.grad, expected)
    torch.testing.assert_close(stch.last_weights, expected)


def test_stch_tends_to_the_largest_weighted_loss_as_mu_shrinks():
    losses = torch.tensor([1.0, 2.0, 5.0])
    assert SmoothTchebycheff(3, mu=1e-3).combine(losses).item() == pytest.approx(5.0 / 3, abs=1e-3)
    with pytest.raises(ValueError, match="mu"):
        SmoothTchebycheff(3, mu=0.0)


def test_the_hooks_register_lazy_factories_with_metadata():
    fusers, weightings = _registered("mmbench_register_fusers"), _registered("mmbench_register_weightings")
    assert set(fusers) == {"max"} and set(weightings) == {"stch"}
    assert fusers["max"]["reference"] and fusers["max"]["description"]
    assert weightings["stch"]["need"] == "losses"
    assert weightings["stch"]["search_space"] == {"mu": {"low": 0.01, "high": 1.0, "log": True}}
    assert isinstance(fusers["max"]["factory"]({"a": 3, "b": 4}), MaxFusion)
    assert isinstance(weightings["stch"]["factory"](2, seed=0), SmoothTchebycheff)


def test_the_command_is_added_to_the_cli():
    import click

    group = click.Group("mmbench")
    pm = pluggy.PluginManager("mmbench")
    pm.add_hookspecs(hookspecs)
    pm.register(mmbench_example, name="example")
    pm.hook.mmbench_register_commands(cli=group)
    result = CliRunner().invoke(group, ["example-hello", "--name", "plugin author"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Hello, plugin author! mmbench-example registers:")
