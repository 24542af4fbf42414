"""Built-in perturbations: level 0 is the identity, seeded determinism, the fraction affected ≈ level,
types and shapes kept, closed-form goldens; their registration; the contract check."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch

from mmbench.plugins import get_registry
from mmbench.robustness.image import GaussianNoise as ImageNoise
from mmbench.robustness.image import Occlusion, patch_side
from mmbench.robustness.perturbations import Perturbation, check_perturbation
from mmbench.robustness.tabular import EntryDropout, column_std
from mmbench.robustness.tabular import GaussianNoise as TabularNoise
from mmbench.robustness.text import Typos, WordDropout


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.rand(64, 3, 16, 16, generator=gen(1))


@pytest.fixture(scope="module")
def table() -> torch.Tensor:
    x = torch.randn(4000, 5, generator=gen(2)) * torch.tensor([1.0, 10.0, 0.1, 3.0, 1.0]) + 5.0
    x[:, 4] = 7.0  # a constant column
    return x


TEXTS = ["the quick brown fox jumps over the lazy dog", "an even digit, low", "  spaced   out  words ", "", "x"] * 60

EXAMPLES = [
    (ImageNoise(), "images"), (Occlusion(), "images"), (TabularNoise(), "table"), (EntryDropout(), "table"),
    (EntryDropout(fill="mean"), "table"), (WordDropout(), "texts"), (Typos(), "texts"), (Typos(swap=0.0), "texts"),
]


@pytest.mark.parametrize("perturbation,kind", EXAMPLES, ids=lambda p: repr(p))
def test_contract_identity_determinism_shape(perturbation: Perturbation, kind: str, request: pytest.FixtureRequest):
    values = TEXTS if kind == "texts" else request.getfixturevalue(kind)
    check_perturbation(perturbation, values, levels=(0.1, 0.5, 1.0))
    assert perturbation(values, 0.0, gen()) is values
    a, b = perturbation(values, 0.5, gen(0)), perturbation(values, 0.5, gen(1))
    assert (a != b) if kind == "texts" else not torch.equal(torch.nan_to_num(a, nan=-9), torch.nan_to_num(b, nan=-9))
    with pytest.raises(ValueError, match="level must lie in"):
        perturbation(values, 1.5, gen())


def test_image_noise_is_clamped_gaussian_with_std_level():
    x = torch.full((8, 1, 32, 32), 0.5)
    out = ImageNoise()(x, 0.05, gen(3))
    expected = (0.5 + 0.05 * torch.randn(x.shape, generator=gen(3))).clamp(0, 1)  # closed form, same draws
    assert torch.equal(out, expected)
    big = ImageNoise()(x, 0.9, gen(3))
    assert big.min() >= 0 and big.max() <= 1 and ((big == 0) | (big == 1)).float().mean() > 0.3  # clamped
    assert abs(float((out - x).std()) - 0.05) < 0.002


@pytest.mark.parametrize("level", [0.1, 0.25, 0.5, 0.9])
def test_occlusion_zeroes_one_square_covering_level(images: torch.Tensor, level: float):
    out = Occlusion()(images, level, gen(4))
    side = patch_side(level, 16, 16)
    assert abs(side * side / 256 - level) <= (2 * side + 1) / 256  # rounding to whole pixels
    changed = out != images
    assert torch.equal(changed.all(dim=1), changed.any(dim=1))  # all channels at once
    for i in range(len(images)):
        rows = changed[i, 0].any(dim=1).nonzero().flatten()
        cols = changed[i, 0].any(dim=0).nonzero().flatten()
        assert len(rows) == len(cols) == side and rows.diff().eq(1).all() and cols.diff().eq(1).all()
        assert (out[i][:, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] == 0).all()
    assert patch_side(0.25, 16, 16) == 8 and patch_side(1.0, 8, 12) == 8 and patch_side(0.001, 8, 8) == 1


def test_word_dropout_drops_about_level_of_the_words_in_order():
    texts = [" ".join(f"w{i}_{j}" for j in range(20)) for i in range(300)]
    for level in (0.1, 0.5, 0.9):
        out = WordDropout()(texts, level, gen(5))
        kept = sum(len(t.split()) for t in out)
        assert abs(1 - kept / 6000 - level) < 0.03
        for before, after in zip(texts, out):
            words = before.split()
            positions = [words.index(w) for w in after.split()]
            assert positions == sorted(positions)  # a subsequence, order kept
    assert WordDropout()(texts[:3], 1.0, gen()) == ["", "", ""]


def test_typos_replace_about_level_of_the_characters():
    texts = ["abcdefghij klmnopqrst uvwxyz0123"] * 400
    n_chars = sum(len(t.replace(" ", "")) for t in texts)
    for level in (0.1, 0.3, 0.7):
        out = Typos(swap=0.0)(texts, level, gen(6))
        changed = sum(a != b for t, u in zip(texts, out) for a, b in zip(t, u))
        assert abs(changed / n_chars - level) < 0.02  # with swap=0 every hit changes its character
        assert all(len(t) == len(u) and [i for i, c in enumerate(u) if c == " "] == [i for i, c in enumerate(t) if c == " "]
                   for t, u in zip(texts, out))
        assert all(b in "abcdefghijklmnopqrstuvwxyz" for t, u in zip(texts, out) for a, b in zip(t, u) if a != b)
    swapped = Typos(swap=1.0)(texts, 0.3, gen(7))
    for t, u in zip(texts, swapped):  # every change is half of a neighbour swap, or a word's last character
        for i in (i for i in range(len(t)) if t[i] != u[i]):
            with_next = i + 1 < len(t) and (u[i], u[i + 1]) == (t[i + 1], t[i])
            with_prev = i > 0 and (u[i - 1], u[i]) == (t[i], t[i - 1])
            assert with_next or with_prev or i + 1 == len(t) or t[i + 1] == " "
    assert sum(t != u for t, u in zip(texts, swapped)) > 300


def test_tabular_noise_is_level_times_column_std(table: torch.Tensor):
    std = column_std(table)
    assert torch.allclose(std[:4], table[:, :4].std(dim=0, unbiased=False)) and std[4] == 0
    out = TabularNoise()(table, 0.5, gen(8))
    expected = table + 0.5 * std * torch.randn(table.shape, generator=gen(8))
    assert torch.equal(out, expected)
    ratio = (out - table)[:, :4].std(dim=0) / std[:4]
    assert torch.allclose(ratio, torch.full((4,), 0.5), atol=0.03)
    assert torch.equal(out[:, 4], table[:, 4])  # constant column untouched


@pytest.mark.parametrize("level", [0.1, 0.5, 0.9])
def test_entry_dropout_drops_about_level_of_the_entries(table: torch.Tensor, level: float):
    out = EntryDropout()(table, level, gen(9))
    dropped = out.isnan()
    assert abs(float(dropped.float().mean()) - level) < 0.02
    assert torch.equal(out[~dropped], table[~dropped])
    filled = EntryDropout(fill="mean")(table, level, gen(9))
    assert not filled.isnan().any()
    means = table.mean(dim=0).expand_as(table)
    assert torch.allclose(filled[dropped], means[dropped]) and torch.equal(filled[~dropped], table[~dropped])


def test_the_mlp_encoder_imputes_dropped_entries_with_the_train_mean(table: torch.Tensor):
    from mmbench.components.base import ModalityInfo
    from mmbench.components.encoders.tabular import IdentityEncoder

    enc = IdentityEncoder(ModalityInfo("x", "tabular", (5,)))
    enc.fit(table)
    out = enc(EntryDropout()(table, 1.0, gen()))
    assert torch.equal(out, torch.zeros_like(out))  # standardised train mean


def test_registered_with_modality_and_lazy():
    registry = get_registry("perturbations")
    expected = {"image-noise": "image", "image-occlusion": "image", "text-word-dropout": "text", "text-typos": "text",
                "tabular-noise": "tabular", "tabular-entry-dropout": "tabular"}
    for name, modality in expected.items():
        entry = registry.get(name)
        assert entry.metadata["modality"] == modality and entry.description and entry.metadata["reference"]
        assert entry.plugin == "mmbench.robustness.builtin"
        assert type(entry.create()).modality == modality
    assert registry.create("text-typos", swap=0.25).swap == 0.25
    code = "import sys, mmbench.robustness, mmbench.robustness.builtin; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_fingerprint_names_class_version_and_options():
    assert Typos(swap=0.5).fingerprint() != Typos(swap=0.0).fingerprint()
    assert Typos().fingerprint() == Typos().fingerprint() and "Typos:v1" in Typos().fingerprint()
    assert EntryDropout(fill="mean").fingerprint() != EntryDropout().fingerprint()


class _InPlace(Perturbation):
    modality = "tabular"

    def apply(self, values, level, generator):
        values.add_(level)
        return values


class _Unseeded(Perturbation):
    modality = "tabular"

    def apply(self, values, level, generator):
        return values + level * torch.randn(values.shape)  # ignores the generator


class _Shrinks(Perturbation):
    modality = "text"

    def apply(self, values, level, generator):
        return values[1:]


@pytest.mark.parametrize("bad,values,message", [
    (_InPlace(), torch.ones(4, 2), "in place"),
    (_Unseeded(), torch.ones(4, 2), "not deterministic"),
    (_Shrinks(), ["a", "b"], "type, shape"),
])
def test_contract_check_catches_broken_perturbations(bad: Perturbation, values, message: str):
    with pytest.raises(AssertionError, match=message):
        check_perturbation(bad, values)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="fill must be"):
        EntryDropout(fill="zero")
    with pytest.raises(ValueError, match="swap must"):
        Typos(swap=2)
    with pytest.raises(TypeError, match="list of str"):
        WordDropout()("one string", 0.5, gen())
    with pytest.raises(ValueError, match="4 dimensions"):
        Occlusion()(torch.zeros(3, 8, 8), 0.5, gen())
    assert math.isclose(patch_side(0.5, 10, 10), 7)
