"""The log-mel CNN audio encoder: the contract, librosa's spectrogram computed once per split, training
statistics per mel bin, it learns to tell sounds apart, and a missing librosa names its install command."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch

from mmbench.components.base import ModalityInfo
from mmbench.testing import check_encoder

librosa = pytest.importorskip("librosa", reason='pip install "mmbench[audio]"')

from mmbench.components.encoders.audio import AUDIO_INSTALL, LogMelCNN, MissingDependencyError, log_mel  # noqa: E402

RATE = 16000
INFO = ModalityInfo("speech", "audio", (4000,))


def _waves(n: int = 6, seed: int = 0) -> torch.Tensor:
    return 0.1 * torch.randn(n, 4000, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("options", [{}, {"blocks": 1, "width": 8, "out_dim": 16, "n_mels": 32, "dropout": 0.1}])
def test_logmel_cnn_meets_the_contract(options: dict):
    check_encoder(LogMelCNN, INFO, _waves(), **options)


@pytest.mark.filterwarnings("ignore:n_fft=512 is too large")
def test_short_clips_still_give_features():
    check_encoder(LogMelCNN, ModalityInfo("speech", "audio", (100,)), 0.1 * torch.randn(4, 100))


def test_the_spectrogram_is_librosas_log_mel_computed_once_per_split():
    waves = _waves()
    enc = LogMelCNN(INFO)
    mels = enc.preprocess(waves)
    assert mels.shape == (6, 1, 64, 1 + 4000 // 320)
    power = librosa.feature.melspectrogram(y=waves.numpy(), sr=RATE, n_fft=512, hop_length=320, n_mels=64, fmin=50.0)
    expected = torch.from_numpy(10 * np.log10(np.maximum(power, 1e-10)))
    torch.testing.assert_close(mels[:, 0], expected.float(), atol=1e-4, rtol=1e-5)
    assert LogMelCNN(INFO).preprocess(waves) is mels  # another cell's encoder: the same split, not recomputed
    copy = waves.clone()
    again = enc.preprocess(copy)
    assert again is not mels and torch.equal(again, mels)  # a new tensor is computed, with the same values
    other = LogMelCNN(INFO, n_mels=32).preprocess(waves)
    assert other.shape[2] == 32  # other settings, other spectrograms


def test_fit_standardises_each_mel_bin_with_training_statistics():
    enc = LogMelCNN(INFO)
    mels = enc.preprocess(_waves(8))
    enc.fit(mels)
    z = (mels - enc.mean.view(1, 1, -1, 1)) / enc.std.view(1, 1, -1, 1)
    per_bin = z.transpose(0, 2).reshape(64, -1)
    torch.testing.assert_close(per_bin.mean(dim=1), torch.zeros(64), atol=1e-4, rtol=0)
    torch.testing.assert_close(per_bin.std(dim=1, correction=0), torch.ones(64), atol=1e-3, rtol=0)
    assert {"mean", "std"} <= set(enc.state_dict())


def test_it_learns_to_tell_two_tones_apart():
    t = torch.arange(4000) / RATE
    gen = torch.Generator().manual_seed(1)
    labels = torch.arange(32) % 2
    freq = torch.where(labels == 1, 2000.0, 300.0)
    waves = torch.sin(2 * math.pi * freq[:, None] * t[None] + torch.rand(32, 1, generator=gen) * 6.28)
    waves = 0.3 * waves + 0.05 * torch.randn(32, 4000, generator=gen)
    torch.manual_seed(0)
    enc = LogMelCNN(INFO, out_dim=2)
    x = enc.preprocess(waves)
    enc.fit(x)
    opt = torch.optim.Adam(enc.parameters(), lr=0.01)
    for _ in range(15):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(enc(x), labels).backward()
        opt.step()
    enc.eval()
    with torch.no_grad():
        assert (enc(x).argmax(dim=1) == labels).float().mean() == 1.0


def test_without_librosa_the_error_names_the_install_command(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "librosa", None)
    with pytest.raises(MissingDependencyError) as err:
        LogMelCNN(INFO)
    assert AUDIO_INSTALL in str(err.value) and 'pip install "mmbench[audio]"' in str(err.value)
    with pytest.raises(ImportError):  # an ImportError, for whoever catches those
        log_mel(torch.zeros(1, 10), RATE, 8, 64, 32, 0.0, None)


def test_the_modality_must_be_waveforms():
    with pytest.raises(ValueError, match=r"waveforms of shape \(T,\)"):
        LogMelCNN(ModalityInfo("speech", "audio", (2, 100)))
