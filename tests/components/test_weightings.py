"""Built-in weightings: registration, the contract check on each, and the plugin-facing contract
(weights returned and recorded). Golden values: test_weightings_loss_based.py, test_weightings_torchjd.py,
test_weightings_golden*.py."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest
import torch

from mmbench.components.weightings.torchjd_wrappers import TorchJDStrategy
from mmbench.plugins.options import declared_need
from mmbench.testing import check_weighting
from mmbench.train.step import shared_update
from weightings_support import builtin_entries, factory_class

PLUGIN = "mmbench.components.weightings"
REQUIRED = {"ew", "uw", "dwa", "rlw", "gls", "famo", "gradnorm", "db-mtl", "mgda", "pcgrad", "cagrad", "imtl-g",
            "nash-mtl", "aligned-mtl", "upgrad", "gradvac", "graddrop",
            # issue #24: tuned linear scalarization, and every torchjd 0.18 aggregator and scalarizer
            "ls", "si-ls", "fairgrad", "sdmgrad", "modo", "excess-mtl", "config", "dualproj", "cr-mogm", "pcd", "krum",
            "trimmed-mean", "stch", "imtl-l", "cosmos", "pbi"}
#: strategies that need more than one task, and the fewest they take (with their default options)
FEWEST_TASKS = {"nash-mtl": 2, "krum": 3, "trimmed-mean": 3}



def test_every_required_name_is_registered_with_metadata():
    entries = {e.name: e for e in builtin_entries()}
    assert REQUIRED <= set(entries)
    for entry in entries.values():
        assert entry.description and entry.metadata["reference"]
        assert "need" not in entry.metadata, f"{entry.name}: need is declared once, on the class"
        built = entry.create(max(2, FEWEST_TASKS.get(entry.name, 1)))
        assert declared_need(entry) == type(built).need.value, entry.name  # read from source, unbuilt


@pytest.mark.parametrize("entry", builtin_entries(), ids=lambda e: e.name)
def test_contract(entry):
    check_weighting(entry.factory)
    fewest = FEWEST_TASKS.get(entry.name, 1)
    if fewest > 1:  # Nash-MTL's bargaining problem is ill-formed for one task, Krum and the trimmed mean discard
        with pytest.raises(ValueError, match=f"at least {fewest} tasks"):  # rows: a clear error instead
            entry.create(fewest - 1)
        check_weighting(entry.factory, n_tasks=fewest)
    else:
        check_weighting(entry.factory, n_tasks=1)


@pytest.mark.parametrize("entry", builtin_entries(), ids=lambda e: e.name)
def test_options_are_explicit_keyword_parameters_with_json_defaults(entry):
    params = list(inspect.signature(factory_class(entry)).parameters.values())
    assert [p.name for p in params[:2]] == ["n_tasks", "seed"]
    for p in params[1:]:
        assert p.kind is p.POSITIONAL_OR_KEYWORD, f"{entry.name}: {p} (no *args / **options pass-through)"
        assert p.default is not p.empty, f"{entry.name}: option {p.name} has no default"
        json.dumps(p.default)
    if issubclass(factory_class(entry), TorchJDStrategy) or declared_need(entry) != "losses":
        assert "wrt" in {p.name for p in params}


@pytest.mark.parametrize("entry", builtin_entries(), ids=lambda e: e.name)
def test_search_spaces_name_real_options_with_valid_ranges(entry):
    space = entry.metadata.get("search_space", {})
    options = inspect.signature(factory_class(entry)).parameters
    for name, spec in space.items():
        assert name in options, f"{entry.name}: search space names {name!r}, which the factory does not take"
        default = options[name].default
        if "choices" in spec:
            assert default in spec["choices"]
        else:
            assert set(spec) <= {"low", "high", "log", "int", "per_task"} and spec["low"] < spec["high"]
            assert spec["low"] <= default <= spec["high"], f"{entry.name}.{name}: default outside the space"
            assert not spec.get("log") or spec["low"] > 0
    json.dumps(space)
    expected = {"dwa": {"temperature"}, "cagrad": {"c"}, "gradnorm": {"alpha"}, "famo": {"lr", "weight_decay"},
                "gradvac": {"beta"}, "ls": {"weights"}, "si-ls": {"weights"}, "stch": {"mu"}, "cosmos": {"lambda_"},
                "pbi": {"theta"}, "fairgrad": {"alpha"}, "cr-mogm": {"alpha"}, "sdmgrad": {"lambda_"}, "modo": {"gamma"},
                "pcd": {"tau"}, "excess-mtl": {"robust_step_size"}}
    assert set(space) == expected.get(entry.name, set())


def test_registration_does_not_import_torch():
    code = f"import sys, {PLUGIN}; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)

# --- the plugin-facing contract: weights returned and recorded, old plugins told what to change -------

def test_jacobian_weightings_return_the_weights_they_record():
    from mmbench import JacobianWeighting

    class Halve(JacobianWeighting):
        def jacobian_weights(self, jacobian, losses):
            return torch.full((self.n_tasks,), 0.5)

    jac = torch.randn(3, 5, generator=torch.Generator().manual_seed(0))
    w = Halve(3)
    assert torch.allclose(shared_update(w, jac, torch.ones(3)), 0.5 * jac.sum(dim=0))
    assert torch.equal(w.last_weights, torch.full((3,), 0.5))  # recorded by the base class: exactly the applied ones
    check_weighting(Halve)

    class Wrong(JacobianWeighting):
        def jacobian_weights(self, jacobian, losses):
            return torch.ones(self.n_tasks + 1)

    with pytest.raises(ValueError, match=r"Wrong.jacobian_weights returned shape \(4,\); expected \[3\]"):
        Wrong(3).weigh(jac, torch.ones(3))


def test_the_old_direction_returning_api_fails_with_what_to_change():
    from mmbench import GramianWeighting, JacobianAggregator, JacobianWeighting, Need, Weighting

    for base in (JacobianWeighting, GramianWeighting, Weighting):
        with pytest.raises(TypeError, match=r"defines aggregate\(jacobian, losses\) -> direction.*implement "
                                            r"jacobian_weights\(jacobian, losses\) -> \[T\].*JacobianAggregator"):
            type("OldStyle", (base,), {"need": Need.PARAM_JACOBIAN, "aggregate": lambda self, j, l: j.sum(dim=0)})

    class Summed(JacobianAggregator):  # an update that is not a weighting keeps aggregate, honestly
        def aggregate(self, jacobian, losses):
            return jacobian.sum(dim=0)

    check_weighting(Summed)
    assert Summed(2).last_weights is None
    code = "from mmbench.components.weightings._jacobian import JacobianWeighting"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr and "use `from mmbench import JacobianWeighting`" in proc.stderr


def test_check_weighting_compares_last_weights_with_the_applied_loss_factors():
    from mmbench import Weighting
    from mmbench.testing import ContractError

    class Doubled(Weighting):  # weights every loss by 2 but never says so: last_weights stays the default ones
        def combine(self, losses):
            return 2 * losses.sum()

    with pytest.raises(ContractError, match=r"last_weights \[1.0, 1.0, 1.0\] are not the factors combine applied"):
        check_weighting(Doubled)

    class Honest(Doubled):
        def combine(self, losses):
            self.last_weights = torch.full((self.n_tasks,), 2.0)
            return 2 * losses.sum()

    check_weighting(Honest)

    class Infinite(Weighting):
        def combine(self, losses):
            return losses.sum() * float("inf")

    with pytest.raises(ContractError, match="combine returned a non-finite objective"):
        check_weighting(Infinite)
