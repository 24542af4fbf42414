"""Built-in aligners: the mmbench contract on every one, plus golden values for each loss."""

from __future__ import annotations

import importlib
import inspect
import json
import math
import os
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F

from mmbench.components.aligners.contrastive import InfoNCEAligner, VSEPPAligner, clip_loss, vsepp_loss
from mmbench.components.aligners.cross_attention import CrossAttentionAligner
from mmbench.components.aligners.dcca import DCCAAligner, cca_loss
from mmbench.components.aligners.projection import NoAligner, ProjectionAligner
from mmbench.plugins import get_registry
from mmbench.testing import check_aligner

PLUGIN = "mmbench.components.aligners"
BUILTINS = [e for e in get_registry("aligners") if e.plugin == PLUGIN]
EXPECTED = {"none", "projection", "infonce", "dcca", "vsepp", "cross-attention"}


def test_every_expected_aligner_is_registered_with_metadata() -> None:
    assert {e.name for e in BUILTINS} == EXPECTED
    for e in BUILTINS:
        assert e.description
        if e.name not in ("none", "projection"):
            assert e.metadata.get("reference")


@pytest.mark.parametrize("entry", BUILTINS, ids=lambda e: e.name)
def test_contract(entry) -> None:
    with warnings.catch_warnings():  # the contract's batch of 6 is below DCCA's width: it warns, rightly
        warnings.filterwarnings("ignore", message="DCCA on a batch")
        check_aligner(entry.factory)
        check_aligner(entry.factory, in_dims={"a": 6, "b": 4, "c": 5})


@pytest.mark.parametrize("entry", [e for e in BUILTINS if e.name != "none"], ids=lambda e: e.name)
def test_shared_width(entry) -> None:
    aligner = entry.create({"image": 12, "text": 8}, dim=16)
    assert aligner.out_dims == {"image": 16, "text": 16}
    assert aligner.scores_retrieval
    default = 8 if entry.name == "dcca" else 64  # DCCA's small default width: see test_dcca_defaults_...
    assert entry.create({"image": 12, "text": 8}).out_dims == {"image": default, "text": default}


def _factory_class(entry) -> type:
    module, _, attr = entry.factory.__mmbench_target__.partition(":")
    return getattr(importlib.import_module(module), attr)


@pytest.mark.parametrize("entry", BUILTINS, ids=lambda e: e.name)
def test_options_are_explicit_keyword_parameters_with_json_defaults(entry) -> None:
    params = list(inspect.signature(_factory_class(entry)).parameters.values())
    assert params[0].name == "in_dims"
    for p in params[1:]:
        assert p.kind is p.POSITIONAL_OR_KEYWORD and p.default is not p.empty, f"{entry.name}: {p}"
        json.dumps(p.default)


#: kind -> name -> the options a search space is declared for (InfoNCE's initial temperature, VSE++'s
#: margin, low-rank fusion's rank; the fuser is checked here with the other spaces this change declared)
SEARCH_SPACES = {"aligners": {"infonce": {"temperature"}, "vsepp": {"margin"}},
                 "fusers": {"lowrank-tensor": {"rank"}, "mbt": {"n_bottlenecks", "fusion_layer"}, "film": {"blocks"},
                            "embracenet": {"dim"}}}


@pytest.mark.parametrize("kind", sorted(SEARCH_SPACES))
def test_search_spaces_name_real_options_with_valid_ranges(kind) -> None:
    entries = [e for e in get_registry(kind) if e.plugin == f"mmbench.components.{kind}"]
    declared = {e.name: set(e.metadata["search_space"]) for e in entries if "search_space" in e.metadata}
    assert declared == SEARCH_SPACES[kind]
    for e in entries:
        options = inspect.signature(_factory_class(e)).parameters
        for name, spec in e.metadata.get("search_space", {}).items():
            default = options[name].default
            assert spec["low"] < spec["high"] and spec["low"] <= default <= spec["high"], (e.name, name)
            assert not spec.get("log") or spec["low"] > 0
            assert not spec.get("int") or all(isinstance(spec[b], int) for b in ("low", "high"))
        json.dumps(e.metadata.get("search_space", {}))


def test_none_passes_through() -> None:
    x = {"text": torch.randn(3, 4), "image": torch.randn(3, 5)}
    aligner = NoAligner({"text": 4, "image": 5})
    out = aligner(x)
    assert not NoAligner.scores_retrieval and out.loss is None
    assert list(out.features) == ["image", "text"]
    assert all(out.features[m] is x[m] for m in x)
    assert aligner.out_dims == {"image": 5, "text": 4}
    assert NoAligner({"a": 3})({"a": torch.ones(2, 3)}).features["a"].shape == (2, 3)


def test_projection_has_no_loss() -> None:
    assert ProjectionAligner({"a": 3, "b": 2}, dim=5)({"a": torch.ones(2, 3), "b": torch.ones(2, 2)}).loss is None


def _identity_projections(aligner: torch.nn.Module) -> None:
    with torch.no_grad():
        for layer in aligner.projections.proj.values():
            layer.weight.copy_(torch.eye(layer.weight.shape[0]))
            layer.bias.zero_()


# --- InfoNCE / CLIP ---------------------------------------------------------------------------

def test_clip_loss_closed_form_on_orthonormal_pairs() -> None:
    # a_i = b_i = e_i: logits = s * I, so each row's cross-entropy is log(1 + (n - 1) exp(-s)).
    n, scale = 4, 3.0
    e = torch.eye(n)
    expected = math.log(1 + (n - 1) * math.exp(-scale))
    assert clip_loss(e, e, scale).item() == pytest.approx(expected, rel=1e-6)


def test_clip_loss_is_symmetric_cross_entropy() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = F.normalize(torch.randn(5, 3, generator=g), dim=1), F.normalize(torch.randn(5, 3, generator=g), dim=1)
    logits = 2.0 * a @ b.T
    by_hand = -(logits.log_softmax(1).diagonal().mean() + logits.log_softmax(0).diagonal().mean()) / 2
    assert clip_loss(a, b, 2.0).item() == pytest.approx(by_hand.item(), rel=1e-6)


def test_infonce_aligner_golden_and_ordering() -> None:
    n = 4
    aligner = InfoNCEAligner({"a": n, "b": n}, dim=n, temperature=0.5, learn_temperature=False)
    _identity_projections(aligner)
    assert not list(p for p in aligner.parameters() if p.dim() == 0)  # fixed temperature is a buffer
    x = 3.0 * torch.eye(n)  # normalisation removes the scale
    aligned = aligner({"a": x, "b": x}).loss
    assert aligned.item() == pytest.approx(math.log(1 + (n - 1) * math.exp(-2.0)), rel=1e-6)
    shuffled = aligner({"a": x, "b": x[torch.tensor([1, 2, 3, 0])]}).loss
    assert shuffled > aligned


def test_infonce_temperature_is_learnable_and_clamped() -> None:
    aligner = InfoNCEAligner({"a": 3, "b": 3})
    assert isinstance(aligner.log_logit_scale, torch.nn.Parameter)
    assert aligner.logit_scale.item() == pytest.approx(1 / 0.07, rel=1e-5)
    with torch.no_grad():
        aligner.log_logit_scale.fill_(10.0)
    assert aligner.logit_scale.item() == pytest.approx(100.0, rel=1e-5)


def test_infonce_averages_over_pairs() -> None:
    torch.manual_seed(0)
    aligner = InfoNCEAligner({"a": 3, "b": 3, "c": 3}, dim=4)
    x = {m: torch.randn(5, 3) for m in "abc"}
    out = aligner(x)
    z, s = out.features, aligner.logit_scale
    pairs = [clip_loss(z["a"], z["b"], s), clip_loss(z["a"], z["c"], s), clip_loss(z["b"], z["c"], s)]
    assert torch.allclose(out.loss, torch.stack(pairs).mean())
    assert torch.allclose(z["a"].norm(dim=1), torch.ones(5))


# --- DCCA -------------------------------------------------------------------------------------

def _cca_reference(h1: np.ndarray, h2: np.ndarray, eps: float) -> float:
    """The paper's form with symmetric matrix square roots (scipy), independent of the Cholesky route."""
    n = len(h1)
    h1, h2 = h1 - h1.mean(0), h2 - h2.mean(0)
    s11 = h1.T @ h1 / (n - 1) + eps * np.eye(h1.shape[1])
    s22 = h2.T @ h2 / (n - 1) + eps * np.eye(h2.shape[1])
    s12 = h1.T @ h2 / (n - 1)
    t = np.linalg.inv(scipy.linalg.sqrtm(s11)) @ s12 @ np.linalg.inv(scipy.linalg.sqrtm(s22))
    return -float(np.linalg.svd(np.real(t), compute_uv=False).sum())


def test_cca_loss_matches_matrix_square_root_form() -> None:
    g = torch.Generator().manual_seed(0)
    h1 = torch.randn(40, 5, generator=g, dtype=torch.float64)
    h2 = h1[:, :3] @ torch.randn(3, 4, generator=g, dtype=torch.float64) + torch.randn(40, 4, generator=g, dtype=torch.float64)
    assert cca_loss(h1, h2, eps=1e-3).item() == pytest.approx(_cca_reference(h1.numpy(), h2.numpy(), 1e-3), rel=1e-8)


def test_cca_loss_perfect_and_no_correlation() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(500, 4, generator=g, dtype=torch.float64)
    assert cca_loss(x, x).item() == pytest.approx(-4.0, abs=0.02)
    rotation = torch.linalg.qr(torch.randn(4, 4, generator=g, dtype=torch.float64)).Q
    mixed = x @ rotation @ torch.diag(torch.tensor([0.5, 1.0, 2.0, 3.0], dtype=torch.float64)) + 1.0
    assert cca_loss(x, mixed).item() == pytest.approx(-4.0, abs=0.02)  # invariant to invertible affine maps
    noise = torch.randn(2000, 4, generator=g, dtype=torch.float64)
    assert -0.3 < cca_loss(x.repeat(4, 1), noise).item() <= 0
    assert cca_loss(x, x, top_k=2).item() == pytest.approx(-2.0, abs=0.01)


@pytest.mark.parametrize("batch", [1, 2, 3])
def test_cca_loss_finite_on_tiny_batches(batch: int) -> None:
    g = torch.Generator().manual_seed(batch)
    h1 = torch.randn(batch, 64, generator=g, requires_grad=True)
    h2 = torch.randn(batch, 64, generator=g, requires_grad=True)
    loss = cca_loss(h1, h2)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(h1.grad).all() and torch.isfinite(h2.grad).all()


def test_dcca_defaults_do_not_saturate_on_independent_noise() -> None:
    # Issue #16: at dim 64 and batch 64 pure noise scored -60.6 of -64 (mean correlation 0.95)
    torch.manual_seed(0)
    aligner = DCCAAligner({"a": 32, "b": 32})
    g = torch.Generator().manual_seed(1)
    mean_corr = [-aligner({"a": torch.randn(64, 32, generator=g), "b": torch.randn(64, 32, generator=g)}).loss.item()
                 / aligner.dim for _ in range(5)]
    assert aligner.dim == 8 and max(mean_corr) < 0.5
    aligner.projections.proj["b"].load_state_dict(aligner.projections.proj["a"].state_dict())
    x = torch.randn(64, 32, generator=g)
    assert -aligner({"a": x, "b": x}).loss.item() / aligner.dim > 0.95  # while real correlation still shows


def test_dcca_warns_when_the_batch_is_not_wider_than_the_output() -> None:
    aligner = DCCAAligner({"a": 4, "b": 4}, dim=8)
    with pytest.warns(UserWarning, match="batch of 8 rows with output dim 8"):
        aligner({"a": torch.randn(8, 4), "b": torch.randn(8, 4)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        aligner({"a": torch.randn(8, 4), "b": torch.randn(8, 4)})  # once per aligner
        DCCAAligner({"a": 4, "b": 4}, dim=8)({"a": torch.randn(9, 4), "b": torch.randn(9, 4)})  # batch > dim: quiet
    with pytest.raises(ValueError, match="top_k"):
        DCCAAligner({"a": 4, "b": 4}, dim=8, top_k=9)


def test_dcca_aligner_identical_inputs() -> None:
    torch.manual_seed(0)
    aligner = DCCAAligner({"a": 4, "b": 4}, dim=4, eps=1e-6)  # tiny eps: random projections may be ill-conditioned
    x = torch.randn(400, 4)
    assert aligner({"a": x, "b": x}).loss.item() == pytest.approx(-4.0, abs=0.05)
    assert aligner({"a": x, "b": torch.randn(400, 4)}).loss.item() > -0.5


# --- VSE++ ------------------------------------------------------------------------------------

def test_vsepp_zero_when_positives_beat_hardest_negatives_by_margin() -> None:
    e = torch.eye(4)  # s(i, i) = 1, s(i, j) = 0: every negative is beaten by 1 > 0.2
    assert vsepp_loss(e, e, margin=0.2).item() == 0.0
    # margin 1.5: each anchor violates by 0.5 in each direction
    assert vsepp_loss(e, e, margin=1.5).item() == pytest.approx(1.0)


def test_vsepp_uses_only_the_hardest_negative() -> None:
    a = torch.eye(3)
    b = F.normalize(torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.95, 0.0, 0.3]]), dim=1)
    s = a @ b.T
    # anchor a_0: hardest negative b_2 (s=0.953 > 1 - 0.2); anchor b_2: hardest negative a_0.
    v_a0 = 0.2 + s[0, 2] - s[0, 0]
    v_b2 = 0.2 + s[0, 2] - s[2, 2]
    expected = (v_a0 + v_b2) / 3
    assert vsepp_loss(a, b, margin=0.2).item() == pytest.approx(expected.item(), rel=1e-6)
    assert vsepp_loss(a[:1], b[:1]).item() == 0.0  # no negatives in a batch of one


def test_vsepp_aligner_normalises_and_uses_margin() -> None:
    aligner = VSEPPAligner({"a": 3, "b": 3}, dim=3)
    _identity_projections(aligner)
    out = aligner({"a": 2 * torch.eye(3), "b": 5 * torch.eye(3)})
    assert aligner.margin == 0.2 and out.loss.item() == 0.0
    assert torch.allclose(out.features["b"], torch.eye(3))


# --- cross-attention --------------------------------------------------------------------------

def test_cross_attention_attends_to_the_other_modalities() -> None:
    torch.manual_seed(0)
    aligner = CrossAttentionAligner({"a": 3, "b": 4, "c": 2}, dim=8, heads=2).eval()
    x = {"a": torch.randn(5, 3), "b": torch.randn(5, 4), "c": torch.randn(5, 2)}
    out = aligner(x)
    assert out.loss is None and set(out.features) == {"a", "b", "c"}
    changed = aligner({**x, "b": torch.randn(5, 4)})
    assert not torch.allclose(out.features["a"], changed.features["a"])  # a's output depends on b
    with pytest.raises(ValueError, match="divisible"):
        CrossAttentionAligner({"a": 3, "b": 4}, dim=10, heads=4)


def test_the_old_min_modalities_attribute_fails_with_what_to_change():
    from mmbench import Aligner, Fuser

    with pytest.raises(TypeError, match="declares min_modalities.*set scores_retrieval = False"):
        type("OldAligner", (Aligner,), {"min_modalities": 1})
    with pytest.raises(TypeError, match="declares min_modalities.*drop it"):
        type("OldFuser", (Fuser,), {"min_modalities": 2})
