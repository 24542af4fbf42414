"""Redrawn splits keep one test split: the validation rows that tuning selects on (split 0's) never reach
a test split, and a cell's dataset identity is its own split's fingerprint (cells drawn otherwise are stale)."""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pytest
import torch

from mmbench.data.loading import load, resolve_with_split, split_variance
from mmbench.data.splits import split_sizes, stratified_split
from mmbench.grid.cells import Expansion, with_dataset
from mmbench.grid.config import parse_config
from mmbench.grid.execution.context import forget_datasets, split_fingerprint
from mmbench.grid.runner import check, plan


@pytest.mark.parametrize("strata", [np.repeat(np.arange(5), 40), None], ids=["stratified", "plain"])
def test_the_test_split_stays_and_train_validation_are_redrawn_around_it(strata):
    labels = np.arange(200) if strata is None else strata  # all-distinct labels cannot be stratified
    plain = stratified_split(labels, 0)
    assert {k: v.tolist() for k, v in stratified_split(labels, 0, test_seed=0).items()} == \
        {k: v.tolist() for k, v in plain.items()}  # the dataset's own seed: exactly the plain split
    for seed in (1, 2, 7):
        redrawn = stratified_split(labels, seed, test_seed=0)
        assert redrawn["test"].tolist() == plain["test"].tolist()
        assert [len(redrawn[r]) for r in ("train", "validation", "test")] == list(split_sizes(200))
        assert redrawn["validation"].tolist() != plain["validation"].tolist()
        rest = set(plain["train"].tolist()) | set(plain["validation"].tolist())
        assert set(redrawn["train"].tolist()) | set(redrawn["validation"].tolist()) == rest
        assert not set(redrawn["train"].tolist()) & set(redrawn["validation"].tolist())
        # what tuning selects on (split 0's validation) never reaches this seed's test split
        assert not set(plain["validation"].tolist()) & set(redrawn["test"].tolist())
        if strata is not None:  # still stratified: every class keeps its share of the validation split
            assert np.bincount(labels[redrawn["validation"]], minlength=5).tolist() == [6] * 5


@pytest.mark.parametrize("name", ["digits", "pid-synthetic", "multidigits"])
def test_builtins_keep_their_test_split_across_split_seeds(name):
    own, again, other = (load(resolve_with_split(name, s)) for s in (None, 0, 3))
    assert own.fingerprint == again.fingerprint != other.fingerprint
    for task, values in own.splits["test"].targets.items():
        assert torch.equal(values, other.splits["test"].targets[task])
    for modality, values in own.splits["test"].modalities.items():
        if isinstance(values, torch.Tensor):
            assert torch.equal(values, other.splits["test"].modalities[modality])
        else:
            assert list(values) == list(other.splits["test"].modalities[modality])
    assert split_variance(name) == "train-validation"


def test_a_carved_test_split_stays_when_validation_is_recarved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    folder = tmp_path / "csv"
    folder.mkdir()
    rng = np.random.default_rng(0)
    datasets.Dataset.from_dict({"x": rng.normal(size=100).astype(np.float32).tolist(),
                                "y": rng.integers(0, 2, 100).tolist()}).to_csv(str(folder / "train.csv"))
    spec = {"source": str(folder), "splits": {"train": "train", "validation": None, "test": None},
            "modalities": {"t": {"column": "x", "kind": "tabular"}},
            "tasks": {"y": {"column": "y", "type": "classification"}}}
    first, second = (load(resolve_with_split(spec, s)) for s in (0, 5))
    assert torch.equal(first.splits["test"].modalities["t"], second.splits["test"].modalities["t"])
    assert not torch.equal(first.splits["validation"].modalities["t"], second.splits["validation"].modalities["t"])
    assert split_variance(spec) == "train-validation"


def test_each_cell_carries_its_own_splits_identity_so_old_draws_are_stale():
    config = parse_config({"dataset": "pid-synthetic", "modalities": ["a", "b"], "tasks": ["redundant"],
                           "encoders": {"a": ["mlp"], "b": ["mlp"]}, "fusers": ["concat"], "seeds": 3,
                           "split_seeds": True, "families": ["st-sm"]})
    forget_datasets()
    cells = check(config, plan(config)).cells
    identity = {c.split_seed: c.provenance for c in cells}
    assert len({p for p in identity.values()}) == 3  # one identity per split seed
    own = load(resolve_with_split("pid-synthetic", None)).fingerprint[:12]
    assert f"data sha256:{own}" in identity[0]  # split 0 is the dataset's own split: results stored before hold
    assert f"data sha256:{split_fingerprint('pid-synthetic', 2).fingerprint[:12]}" in identity[2]
    # a row stamped with the dataset's own identity for split 2 (how a split-2 cell was identified before) differs
    stamped = with_dataset(Expansion(list(cells), []), {None: "x", 0: "a", 1: "b", 2: "c"}).cells
    assert {c.split_seed: '"dataset": "' + {0: "a", 1: "b", 2: "c"}[c.split_seed] + '"' in c.provenance
            for c in stamped} == {0: True, 1: True, 2: True}
