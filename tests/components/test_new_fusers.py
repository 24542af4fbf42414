"""MBT, FiLM and EmbraceNet fusers: contract, shapes, missing modalities, eval determinism, each method's
defining property, and a tiny grid end to end."""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

from mmbench.components.fusers.embracenet import EmbraceNetFuser
from mmbench.components.fusers.film import FiLMFuser
from mmbench.components.fusers.mbt import MBTFuser
from mmbench.plugins import get_registry
from mmbench.plugins.metadata import check_search_space
from mmbench.testing import check_fuser, run_tiny_grid

CLASSES = {"mbt": MBTFuser, "film": FiLMFuser, "embracenet": EmbraceNetFuser}
REFERENCES = {"mbt": "Nagrani et al. 2021", "film": "Perez et al. 2018", "embracenet": "Choi & Lee 2019"}
X2 = {"image": 12, "text": 8}
X3 = {"a": 6, "b": 4, "c": 5}


def _features(dims: dict[str, int], batch: int = 5, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {m: torch.randn(batch, d, generator=g) for m, d in sorted(dims.items())}


def _build(name: str, dims: dict[str, int], **options) -> torch.nn.Module:
    torch.manual_seed(0)
    return get_registry("fusers").create(name, dims, **options)


# --- registration and the shared contract -----------------------------------------------------

@pytest.mark.parametrize("name", sorted(CLASSES))
def test_registered_with_paper_search_space_and_explicit_options(name: str) -> None:
    entry = get_registry("fusers").get(name)
    assert entry.plugin == "mmbench.components.fusers" and entry.description
    assert entry.metadata["reference"].startswith(REFERENCES[name])
    space = entry.metadata["search_space"]
    assert check_search_space(space) is None and space
    params = list(inspect.signature(CLASSES[name]).parameters.values())
    assert params[0].name == "in_dims"
    for p in params[1:]:
        assert p.kind is p.POSITIONAL_OR_KEYWORD and p.default is not p.empty, p
        json.dumps(p.default)
    defaults = {p.name: p.default for p in params[1:]}
    for option, spec in space.items():  # every tuned option exists and its default lies in the range
        assert spec["low"] <= defaults[option] <= spec["high"], option


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_contract(name: str) -> None:
    check_fuser(get_registry("fusers").get(name).factory)  # two and three modalities


def test_contract_options() -> None:
    check_fuser(MBTFuser, dim=16, heads=2, tokens=1, n_bottlenecks=1, layers=3, fusion_layer=0, dropout=0.1)
    check_fuser(FiLMFuser, in_dims=X3, conditioning="b", blocks=2, dim=8)
    check_fuser(FiLMFuser, in_dims=X2, conditioning="text")
    check_fuser(EmbraceNetFuser, in_dims=X3, dim=32, p={"a": 2.0, "b": 1.0, "c": 1.0}, detect_missing=False)


@pytest.mark.parametrize("name", sorted(CLASSES))
@pytest.mark.parametrize("dims", [X2, X3], ids=["2-modalities", "3-modalities"])
def test_forward_shape(name: str, dims: dict[str, int]) -> None:
    fuser = _build(name, dims, dim=16)
    assert fuser.out_dim == 16 and not fuser.late
    for mode in (fuser.train, fuser.eval):
        mode()
        out = fuser(_features(dims, batch=7))
        assert out.shape == (7, 16) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(CLASSES))
@pytest.mark.parametrize("missing", ["a", "b", "c"])
def test_missing_modality_as_zero_features(name: str, missing: str) -> None:
    fuser = _build(name, X3, dim=16).eval()
    x = _features(X3)
    x[missing] = torch.zeros_like(x[missing])
    out = fuser(x)
    assert out.shape == (5, 16) and torch.isfinite(out).all()
    everything_missing = fuser({m: torch.zeros_like(t) for m, t in x.items()})
    assert torch.isfinite(everything_missing).all()


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_deterministic_in_eval_mode(name: str) -> None:
    options = {"dropout": 0.5} if name == "mbt" else {}
    fuser = _build(name, X3, **options).eval()
    x = _features(X3)
    first = fuser(x)
    torch.manual_seed(123)  # the global generator's state must not matter in eval mode
    assert torch.equal(first, fuser(x))
    assert torch.equal(first, _build(name, X3, **options).eval()(x))  # same seed, same model


# --- MBT --------------------------------------------------------------------------------------

def _attended_lengths(fuser: MBTFuser, x: dict[str, torch.Tensor]) -> list[dict[str, int]]:
    """The sequence length each modality's stream attends over, per layer."""
    seen: list[dict[str, int]] = [{} for _ in fuser.layers]
    hooks = [layer[m].register_forward_pre_hook(lambda _, args, i=i, m=m: seen[i].__setitem__(m, args[0].shape[1]))
             for i, layer in enumerate(fuser.layers) for m in fuser.modalities]
    fuser(x)
    for h in hooks:
        h.remove()
    return seen


def test_mbt_streams_meet_only_through_bottlenecks_from_the_fusion_layer() -> None:
    fuser = MBTFuser(X3, dim=8, heads=2, tokens=3, n_bottlenecks=2, layers=3, fusion_layer=1)
    assert _attended_lengths(fuser, _features(X3)) == [{m: 4 for m in X3}] + [{m: 4 + 2 for m in X3}] * 2
    assert {n for n, _ in fuser.named_parameters() if "bottleneck" in n} == {"bottleneck"}  # one shared set
    assert tuple(fuser.bottleneck.shape) == (1, 2, 8)
    with pytest.raises(ValueError, match="fusion_layer"):
        MBTFuser(X3, layers=2, fusion_layer=2)
    with pytest.raises(ValueError, match="divisible"):
        MBTFuser(X3, dim=10, heads=4)


def _interaction(fuser: MBTFuser) -> float:
    """How far ``fuser(a, b)`` is from a sum ``f(a) + g(b)``: a double difference over two values each."""
    a1, a2 = _features({"a": 6}, seed=1)["a"], _features({"a": 6}, seed=2)["a"]
    b1, b2 = _features({"b": 4}, seed=3)["b"], _features({"b": 4}, seed=4)["b"]
    out = {(i, j): fuser({"a": a, "b": b}) for i, a in enumerate((a1, a2)) for j, b in enumerate((b1, b2))}
    return (out[0, 0] - out[1, 0] - out[0, 1] + out[1, 1]).abs().max().item()


def test_mbt_cross_modal_information_needs_a_bottleneck_exchange() -> None:
    # fusion only in the last layer: the bottlenecks it reads are still the learned tokens, so no stream has
    # seen another modality yet and the output is additive in the modalities; one exchange earlier, it is not
    torch.manual_seed(0)
    last_only = MBTFuser({"a": 6, "b": 4}, dim=8, heads=2, layers=2, fusion_layer=1).eval()
    torch.manual_seed(0)
    exchanged = MBTFuser({"a": 6, "b": 4}, dim=8, heads=2, layers=2, fusion_layer=0).eval()
    assert _interaction(last_only) < 1e-5
    assert _interaction(exchanged) > 1e-3


# --- FiLM -------------------------------------------------------------------------------------

def test_film_starts_near_identity_modulation() -> None:
    fuser = _build("film", X3, blocks=2)
    x = _features(X3, batch=32)
    for m in fuser.targets:
        gamma, beta = fuser.modulation(x, m)
        assert gamma.shape == beta.shape == (32, 2, 64)
        assert (gamma - 1).abs().max() < 0.5 and beta.abs().max() < 0.5
        assert abs((gamma - 1).mean().item()) < 0.05 and abs(beta.mean().item()) < 0.05


def test_film_is_the_residual_film_block_by_hand() -> None:
    fuser = _build("film", X3, dim=6)
    x = _features(X3)
    assert fuser.conditioners("b") == ["a", "c"] and fuser.film["b"].in_features == 6 + 5
    expected = []
    for m in "abc":
        cond = torch.cat([x[c] for c in "abc" if c != m], dim=1)
        dgamma, beta = fuser.film[m](cond).view(5, 1, 2, 6).unbind(2)
        h = torch.relu(fuser.stem[m](x[m]))
        z = torch.nn.functional.layer_norm(fuser.residual[0][m](h), (6,))
        expected.append(h + torch.relu((1 + dgamma[:, 0]) * z + beta[:, 0]))
    assert torch.allclose(fuser(x), sum(expected) / 3, atol=1e-6)


def test_film_named_conditioning_modality_only_modulates() -> None:
    fuser = _build("film", X3, conditioning="b", dim=6)
    assert fuser.targets == ["a", "c"] and set(fuser.stem) == {"a", "c"}
    assert all(fuser.film[m].in_features == X3["b"] for m in ("a", "c"))
    x = _features(X3)
    with torch.no_grad():  # no modulation: b has no path to the output
        for generator in fuser.film.values():
            generator.weight.zero_()
    other = dict(x, b=torch.randn(5, 4))
    assert torch.equal(fuser(x), fuser(other))
    with pytest.raises(ValueError, match="conditioning"):
        FiLMFuser(X3, conditioning="z")
    with pytest.raises(ValueError, match="two or more"):
        FiLMFuser({"a": 3})


# --- EmbraceNet -------------------------------------------------------------------------------

def _docked(fuser: EmbraceNetFuser, x: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.stack([torch.relu(fuser.docking[m](x[m])) for m in sorted(x)], dim=-1)  # [B, dim, M]


def test_embracenet_training_takes_each_dimension_from_one_modality_with_probability_p() -> None:
    fuser = _build("embracenet", {"a": 6, "b": 4}, dim=4000, p={"a": 3.0, "b": 1.0}).train()
    x = _features({"a": 6, "b": 4}, batch=4)
    docked = _docked(fuser, x)
    torch.manual_seed(1)
    out = fuser(x)
    from_a, from_b = out == docked[..., 0], out == docked[..., 1]
    assert (from_a | from_b).all()
    only_a, only_b = from_a & ~from_b, from_b & ~from_a  # ReLU zeros may match both
    share = only_a.sum() / (only_a.sum() + only_b.sum())
    assert abs(share.item() - 0.75) < 0.03
    torch.manual_seed(1)
    assert torch.equal(out, fuser(x))  # reproducible under torch's global seed
    assert not torch.equal(out, fuser(x))  # and stochastic across draws


def test_embracenet_eval_is_the_expectation() -> None:
    fuser = _build("embracenet", X3, dim=8, p={"a": 2.0, "b": 1.0, "c": 1.0}).eval()
    x = _features(X3)
    expected = _docked(fuser, x) @ torch.tensor([0.5, 0.25, 0.25])
    assert torch.allclose(fuser(x), expected, atol=1e-6)


def test_embracenet_missing_modality_gets_probability_zero() -> None:
    fuser = _build("embracenet", X3, dim=8)
    x = _features(X3)
    x["b"][:3] = 0.0  # rows 0-2 miss b
    probs = fuser.probabilities(x)
    assert torch.allclose(probs[:3], torch.tensor([0.5, 0.0, 0.5]).expand(3, -1))
    assert torch.allclose(probs[3:], torch.full((2, 3), 1 / 3))
    docked = _docked(fuser, x)
    fuser.train()
    out = fuser(x)[:3]
    assert ((out == docked[:3, :, 0]) | (out == docked[:3, :, 2])).all()
    none = fuser.probabilities({m: torch.zeros_like(t) for m, t in x.items()})
    assert torch.allclose(none, torch.full((5, 3), 1 / 3))  # nothing available: fall back to all
    blind = _build("embracenet", X3, dim=8, detect_missing=False)
    assert torch.allclose(blind.probabilities(x), torch.full((5, 3), 1 / 3))


def test_embracenet_rejects_bad_probabilities() -> None:
    with pytest.raises(ValueError, match="each modality"):
        EmbraceNetFuser(X3, p={"a": 1.0, "b": 1.0})
    with pytest.raises(ValueError, match="positive"):
        EmbraceNetFuser(X3, p={"a": 1.0, "b": 0.0, "c": 1.0})


# --- end to end -------------------------------------------------------------------------------

def test_each_fuser_trains_end_to_end_in_a_tiny_grid(tmp_path: Path) -> None:
    from mmbench.store import ResultStore

    names = sorted(CLASSES)
    summary = run_tiny_grid(tmp_path, families=["mt-cm"], fusers=names,
                            robustness={"levels": [0.0, 0.5], "perturbations": ["tabular-noise"]})
    assert (summary.total, summary.ok) == (3, 3)
    rows = list(ResultStore(tmp_path / "tiny-run").rows("ok"))
    assert sorted(r.config["fuser"]["name"] for r in rows) == names
    for row in rows:
        assert set(row.result["robustness"]["missing"]) == {"a", "b"}
