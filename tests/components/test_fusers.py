"""Built-in fusers: the mmbench contract on every one, plus each method's defining property."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

from mmbench.components.fusers.gated import GatedFuser
from mmbench.components.fusers.late import LateFuser, LateWeightedFuser
from mmbench.components.fusers.simple import ConcatFuser, MeanFuser, SumFuser
from mmbench.components.fusers.tensor import LowRankTensorFusion, TensorFusion, with_one
from mmbench.components.fusers.transformer import TransformerFuser
from mmbench.plugins import get_registry
from mmbench.testing import check_fuser

PLUGIN = "mmbench.components.fusers"
BUILTINS = [e for e in get_registry("fusers") if e.plugin == PLUGIN]
EXPECTED = {"concat", "mean", "sum", "late", "late-weighted", "gated", "tensor", "lowrank-tensor", "transformer",
            "mbt", "film", "embracenet"}  # the last three: tests/components/test_new_fusers.py
X3 = {"a": 6, "b": 4, "c": 5}


def _features(dims: dict[str, int], batch: int = 5, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {m: torch.randn(batch, d, generator=g) for m, d in sorted(dims.items())}


def test_every_expected_fuser_is_registered_with_metadata() -> None:
    assert {e.name for e in BUILTINS} == EXPECTED
    for e in BUILTINS:
        assert e.description
        if e.name in ("gated", "tensor", "lowrank-tensor", "transformer"):
            assert e.metadata.get("reference")


@pytest.mark.parametrize("entry", BUILTINS, ids=lambda e: e.name)
def test_contract(entry) -> None:
    check_fuser(entry.factory)  # two and three modalities


def test_contract_options() -> None:
    check_fuser(TransformerFuser, pool="cls", layers=2)
    check_fuser(TensorFusion, pre_dim=None, dim=None)
    check_fuser(LowRankTensorFusion, rank=1, dim=7)


def test_concat_is_sorted_concatenation() -> None:
    x = _features({"b": 2, "a": 3})
    fuser = ConcatFuser({"b": 2, "a": 3})
    assert fuser.out_dim == 5
    assert torch.equal(fuser(x), torch.cat([x["a"], x["b"]], dim=1))


def test_mean_and_sum_of_projections() -> None:
    x = _features(X3)
    torch.manual_seed(0)
    mean = MeanFuser(X3, dim=7)
    torch.manual_seed(0)
    total = SumFuser(X3, dim=7)
    by_hand = sum(mean.proj[m](x[m]) for m in sorted(x)) / 3
    assert mean.out_dim == total.out_dim == 7
    assert torch.allclose(mean(x), by_hand, atol=1e-6)
    assert torch.allclose(total(x), 3 * by_hand, atol=1e-5)


# --- late fusion ------------------------------------------------------------------------------

def test_late_mean_renormalises_over_present_modalities() -> None:
    fuser = LateFuser(X3)
    p = _features({"a": 3, "b": 3, "c": 3})
    assert fuser.late and not list(fuser.parameters())
    assert torch.allclose(fuser.combine(p), (p["a"] + p["b"] + p["c"]) / 3)
    assert torch.equal(fuser.combine({"b": p["b"]}), p["b"])
    assert torch.allclose(fuser.combine({"a": p["a"], "c": p["c"]}), (p["a"] + p["c"]) / 2)
    with pytest.raises(RuntimeError, match="combine"):
        fuser(p)


def test_late_learned_weights_renormalise() -> None:
    fuser = LateWeightedFuser(X3)
    with torch.no_grad():
        fuser.logits.copy_(torch.tensor([0.0, 1.0, 2.0]))
    p = _features({"a": 3, "b": 3, "c": 3})
    w = torch.softmax(torch.tensor([0.0, 1.0, 2.0]), 0)
    assert torch.allclose(fuser.combine(p), w[0] * p["a"] + w[1] * p["b"] + w[2] * p["c"], atol=1e-6)
    assert torch.allclose(fuser.combine({"c": p["c"]}), p["c"])  # one modality present: weight 1
    w_ac = torch.softmax(torch.tensor([0.0, 2.0]), 0)
    assert torch.allclose(fuser.combine({"c": p["c"], "a": p["a"]}), w_ac[0] * p["a"] + w_ac[1] * p["c"], atol=1e-6)
    with pytest.raises(KeyError):
        fuser.combine({"z": p["a"]})


# --- gated ------------------------------------------------------------------------------------

def test_gated_is_softmax_weighted_sum_of_tanh_projections() -> None:
    torch.manual_seed(0)
    fuser = GatedFuser(X3, dim=6)
    x = _features(X3)
    gates = torch.softmax(fuser.gate(torch.cat([x["a"], x["b"], x["c"]], 1)), 1)
    by_hand = sum(gates[:, i:i + 1] * torch.tanh(fuser.proj[m](x[m])) for i, m in enumerate("abc"))
    assert torch.allclose(fuser(x), by_hand, atol=1e-6)
    assert fuser.out_dim == 6


# --- tensor fusion ----------------------------------------------------------------------------

def test_tfn_output_dim_formula() -> None:
    assert TensorFusion(X3, dim=None, pre_dim=None).out_dim == 7 * 5 * 6
    assert TensorFusion(X3, dim=None, pre_dim=3).out_dim == 4 ** 3
    assert TensorFusion(X3, dim=None, pre_dim=8).tensor_dim == 9 ** 3
    fuser = TensorFusion(X3, dim=10, pre_dim=3)
    assert fuser.out_dim == 10 and fuser.out.in_features == 64
    assert fuser(_features(X3)).shape == (5, 10)


def test_tfn_is_flattened_outer_product_of_one_padded_vectors() -> None:
    dims = {"a": 2, "b": 3}
    x = _features(dims)
    fuser = TensorFusion(dims, dim=None, pre_dim=None)
    expected = torch.einsum("bi,bj->bij", with_one(x["a"]), with_one(x["b"])).flatten(1)
    out = fuser(x)
    assert torch.allclose(out, expected)
    assert torch.allclose(out[:, 1:4], x["b"]) and torch.allclose(out[:, 4::4], x["a"])  # unimodal terms kept


def test_tfn_zero_modality_drops_its_interactions() -> None:
    torch.manual_seed(0)
    fuser = TensorFusion(X3, dim=None, pre_dim=2)
    x = _features(X3)
    x["b"] = torch.zeros_like(x["b"])
    tensor = fuser(x).view(5, 3, 3, 3)
    assert torch.count_nonzero(tensor[:, :, 1:, :]) == 0  # bias-free pre-projection: z_b = 0
    pair = TensorFusion({"a": 6, "c": 5}, dim=None, pre_dim=2)
    pair.pre["a"], pair.pre["c"] = fuser.pre["a"], fuser.pre["c"]
    assert torch.allclose(tensor[:, :, 0, :].flatten(1), pair({"a": x["a"], "c": x["c"]}))


def test_lmf_factors_registered_and_move() -> None:
    rank, dim = 3, 5
    fuser = LowRankTensorFusion(X3, dim=dim, rank=rank)
    names = {n for n, _ in fuser.named_parameters()}
    assert names == {"factors.a", "factors.b", "factors.c", "fusion_weights", "fusion_bias"}
    factors = [p for n, p in fuser.named_parameters() if n.startswith("factors.")]
    assert len(factors) == len(X3)  # one rank-r factor tensor per modality
    assert [tuple(p.shape) for p in factors] == [(rank, d + 1, dim) for _, d in sorted(X3.items())]
    n_params = sum(p.numel() for p in fuser.parameters())
    assert n_params == sum(rank * (d + 1) * dim for d in X3.values()) + rank + dim
    fuser.to(torch.float64)
    assert all(p.dtype == torch.float64 for p in fuser.parameters())
    assert fuser({m: t.double() for m, t in _features(X3).items()}).dtype == torch.float64
    out = fuser({m: t.double() for m, t in _features(X3).items()})
    out.sum().backward()
    assert all(p.grad is not None for p in factors)


def test_lmf_equals_tensor_fusion_with_the_rebuilt_weight_tensor() -> None:
    # Liu et al.: W = sum_r w_r (W_a^r ⊗ W_b^r), so LMF(x) = W · ([1; x_a] ⊗ [1; x_b]) + bias.
    torch.manual_seed(0)
    dims = {"a": 3, "b": 2}
    fuser = LowRankTensorFusion(dims, dim=4, rank=3)
    with torch.no_grad():
        fuser.fusion_bias.normal_()
    x = _features(dims)
    fa, fb, w = fuser.factors["a"], fuser.factors["b"], fuser.fusion_weights[0]
    weight = torch.einsum("r,rio,rjo->ijo", w, fa, fb)  # full [4, 3, dim] fusion tensor
    full = torch.einsum("bi,bj,ijo->bo", with_one(x["a"]), with_one(x["b"]), weight) + fuser.fusion_bias
    assert torch.allclose(fuser(x), full, atol=1e-6)


# --- transformer ------------------------------------------------------------------------------

@pytest.mark.parametrize("pool", ["mean", "cls"])
def test_transformer_eval_deterministic_and_uses_modality_embeddings(pool: str) -> None:
    torch.manual_seed(0)
    fuser = TransformerFuser(X3, dim=8, heads=2, dropout=0.3, pool=pool).eval()
    x = _features(X3)
    assert torch.equal(fuser(x), fuser(x))
    assert fuser.encoder.layers[0].self_attn.batch_first
    before = fuser(x)
    with torch.no_grad():
        fuser.modality_embedding[0].add_(1.0)
    assert not torch.allclose(before, fuser(x))
    with pytest.raises(ValueError):
        TransformerFuser(X3, pool="max")


def test_every_fuser_handles_zero_features() -> None:
    x = _features(X3)
    x["b"] = torch.zeros_like(x["b"])
    for entry in BUILTINS:
        fuser = entry.create(X3)
        if fuser.late:
            continue
        out = fuser(x)
        assert out.shape == (5, fuser.out_dim) and torch.isfinite(out).all(), entry.name
