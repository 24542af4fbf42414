"""What a cell's data path shares with test-time evaluation (robustness): fitting encoders on the
training split, encoding whole splits, frozen features from the cache, and regression targets
standardised with training statistics. Both :mod:`mmbench.train.cell_runner` and
:mod:`mmbench.robustness.evaluate` import these; neither imports the other."""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

import torch
from torch import Tensor

from mmbench.components.base import Encoder
from mmbench.data.spec import LoadedDataset
from mmbench.train.features import FeatureCache
from mmbench.train.inputs import num_rows, take, to_device

SPLITS = ("train", "validation", "test")


@torch.no_grad()
def encode_all(encoder: Encoder, inputs: Any, device: torch.device, batch_size: int = 256) -> Tensor:
    """Run ``encoder`` over preprocessed inputs in batches (eval mode); features on the CPU."""
    encoder.eval().to(device)
    n = num_rows(inputs)
    return torch.cat([encoder(to_device(take(inputs, slice(i, i + batch_size)), device)).float().cpu()
                      for i in range(0, n, batch_size)])


def fit_on_train(enc: Encoder, modality: str, data: LoadedDataset) -> Any:
    """Preprocess the training split and ``fit`` the encoder on it, once per encoder object; returns the
    preprocessed training inputs. A frozen encoder whose features came from the cache was never fitted:
    whoever needs it to encode new values (robustness) calls this first."""
    if getattr(enc, "_mmbench_train_inputs", None) is None:
        train_inputs = enc.preprocess(data.splits["train"].modalities[modality])
        enc.fit(train_inputs)
        enc._mmbench_train_inputs = train_inputs
    return enc._mmbench_train_inputs


def frozen_features(enc: Encoder, modality: str, data: LoadedDataset, device: torch.device,
                    cache: FeatureCache, splits: Sequence[str] = SPLITS) -> dict[str, Tensor] | None:
    """Features of a frozen encoder for every split, from the cache or computed once; ``None`` when
    the encoder is trainable (or gives no fingerprint), or caching is off: the encoder then runs inside
    the model on every batch. Only ``splits`` are encoded (tuning trials never touch the test split).

    An encoder that learns nothing from the training split (no ``fit`` of its own) gives each row features
    that depend only on that row, so they are kept per row (keyed by a digest of the row's decoded input):
    split seeds, which re-divide the same rows, share them and encode only rows not seen before. An encoder
    with a ``fit`` (standardising with training statistics) keeps one tensor per (dataset, split)."""
    fingerprint = enc.fingerprint() if enc.frozen and cache.enabled else None
    if fingerprint is None:
        return None

    def compute(split: str) -> Tensor:
        train_inputs = fit_on_train(enc, modality, data)
        inputs = train_inputs if split == "train" else enc.preprocess(data.splits[split].modalities[modality])
        return encode_all(enc, inputs, device)

    if type(enc).fit is Encoder.fit:
        out = {}
        for s in splits:
            values = data.splits[s].modalities[modality]
            digests = row_digests(values)
            if digests is None:  # not a tensor or a list of strings: per split, as below
                break

            def rows(indices: list[int] | None, s: str = s, values: Any = values) -> Tensor:
                if indices is None:
                    return compute(s)
                subset = values[torch.tensor(indices)] if isinstance(values, Tensor) else [values[i] for i in indices]
                return encode_all(enc, enc.preprocess(subset), device)

            out[s] = cache.get_or_compute_rows(FeatureCache.key("rows", modality, fingerprint), digests, rows)
        else:
            return out
    return {s: cache.get_or_compute(FeatureCache.key(data.fingerprint, s, modality, fingerprint), lambda s=s: compute(s))
            for s in splits}


def row_digests(values: Any) -> list[bytes] | None:
    """A digest per row of a decoded modality (a tensor: its dtype, row shape and bytes; a list of strings:
    each string), or ``None`` for values of another kind."""
    if isinstance(values, Tensor):
        rows = values.detach().cpu().contiguous()
        head = f"{rows.dtype}:{tuple(rows.shape[1:])}".encode()
        flat = rows.reshape(len(rows), -1)
        if flat.dtype == torch.bfloat16:
            flat = flat.view(torch.int16)
        arr = flat.numpy()
        return [hashlib.blake2b(head + r.tobytes(), digest_size=16).digest() for r in arr]
    if isinstance(values, (list, tuple)) and all(isinstance(v, str) for v in values):
        return [hashlib.blake2b(b"str:" + v.encode("utf-8", "surrogatepass"), digest_size=16).digest() for v in values]
    return None


def split_targets(tasks: Sequence[str], data: LoadedDataset) -> tuple[dict[str, dict[str, Tensor]], dict[str, tuple[float, float]]]:
    """Targets per split for ``tasks``; regression targets standardised with training statistics
    (returned as ``scale[task] = (mean, std)``, to score on the original scale) over the labelled rows
    (unlabelled ones stay NaN)."""
    scale: dict[str, tuple[float, float]] = {}
    for t in tasks:
        if data.task_info[t].type == "regression":
            y = torch.as_tensor(data.splits["train"].targets[t], dtype=torch.float32)
            y = y[~torch.isnan(y)] if data.task_info[t].masked else y
            scale[t] = (float(y.mean()), float(y.std().clamp_min(1e-8)))
    out = {}
    for s in SPLITS:
        out[s] = {}
        for t in tasks:
            y = torch.as_tensor(data.splits[s].targets[t])
            if t in scale:
                y = (y.float() - scale[t][0]) / scale[t][1]
            out[s][t] = y
    return out, scale


def majority_accuracy(targets: Tensor) -> float:
    """The accuracy of always predicting the most frequent class (the chance level of a classification task),
    over the labelled rows."""
    y = torch.as_tensor(targets).reshape(-1).long()
    y = y[y >= 0]  # unlabelled rows (missing_labels: mask) hold a negative sentinel
    return float(torch.bincount(y).max()) / max(len(y), 1) if len(y) else float("nan")
