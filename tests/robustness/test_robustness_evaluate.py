"""``evaluate_robustness`` on tiny trained models (through ``run_cell``, as a grid runs it)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import torch

from mmbench.data.loading import load, resolve
from mmbench.grid.cells import Cell
from mmbench.grid.config import DEFAULT_TRAINING, ComponentChoice
from mmbench.robustness import evaluate as evaluate_module
from mmbench.robustness.evaluate import evaluate_robustness
from mmbench.robustness.scores import relative_robustness
from mmbench.robustness.tabular import GaussianNoise
from mmbench.grid.execution.worker import cell_result as run_cell
from mmbench.train.features import FeatureCache

CPU = torch.device("cpu")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models train fastest on one thread (and do not fight other processes for the two cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def pid():
    return load(resolve("pid-synthetic"))


def make_cell(dataset: str, modalities: tuple[str, ...], tasks: tuple[str, ...], encoders: dict[str, str],
              fuser: str | None = "concat", robustness: dict[str, Any] | None = None, epochs: int = 3) -> Cell:
    training = DEFAULT_TRAINING | {"epochs": epochs, "batch_size": 128, "lr": 0.003, "patience": epochs}
    cross = len(modalities) > 1
    return Cell("st-cm" if cross else "st-sm", dataset, modalities, tasks,
                tuple((m, ComponentChoice(encoders[m])) for m in modalities),
                ComponentChoice("none") if cross else None, ComponentChoice(fuser) if cross else None,
                ComponentChoice("ew") if len(tasks) > 1 else None, 0, tuple(sorted(training.items())),
                json.dumps(robustness if robustness is not None else {"levels": [0, 0.5, 1]}, sort_keys=True))


@pytest.fixture(scope="module")
def pid_run(pid):
    """a: trainable mlp; b: the frozen identity encoder (its perturbed features go through the cache)."""
    cache = FeatureCache()
    cell = make_cell("pid-synthetic", ("a", "b"), ("redundant", "synergy"), {"a": "mlp", "b": "identity"})
    result = run_cell(cell, pid, CPU, cache)
    return cell, result, cache


def test_result_holds_curves_missing_drops_and_scores(pid_run):
    cell, result, _ = pid_run
    rob = result["robustness"]
    json.dumps(rob, allow_nan=False)  # strict JSON
    assert rob["settings"]["levels"] == [0.0, 0.5, 1.0] and rob["main_metric"] == {"redundant": "accuracy", "synergy": "accuracy"}
    assert rob["errors"] == {}
    assert set(rob["curves"]) == {"a", "b"}
    for m in ("a", "b"):
        assert list(rob["curves"][m]) == ["tabular-noise", "tabular-entry-dropout"]
    for t in ("redundant", "synergy"):
        clean = result["metrics"]["test"][t]["accuracy"]
        assert rob["clean"][t] == clean
        for m in ("a", "b"):
            assert rob["missing_drop"][t][m] == pytest.approx(clean - rob["missing"][m][t]["accuracy"])
            for pert, per_task in rob["curves"][m].items():
                curve = per_task[t]
                assert len(curve) == 3 and curve[0] == clean
                assert rob["relative"][t][f"{m}/{pert}"] == pytest.approx(relative_robustness([0, 0.5, 1], curve, clean, False))
        assert rob["relative_mean"][t] == pytest.approx(np.mean(list(rob["relative"][t].values())))
    assert rob["seconds"] > 0


def test_every_entry_dropped_on_a_frozen_identity_modality_equals_it_missing(pid_run):
    """identity features of all-NaN columns are the standardised train mean, 0 — exactly a missing modality
    (zero features, aligner none), so the two paths (perturb + re-encode, and missing=) must agree."""
    _, result, _ = pid_run
    rob = result["robustness"]
    for t in ("redundant", "synergy"):
        assert rob["curves"]["b"]["tabular-entry-dropout"][t][-1] == rob["missing"]["b"][t]["accuracy"]


def test_perturbed_frozen_features_are_cached_per_grid_not_per_cell(pid, pid_run):
    cell, result, cache = pid_run
    assert result["robustness"]["encoded"] == 4  # b: 2 perturbations x 2 levels > 0
    misses = cache.misses
    other = make_cell("pid-synthetic", ("a", "b"), ("redundant", "synergy"), {"a": "mlp", "b": "identity"}, fuser="late", epochs=1)
    again = run_cell(other, pid, CPU, cache)
    assert again["robustness"]["encoded"] == 0 and cache.misses == misses  # every perturbed b split was a hit


def test_evaluate_directly_twice_gives_identical_scores(pid):
    """Deterministic, and the same from the cache as with caching off; an unfitted frozen encoder is fitted."""
    from mmbench.plugins import get_registry
    from mmbench.train.model import CachedFeatures, CellModel

    cell = make_cell("pid-synthetic", ("a", "b"), ("redundant",), {"a": "mlp", "b": "identity"})
    torch.manual_seed(0)
    a = get_registry("encoders").create("mlp", pid.modality_info["a"])
    a.fit(a.preprocess(pid.splits["train"].modalities["a"]))
    b = get_registry("encoders").create("identity", pid.modality_info["b"])  # unfitted, as after a cache hit
    fuser = get_registry("fusers").create("concat", {"a": a.out_dim, "b": b.out_dim})
    model = CellModel({"a": a, "b": CachedFeatures(b.out_dim)}, [pid.task_info["redundant"]], None, fuser, trunk_dim=16)
    runs = [evaluate_robustness(model, encoders={"a": a, "b": b}, data=pid, cell=cell, scale={}, device=CPU,
                                cache=FeatureCache(enabled=enabled), batch_size=512) for enabled in (True, False)]
    for r in runs:
        r.pop("seconds")
    assert runs[0] == runs[1]
    assert runs[0]["encoded"] == 5  # clean b once (nothing cached yet) + 2 perturbations x 2 levels


def test_a_failing_perturbation_is_recorded_and_the_rest_still_scored(pid, monkeypatch: pytest.MonkeyPatch):
    class Boom(GaussianNoise):
        def apply(self, values, level, generator):
            raise RuntimeError("boom")

    real = evaluate_module.choices_by_kind

    def with_boom(settings):
        kinds = real(settings)
        kinds["tabular"].append((type(kinds["tabular"][0][0])("boom"), Boom()))
        return kinds

    monkeypatch.setattr(evaluate_module, "choices_by_kind", with_boom)
    cell = make_cell("pid-synthetic", ("a",), ("redundant",), {"a": "mlp"}, epochs=1)
    rob = run_cell(cell, pid, CPU, FeatureCache())["robustness"]
    assert rob["errors"] == {"a/boom": "RuntimeError: boom"}
    assert set(rob["curves"]["a"]) == {"tabular-noise", "tabular-entry-dropout"}
    assert set(rob["relative"]["redundant"]) == {"a/tabular-noise", "a/tabular-entry-dropout"}


def test_image_regression_cell_destandardises_and_inverts_the_ratio():
    digits = load(resolve("digits"))
    cell = make_cell("digits", ("image",), ("ink",), {"image": "cnn"}, epochs=1,
                     robustness={"levels": [0, 0.5, 1], "perturbations": ["image-noise", "image-occlusion"]})
    result = run_cell(cell, digits, CPU, FeatureCache())
    rob = result["robustness"]
    clean = result["metrics"]["test"]["ink"]["mae"]
    assert rob["main_metric"] == {"ink": "mae"} and rob["clean"]["ink"] == pytest.approx(clean)
    assert rob["missing_drop"]["ink"]["image"] == pytest.approx(rob["missing"]["image"]["ink"]["mae"] - clean)
    assert set(rob["curves"]["image"]) == {"image-noise", "image-occlusion"}
    for pert, per_task in rob["curves"]["image"].items():
        curve = per_task["ink"]
        assert curve[0] == pytest.approx(clean)
        assert rob["relative"]["ink"][f"image/{pert}"] == pytest.approx(relative_robustness([0, 0.5, 1], curve, clean, True))
