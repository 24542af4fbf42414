"""Frozen features kept per row: split seeds re-divide the same rows and share their features."""

from __future__ import annotations

from pathlib import Path

import torch
from mmbench.components.base import Encoder
from mmbench.data.loading import load, resolve_with_split
from mmbench.train.features import FeatureCache
from mmbench.train.prepare import SPLITS, encode_all, frozen_features


class _Frozen(Encoder):
    """A fixed random projection of the flattened rows; counts the rows it encodes."""

    frozen = True

    def __init__(self):
        super().__init__()
        self.rows = 0

    def forward(self, x):
        self.rows += len(x)
        x = x.reshape(len(x), -1).float()
        weight = torch.randn(x.shape[1], 8, generator=torch.Generator().manual_seed(0))
        return x @ weight

    def fingerprint(self):
        return "test-projection"


def test_split_seeds_share_the_frozen_features_of_their_rows(tmp_path: Path):
    first, second = (load(resolve_with_split("digits", s)) for s in (1, 2))
    assert first.fingerprint != second.fingerprint
    cpu = torch.device("cpu")
    enc = _Frozen()
    cache = FeatureCache(tmp_path)
    features = frozen_features(enc, "image", first, cpu, cache)
    direct = _Frozen()
    for s in SPLITS:  # bit-identical to encoding each split directly
        assert torch.equal(features[s], encode_all(direct, first.splits[s].modalities["image"], cpu))
    encoded = enc.rows
    assert encoded == sum(len(first.splits[s]) for s in SPLITS)

    later = FeatureCache(tmp_path)  # a later process: reads the rows from disk, encodes none
    again = frozen_features(enc, "image", second, cpu, later)
    assert enc.rows == encoded and later.hits == 3 and later.misses == 0
    for s in SPLITS:
        assert torch.equal(again[s], encode_all(direct, second.splits[s].modalities["image"], cpu))
    assert frozen_features(enc, "image", second, cpu, cache) is not None and enc.rows == encoded  # in memory too
    assert frozen_features(enc, "image", second, cpu, FeatureCache(enabled=False)) is None  # no cache: in the model


def test_only_unseen_rows_are_encoded(tmp_path: Path):
    calls = []

    def compute(indices):
        calls.append(indices)
        return torch.arange(4.0)[:, None].repeat(1, 2) if indices is None else torch.tensor([[9.0, 9.0]] * len(indices))

    digests = [bytes([i]) * 16 for i in range(4)]
    cache = FeatureCache(tmp_path)
    cache.get_or_compute_rows("k", digests, compute)
    out = FeatureCache(tmp_path).get_or_compute_rows("k", [digests[2], bytes([7]) * 16, digests[0]], compute)
    assert calls == [None, [1]] and out.tolist() == [[2.0, 2.0], [9.0, 9.0], [0.0, 0.0]]
