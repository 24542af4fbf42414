"""Built-in weightings: the contract check on each, registration, and loss-only golden values."""

from __future__ import annotations

import importlib
import inspect
import json
import math
import subprocess
import sys

import pytest
import torch
from torchjd import aggregation as tja
from torchjd.scalarization import GeometricMean

from mmbench.components.weightings.gramian_solvers import MinNormWeighting
from mmbench.components.weightings.torchjd_wrappers import TorchJDStrategy
from mmbench.plugins import get_registry
from mmbench.plugins.options import declared_need
from mmbench.testing import check_weighting
from mmbench.train.step import shared_update

PLUGIN = "mmbench.components.weightings"
REQUIRED = {"ew", "uw", "dwa", "rlw", "gls", "famo", "gradnorm", "db-mtl", "mgda", "pcgrad", "cagrad", "imtl-g",
            "nash-mtl", "aligned-mtl", "upgrad", "gradvac", "graddrop",
            # issue #24: tuned linear scalarization, and every torchjd 0.18 aggregator and scalarizer
            "ls", "si-ls", "fairgrad", "sdmgrad", "modo", "excess-mtl", "config", "dualproj", "cr-mogm", "pcd", "krum",
            "trimmed-mean", "stch", "imtl-l", "cosmos", "pbi"}
#: strategies that need more than one task, and the fewest they take (with their default options)
FEWEST_TASKS = {"nash-mtl": 2, "krum": 3, "trimmed-mean": 3}


def builtin_entries():
    return [e for e in get_registry("weightings") if e.plugin == PLUGIN]


def make(name: str, n_tasks: int = 3, **options):
    return get_registry("weightings").create(name, n_tasks, **options)


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


def factory_class(entry) -> type:
    module, _, attr = entry.factory.__mmbench_target__.partition(":")
    return getattr(importlib.import_module(module), attr)


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
