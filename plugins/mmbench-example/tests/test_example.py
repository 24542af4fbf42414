"""mmbench-example's own tests: mmbench's contract checks, golden values, and the hooks it implements."""

from __future__ import annotations

import pluggy
import pytest
import torch
from click.testing import CliRunner

import mmbench_example
from mmbench import hookspecs
from mmbench.components.base import Need
from mmbench.testing import check_fuser, check_weighting
from mmbench_example.fusers import MaxFusion
from mmbench_example.weightings import GeometricLossStrategy


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


def test_gls_meets_the_weighting_contract():
    check_weighting(GeometricLossStrategy)
    assert GeometricLossStrategy.need is Need.LOSSES


def test_gls_is_the_geometric_mean_with_weights_g_over_t_l():
    gls = GeometricLossStrategy(3)
    losses = torch.tensor([1.0, 4.0, 16.0], requires_grad=True)
    objective = gls.combine(losses)
    objective.backward()
    assert objective.item() == pytest.approx(4.0)  # (1 * 4 * 16) ** (1/3)
    expected = torch.tensor([4 / 3, 1 / 3, 1 / 12])  # d G / d L_t = G / (T L_t)
    torch.testing.assert_close(losses.grad, expected)
    torch.testing.assert_close(gls.last_weights, expected)


def test_gls_is_finite_at_a_zero_loss():
    losses = torch.tensor([0.0, 2.0], requires_grad=True)
    GeometricLossStrategy(2).combine(losses).backward()
    assert torch.isfinite(losses.grad).all()


def test_the_hooks_register_lazy_factories_with_metadata():
    fusers, weightings = _registered("mmbench_register_fusers"), _registered("mmbench_register_weightings")
    assert set(fusers) == {"max"} and set(weightings) == {"gls"}
    assert fusers["max"]["reference"] and fusers["max"]["description"]
    assert weightings["gls"]["need"] == "losses"
    assert isinstance(fusers["max"]["factory"]({"a": 3, "b": 4}), MaxFusion)
    assert isinstance(weightings["gls"]["factory"](2, seed=0), GeometricLossStrategy)


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
