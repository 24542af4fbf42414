"""The catalogue of named hub benchmarks: every entry loads OFFLINE from a fixture in exactly its card's
schema through the same loading path as the hub name; metadata, listing, pinned revisions, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets
import pytest
import yaml
from click.testing import CliRunner
from hub_fixtures import WRITERS  # type: ignore[import-not-found]

from mmbench.data.catalogue import cards
from mmbench.data.catalogue.entries import CELEBA_5_ATTRIBUTES, CELEBA_ATTRIBUTES, QM9_TARGETS
from mmbench.data.errors import DatasetError
from mmbench.data.loading import load, resolve

NAMES = ("celeba-40", "celeba-5", "fairface", "qm9", "hateful-memes", "meld")


@pytest.fixture(autouse=True)
def _private_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))


def test_every_entry_is_registered_with_its_metadata() -> None:
    from mmbench.plugins import get_registry

    registry = get_registry("datasets")
    assert set(NAMES) <= set(cards())
    for name in NAMES:
        meta = registry.get(name).as_dict()
        assert meta["plugin"] == "mmbench.data.builtin"  # through the datasets hook, like any plugin's
        for key in ("description", "reference", "license", "size", "modalities", "tasks", "revision", "source", "citation", "access"):
            assert meta[key], (name, key)
        assert meta["citation"].startswith("@") and meta["citation"].rstrip().endswith("}")  # BibTeX
    spec = resolve("meld")
    assert (spec.source, spec.config, spec.revision) == ("ajyy/MELD_audio", "default", "refs/convert/parquet")
    assert resolve("celeba-40").revision == "2d738f56e0e7f925ea36ae7c808ea925264aacec"
    assert spec.metadata["license"] == "gpl-3.0" and spec.metadata["catalogue"] == "meld"


@pytest.mark.parametrize("name", NAMES)
def test_entry_loads_from_a_fixture_in_its_cards_schema(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = WRITERS[name](tmp_path / name)
    calls: list[tuple[Any, ...]] = []
    real = datasets.load_dataset
    monkeypatch.setattr(datasets, "load_dataset", lambda path, **kw: calls.append((path, kw)) or real(path, **kw))
    spec = resolve({"name": name, "options": {"source": str(folder)}})
    data = load(spec)
    card = cards()[name][1]
    assert calls == [(str(folder), {"name": card.config})]  # the hub loading path, on the local copy
    assert spec.revision == card.revision and data.provenance["revision"] == card.revision
    assert any("recorded, not checked" in n for n in data.notes)
    assert set(data.task_info) == set(card.tasks)
    assert all(len(data.splits[r]) > 0 for r in ("train", "validation", "test"))
    kinds = {m: info.kind for m, info in data.modality_info.items()}
    assert kinds == {m: e["kind"] for m, e in card.modalities.items()}
    if name == "celeba-40":
        assert list(data.task_info) == list(CELEBA_ATTRIBUTES) and len(data.task_info) == 40
        assert all(t.out_dim == 2 for t in data.task_info.values())
        assert [len(data.splits[r]) for r in ("train", "validation", "test")] == [40, 12, 12]  # `valid` is validation
        assert data.modality_info["face"].shape == (3, 64, 64)
    if name == "celeba-5":
        assert list(data.task_info) == list(CELEBA_5_ATTRIBUTES)
    if name == "fairface":
        assert {t: i.out_dim for t, i in data.task_info.items()} == {"age": 9, "gender": 2, "race": 7}
        assert len(data.splits["test"]) == 14 and len(data.splits["validation"]) == 4  # carved from train
    if name == "qm9":
        assert list(data.task_info) == list(QM9_TARGETS) and all(t.type == "regression" for t in data.task_info.values())
        assert data.modality_info["descriptors"].shape == (5,)
    if name == "hateful-memes":
        assert [len(data.splits[r]) for r in ("train", "validation", "test")] == [48, 6, 6]  # test, then validation carved
        assert data.task_info["hateful"].out_dim == 2
    if name == "meld":
        assert {t: i.out_dim for t, i in data.task_info.items()} == {"emotion": 7, "sentiment": 3}
        assert data.modality_info["speech"].shape == (48000,)


def test_qm9_targets_are_standardised_for_training(tmp_path: Path) -> None:
    from mmbench.train.prepare import split_targets

    data = load(resolve({"name": "qm9", "options": {"source": str(WRITERS["qm9"](tmp_path / "q"))}}))
    targets, scale = split_targets(list(QM9_TARGETS), data)
    assert set(scale) == set(QM9_TARGETS)
    for t in QM9_TARGETS:
        assert abs(float(targets["train"][t].mean())) < 1e-5 and abs(float(targets["train"][t].std()) - 1) < 1e-5


def test_a_typo_in_a_catalogue_name_gets_did_you_mean() -> None:
    with pytest.raises(DatasetError, match="did you mean 'celeba-40'"):
        resolve("celeba-04")
    with pytest.raises(DatasetError, match="did you mean 'fairface'"):
        resolve("fairfaces")


def test_offline_hub_name_says_how_to_predownload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def offline(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("Couldn't reach 'flwrlabs/celeba' on the Hub (OfflineModeIsEnabled)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DatasetError) as info:
        load("celeba-40")
    msg = str(info.value)
    assert "HF_HUB_OFFLINE=1 is set" in msg and ".save_to_disk('DIR')" in msg
    assert "load_dataset('flwrlabs/celeba', 'img_align+identity+attr', revision='2d738f56e0e7f925ea36ae7c808ea925264aacec')" in msg
    assert "`dataset: {name: celeba-40, options: {source: DIR}}`" in msg


def test_a_saved_copy_made_as_the_hint_says_loads(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    datasets.load_dataset(str(WRITERS["meld"](tmp_path / "meld")), "default").save_to_disk(str(copy))
    data = load(resolve({"name": "meld", "options": {"source": str(copy)}}))
    assert data.task_info["emotion"].out_dim == 7 and len(data.splits["test"]) == 7


def test_revision_goes_to_the_hub_and_a_missing_one_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from datasets.exceptions import DatasetNotFoundError

    seen: list[dict[str, Any]] = []

    def hub(path: str, **kwargs: Any) -> Any:
        seen.append({"path": path, **kwargs})
        raise DatasetNotFoundError(f"Revision '{kwargs['revision']}' doesn't exist for dataset '{path}' on the Hub.")

    monkeypatch.setattr(datasets, "load_dataset", hub)
    with pytest.raises(DatasetError) as info:
        load({"name": "meld", "options": {"revision": "no-such-branch"}})
    assert seen == [{"path": "ajyy/MELD_audio", "name": "default", "revision": "no-such-branch"}]
    msg = str(info.value)
    assert "revision 'no-such-branch' does not exist for hub dataset 'ajyy/MELD_audio'" in msg and "Fix" in msg


def test_gated_dataset_says_how_to_get_access(monkeypatch: pytest.MonkeyPatch) -> None:
    from datasets.exceptions import DatasetNotFoundError

    def gated(path: str, **kwargs: Any) -> Any:
        raise DatasetNotFoundError(f"Dataset '{path}' is a gated dataset on the Hub. You must be authenticated to access it.")

    monkeypatch.setattr(datasets, "load_dataset", gated)
    with pytest.raises(DatasetError, match="accept its terms on https://huggingface.co/datasets/Multimodal-Fatima"):
        load("hateful-memes")


def test_yaml_revision_round_trips_and_is_recorded(tmp_path: Path) -> None:
    from mmbench.data.yaml_spec import spec_from_dict, spec_to_dict

    spec = spec_from_dict({"source": "org/name", "revision": "abc123", "modalities": {"t": {"column": "x", "kind": "text"}},
                           "tasks": {"y": {"column": "y", "type": "classification"}}})
    assert spec.revision == "abc123" and spec_from_dict(spec_to_dict(spec)).revision == "abc123"
    with pytest.raises(DatasetError, match="revision must be a non-empty"):
        spec_from_dict({**spec_to_dict(spec), "revision": ""})


def test_list_datasets_shows_licence_size_modalities_tasks_revision() -> None:
    from mmbench.cli.main import cli

    result = CliRunner().invoke(cli, ["list", "datasets"])
    assert result.exit_code == 0, result.output
    header = result.output.splitlines()[2]
    for column in ("license", "size", "modalities", "tasks", "revision"):
        assert column in header
    row = next(line for line in result.output.splitlines() if line.startswith("| meld"))
    assert "gpl-3.0" in row and "13,706" in row and "audio, text" in row and "emotion, sentiment" in row
    assert "refs/convert/parquet" in row
    listed = json.loads(CliRunner().invoke(cli, ["list", "datasets", "--json"]).output)["datasets"]
    assert next(e for e in listed if e["name"] == "celeba-40")["revision"] == "2d738f56e0e7f925ea36ae7c808ea925264aacec"


def test_a_catalogue_entry_runs_in_a_grid_and_its_revision_is_recorded(tmp_path: Path) -> None:
    from mmbench.cli.main import cli
    from mmbench.store import ResultStore

    folder = WRITERS["celeba-5"](tmp_path / "celeba")
    grid = {"dataset": {"name": "celeba-5", "options": {"source": str(folder), "image_size": 16}},
            "tasks": ["Male", "Smiling"], "families": ["st-sm"], "seeds": 1,
            "training": {"epochs": 1, "batch_size": 16}, "device": "cpu"}
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(grid))
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["run", "--grid", str(path), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    with ResultStore(out) as store:
        rows = list(store.rows())
    assert len(rows) == 2
    provenance = rows[0].result["dataset_provenance"]
    assert provenance["revision"] == "2d738f56e0e7f925ea36ae7c808ea925264aacec" and provenance["config"] == "img_align+identity+attr"
    assert provenance["fingerprint"] == rows[0].result["dataset_fingerprint"]


def test_the_docs_list_every_entry_with_its_citation() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "datasets.md").read_text()
    for name, (_, card) in cards().items():
        assert f"| `{name}` |" in text and card.citation in text, name
