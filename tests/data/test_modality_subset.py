"""Loading only a grid's modalities: the whole set (in any order) loads byte-identically to a plain load (stored
results are keyed by its fingerprint), a strict subset decodes nothing else and has its own fingerprint, unknown
names say "did you mean", and every grid path (check, worker settings, the per-process cache) passes the subset."""

from __future__ import annotations

import datasets
import pytest
import torch

from mmbench.data import DatasetError, DatasetSpec, ModalitySpec, TaskSpec
from mmbench.data.loading import load

N = {"train": 24, "validation": 8, "test": 8}


def _build() -> datasets.DatasetDict:
    def split(n: int, offset: int) -> datasets.Dataset:
        rows = range(offset, offset + n)
        return datasets.Dataset.from_dict({"a": [[float(i), 1.0] for i in rows], "b": [[0.5 * i] for i in rows],
                                           "t": [f"row {i}" for i in rows], "label": [i % 2 for i in rows]})

    return datasets.DatasetDict({role: split(n, 100 * k) for k, (role, n) in enumerate(N.items())})


def _spec() -> DatasetSpec:
    return DatasetSpec(name="three", builder=_build, tasks={"label": TaskSpec("label", "classification")},
                       modalities={"a": ModalitySpec(("a",), "tabular"), "b": ModalitySpec(("b",), "tabular"),
                                   "t": ModalitySpec(("t",), "text")})


def _equal(x: object, y: object) -> bool:
    return torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y


def test_every_modality_in_any_order_loads_exactly_as_a_plain_load():
    plain = load(_spec())
    for order in (["a", "b", "t"], ["t", "a", "b"], ("b", "t", "a", "t")):
        data = load(_spec(), order)
        assert data.fingerprint == plain.fingerprint
        assert list(data.modality_info) == list(plain.modality_info) == ["a", "b", "t"]
        assert data.modality_info == plain.modality_info and data.notes == plain.notes
        for role, split in plain.splits.items():
            assert list(data.splits[role].modalities) == list(split.modalities)
            assert all(_equal(data.splits[role].modalities[m], v) for m, v in split.modalities.items())
            assert all(torch.equal(data.splits[role].targets[t], v) for t, v in split.targets.items())


def test_a_strict_subset_decodes_nothing_else_and_has_its_own_fingerprint(monkeypatch: pytest.MonkeyPatch):
    import mmbench.data.decode as decode

    plain = load(_spec())
    decoded: list[str] = []
    real = decode.decode_modality

    def spy(spec, name, opened, tables):
        decoded.append(name)
        return real(spec, name, opened, tables)

    monkeypatch.setattr(decode, "decode_modality", spy)
    data = load(_spec(), ["t", "a"])
    assert decoded == ["a", "t"]
    assert set(data.modality_info) == {"a", "t"} and set(data.spec.modalities) == {"a", "t"}
    assert all(set(s.modalities) == {"a", "t"} for s in data.splits.values())
    assert data.fingerprint != plain.fingerprint
    assert load(_spec(), ["a", "t"]).fingerprint == data.fingerprint  # the subset's order does not matter either
    assert load(_spec(), ["a"]).fingerprint not in (data.fingerprint, plain.fingerprint)
    assert {r: len(s) for r, s in data.splits.items()} == N  # the whole dataset's rows
    assert torch.equal(data.splits["test"].modalities["a"], plain.splits["test"].modalities["a"])
    assert any("decoded modalities a, t only" in n for n in data.notes)


def test_unknown_or_no_modalities_are_refused_before_loading():
    with pytest.raises(DatasetError, match=r"modality 'tt' is not in dataset 'three'; did you mean 't'\? it has: a, b, t"):
        load(_spec(), ["a", "tt"])
    with pytest.raises(DatasetError, match=r"(?s)2 problems:.*'x'.*'y'"):
        load(_spec(), ["x", "y"])
    with pytest.raises(DatasetError, match="no modality chosen"):
        load(_spec(), [])


def test_the_grid_expansion_reports_an_unknown_modality_the_same_way():
    from mmbench.grid.cells import expand
    from mmbench.grid.config import GridConfigError, parse_config

    config = parse_config({"dataset": "pid-synthetic", "modalities": ["a", "bb"], "seeds": 1})
    with pytest.raises(GridConfigError, match=r"modality 'bb' is not in dataset 'pid-synthetic'; did you mean 'b'\?"):
        expand(config, {"a": "tabular", "b": "tabular"}, ["redundant"])


SMALL = {"name": "pid-synthetic", "options": {"n": 60, "dim": 2, "latent": 1}}


def test_the_per_process_cache_keys_on_the_subset():
    from mmbench.grid.execution.context import WorkerSettings, forget_datasets, loaded_dataset, settings_dataset

    forget_datasets()
    try:
        whole, sub = loaded_dataset(SMALL), loaded_dataset(SMALL, None, ["a"])
        assert set(sub.modality_info) == {"a"} and set(whole.modality_info) == {"a", "b"}
        assert loaded_dataset(SMALL, None, ["b", "a"]).fingerprint == whole.fingerprint
        assert loaded_dataset(SMALL, None, ("a",)) is sub
        assert settings_dataset(WorkerSettings(SMALL, modalities=("a",))) is sub
        assert settings_dataset(WorkerSettings(SMALL)) is whole
    finally:
        forget_datasets()


def test_a_grid_run_checks_and_hands_its_workers_only_its_modalities(monkeypatch: pytest.MonkeyPatch, tmp_path):
    import mmbench.grid.execution.executors as executors
    from mmbench.grid.config import parse_config
    from mmbench.grid.execution.context import _DATA, forget_datasets
    from mmbench.grid.execution.local_pool import preload
    from mmbench.grid.runner import check, plan, run_grid
    from mmbench.provenance import dataset_identity

    config = parse_config({"dataset": SMALL, "modalities": ["a"], "tasks": ["redundant"], "seeds": 1,
                           "families": ["st-sm"], "device": "cpu", "training": {"epochs": 1}})
    expansion = check(config, plan(config))
    whole = load(SMALL)
    assert all(set(d.modality_info) == {"a"} for d in _DATA.values())
    assert all(dataset_identity(whole) not in c.provenance for c in expansion.cells)
    seen = []
    monkeypatch.setattr(executors, "start", lambda source, settings, **kw: seen.append(settings) or [])
    run_grid(config, tmp_path / "run", checked=expansion)
    assert seen and seen[0].modalities == ("a",)
    forget_datasets()
    preload(seen[0], (None, 1))  # what forked local workers inherit: each split seed, the subset only
    assert len(_DATA) == 2 and all(set(d.modality_info) == {"a"} for d in _DATA.values())
    forget_datasets()
