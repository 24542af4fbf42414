"""Audio columns -> mono waveforms ``float [N, T]``, padded with zeros or cut to one length.

``datasets.Audio()`` columns are decoded with ``torchcodec`` (the decoder ``datasets`` itself uses) when it
is installed, resampled to the option ``sampling_rate`` (default: the first training clip's rate);
without it, WAV files are read with the standard library's :mod:`wave` (no resampling). Numeric lists are
taken as waveforms already. The length ``T`` is the option ``length`` or the first training clip's.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mmbench.data.context import Context
from mmbench.data.errors import DatasetError
from mmbench.data.validate import feature_class


def _read_wav(ctx: Context, data: bytes) -> tuple[np.ndarray, int]:
    try:
        with wave.open(io.BytesIO(data)) as w:
            rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise DatasetError(
            f"{ctx.where()}: cannot decode an audio file without torchcodec ({exc}); only PCM WAV is read without it. "
            "Fix: `pip install torchcodec` (it needs FFmpeg), or convert the audio to WAV."
        ) from exc
    if width == 1:
        pcm = (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width in (2, 4):
        dtype = np.int16 if width == 2 else np.int32
        pcm = np.frombuffer(frames, dtype=f"<i{width}").astype(np.float32) / float(np.iinfo(dtype).max)
    else:
        raise DatasetError(f"{ctx.where()}: {8 * width}-bit WAV needs torchcodec. Fix: `pip install torchcodec`.")
    return pcm.reshape(-1, channels).mean(axis=1), rate


def _decode_file(ctx: Context, data: bytes, rate: int | None) -> tuple[np.ndarray, int]:
    try:
        from torchcodec.decoders import AudioDecoder
    except ImportError:
        return _read_wav(ctx, data)
    samples = AudioDecoder(data, sample_rate=rate, num_channels=1).get_all_samples()
    return samples.data.mean(dim=0).numpy().astype(np.float32), int(samples.sample_rate)


def _clips(ctx: Context, role: str, split: Any, table: Any, rate: int | None) -> tuple[list[np.ndarray], int | None]:
    column = ctx.m.columns[0]
    is_file = feature_class(split.features[column]) == "audio"
    clips: list[np.ndarray] = []
    nulls = []
    for i, raw in enumerate(table.column(column).to_pylist()):
        if raw is None or (is_file and not raw.get("bytes") and not raw.get("path")):
            nulls.append(i)
            continue
        if not is_file:
            clips.append(np.asarray(raw, dtype=np.float32))
            continue
        data = raw["bytes"] if raw.get("bytes") else Path(raw["path"]).read_bytes()
        clip, clip_rate = _decode_file(ctx, data, rate)
        if rate is not None and clip_rate != rate:
            raise DatasetError(
                f"{ctx.where()}: row {i} of the {role} split is sampled at {clip_rate} Hz, not {rate} Hz, and resampling "
                "needs torchcodec. Fix: `pip install torchcodec`, or resample the files to one rate."
            )
        rate = clip_rate
        clips.append(clip)
    if nulls:
        raise ctx.missing(role, np.array(nulls), "missing (null) audio")
    return clips, rate


def decode_audio(ctx: Context, splits: dict[str, Any], tables: dict[str, Any]) -> tuple[dict[str, torch.Tensor], tuple[int, ...], list[str]]:
    rate = ctx.options.get("sampling_rate")
    length = ctx.options.get("length")
    fitted = 0
    out = {}
    for role in ("train", "validation", "test"):
        clips, rate = _clips(ctx, role, splits[role], tables[role], rate)
        if length is None:
            length = len(clips[0])
        block = np.zeros((len(clips), int(length)), dtype=np.float32)
        for i, clip in enumerate(clips):
            n = min(len(clip), int(length))
            block[i, :n] = clip[:n]
            fitted += len(clip) != length
        if np.isnan(block).any():
            raise ctx.missing(role, np.flatnonzero(np.isnan(block).any(axis=1)), "NaN audio")
        out[role] = torch.from_numpy(block)
    notes = [f"modality {ctx.modality!r}: padded or cut {fitted} clip(s) to {length} samples"] if fitted else []
    if rate is not None:
        notes.append(f"modality {ctx.modality!r}: sampling rate {rate} Hz")
    return out, (int(length),), notes
