"""mmbench-example's own tests, written with mmbench's documented helpers (docs/plugins.md, "Testing a
plugin"): the ``mmbench_plugins`` fixture loads this package through its real entry point and nothing else
installed, ``plugins.check()`` runs every contract check, ``run_tiny_grid`` trains the components in a grid;
plus golden values for what the methods compute."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import mmbench_example
from mmbench import Need
from mmbench.cli.main import cli
from mmbench.data.loading import load, resolve
from mmbench.store import ResultStore
from mmbench.testing import check_fuser, check_weighting, run_tiny_grid
from mmbench_example.fusers import MaxFusion
from mmbench_example.weightings import LossBalancedTaskWeighting


def test_the_plugin_loads_cleanly_and_every_component_meets_its_contract(mmbench_plugins):
    plugins = mmbench_plugins(entry_points=["example"])  # built-ins + this package only; any problem fails
    assert {(e.kind, e.name) for e in plugins.entries()} == {("fusers", "max"), ("weightings", "lbtw"),
                                                            ("datasets", "example-sensors")}
    plugins.check()  # check_fuser, check_weighting (with the registration's need), the dataset built and loaded


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


def test_lbtw_meets_the_weighting_contract():
    check_weighting(LossBalancedTaskWeighting)
    check_weighting(LossBalancedTaskWeighting, alpha=1.0)
    assert LossBalancedTaskWeighting.need is Need.LOSSES


def test_lbtw_weights_are_the_loss_ratios_to_the_epochs_first_step():
    lbtw = LossBalancedTaskWeighting(3, alpha=0.5)
    first = torch.tensor([1.0, 2.0, 4.0], requires_grad=True)
    lbtw.combine(first).backward()
    torch.testing.assert_close(first.grad, torch.ones(3))  # the first step is the reference: equal weights
    later = torch.tensor([0.25, 2.0, 1.0], requires_grad=True)
    objective = lbtw.combine(later)
    objective.backward()
    # (L / L0) ** 0.5 = (0.25, 1, 0.25) ** 0.5 = (0.5, 1, 0.5); objective 0.5 * 0.25 + 2 + 0.5 * 1
    expected = torch.tensor([0.5, 1.0, 0.5])
    torch.testing.assert_close(later.grad, expected)
    torch.testing.assert_close(lbtw.last_weights, expected)
    assert objective.item() == pytest.approx(2.625)
    lbtw.end_epoch(torch.tensor([0.5, 2.0, 2.0]))  # a new epoch: its first step is the new reference
    torch.testing.assert_close(_factors(lbtw, later.detach()), torch.ones(3))
    assert torch.equal(_factors(LossBalancedTaskWeighting(3, alpha=0.0), later.detach()), torch.ones(3))  # alpha 0: EW
    with pytest.raises(ValueError, match="alpha"):
        LossBalancedTaskWeighting(3, alpha=-1.0)


def _factors(weighting, losses):
    leaf = losses.clone().requires_grad_(True)
    weighting.combine(leaf).backward()
    return leaf.grad


def test_the_hooks_register_lazy_factories_with_metadata(mmbench_plugins):
    plugins = mmbench_plugins(entry_points=["example"])
    fuser, weighting = plugins.get("fusers", "max"), plugins.get("weightings", "lbtw")
    assert fuser.plugin == weighting.plugin == "example" and plugins.get("fusers", "example:max") is fuser
    assert fuser.metadata["reference"] and fuser.description
    assert "need" not in weighting.metadata  # declared once, on the class (LossBalancedTaskWeighting.need)
    assert weighting.metadata["search_space"] == {"alpha": {"low": 0.0, "high": 1.0}}
    assert fuser.factory.__mmbench_target__ == "mmbench_example.fusers:MaxFusion"  # lazy: imported when built
    assert isinstance(fuser.create({"a": 3, "b": 4}), MaxFusion)
    assert isinstance(weighting.create(2, seed=0), LossBalancedTaskWeighting)


def test_a_tiny_grid_trains_the_components(mmbench_plugins, tmp_path: Path):
    mmbench_plugins(entry_points=["example"])
    summary = run_tiny_grid(tmp_path, fusers=["concat", "max"], weightings=["ew", "lbtw"], families=["mt-cm"])
    assert (summary.total, summary.ok) == (4, 4)
    with ResultStore(tmp_path / "tiny-run") as store:
        fusers = {r.config["fuser"]["name"]: r.config["fuser"] for r in store.rows("ok")}
    assert fusers["max"] == {"name": "max", "dim": 64}  # the default entered the cells' identity


def test_the_dataset_ships_inside_the_package_and_trains(mmbench_plugins, tmp_path: Path):
    mmbench_plugins(entry_points=["example"])
    data = load(resolve("example-sensors"))
    assert Path(data.spec.source) == Path(mmbench_example.__file__).parent / "data" / "sensors"  # package data
    assert {m: i.shape for m, i in data.modality_info.items()} == {"a": (3,), "b": (3,)}
    assert [len(data.splits[s]) for s in ("train", "validation", "test")] == [216, 24, 60]
    summary = run_tiny_grid(tmp_path, dataset="example-sensors", tasks=["label", "level"], fusers=["max"],
                            families=["st-cm", "mt-cm"])
    assert (summary.total, summary.ok) == (3, 3)


def test_the_command_is_added_to_the_cli(mmbench_plugins):
    mmbench_plugins(entry_points=["example"])
    result = CliRunner().invoke(cli, ["example-hello", "--name", "plugin author"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Hello, plugin author! mmbench-example registers:")
    assert "fuser 'max'" in result.output and "dataset 'example-sensors'" in result.output
