"""Missing values on the user's terms: ``missing_labels: error | drop | mask`` and
``missing_features: error | drop | impute`` — through loading, the training loss, every weighting and the metrics."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from mmbench.data.errors import DatasetError
from mmbench.data.loading import load
from mmbench.data.missing import MISSING_CLASS, labelled
from mmbench.data.spec import TaskInfo
from mmbench.data.yaml_spec import spec_from_dict
from mmbench.train.loop import losses_of
from mmbench.train.metrics import score_tasks, task_loss
from mmbench.train.model import CachedFeatures, CellModel

SIZES = {"train": 40, "validation": 20, "test": 20}
FEATURES = datasets.Features({
    "x1": datasets.Value("float64"), "xs": datasets.List(datasets.Value("float32"), length=2),
    "words": datasets.Value("string"), "kind": datasets.ClassLabel(names=["a", "b", "c"]),
    "amount": datasets.Value("float64"), "tags": datasets.List(datasets.ClassLabel(names=["p", "q", "r"])),
})
TASKS = {"kind": {"column": "kind", "type": "classification"}, "amount": {"column": "amount", "type": "regression"},
         "tags": {"column": "tags", "type": "multilabel"}}
MODALITIES = {"num": {"columns": ["x1", "xs"], "kind": "tabular"}, "txt": {"column": "words", "kind": "text"}}


@pytest.fixture(autouse=True)
def _private_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))


def _columns(n: int, seed: int, missing: float, feature_gaps: bool) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {
        "x1": rng.normal(size=n).tolist(), "xs": rng.normal(size=(n, 2)).astype(np.float32).tolist(),
        "words": [f"row {i}" for i in range(n)], "kind": (np.arange(n) % 3).tolist(),
        "amount": rng.normal(5.0, 2.0, n).tolist(), "tags": [[int(k)] for k in rng.integers(0, 3, n)],
    }
    for task in ("kind", "amount", "tags"):  # 30% of each task's labels missing, different rows per task
        for j, i in enumerate(rng.choice(n, size=int(round(missing * n)), replace=False)):
            cols[task][i] = -1 if task == "kind" and j % 2 else (math.nan if task == "amount" and j % 2 else None)
    if feature_gaps:
        cols["x1"][1], cols["xs"][2], cols["words"][3] = None, None, None
    return cols


def saved(tmp_path: Path, missing: float = 0.3, feature_gaps: bool = False) -> str:
    folder = tmp_path / f"data-{missing}-{feature_gaps}"
    datasets.DatasetDict({role: datasets.Dataset.from_dict(_columns(n, i, missing, feature_gaps), features=FEATURES)
                          for i, (role, n) in enumerate(SIZES.items())}).save_to_disk(str(folder))
    return str(folder)


def spec(source: str, **options: Any) -> Any:
    return spec_from_dict({"name": "gappy", "source": source, "modalities": MODALITIES, "tasks": TASKS, **options})


def error_of(s: Any) -> str:
    with pytest.raises(DatasetError) as info:
        load(s)
    return str(info.value)


def test_default_errors_name_the_options(tmp_path: Path) -> None:
    msg = error_of(spec(saved(tmp_path)))
    assert "missing" in msg and "`missing_labels: drop`" in msg and "`missing_labels: mask`" in msg
    msg = error_of(spec(saved(tmp_path, 0.0, feature_gaps=True)))
    assert "`missing_features: drop`" in msg and "`missing_features: impute`" in msg
    with pytest.raises(DatasetError, match="missing_labels must be one of error | drop | mask"):
        spec(saved(tmp_path), missing_labels="ignore")
    with pytest.raises(DatasetError, match="missing_features must be one of error | drop | impute"):
        spec(saved(tmp_path), missing_features="mask")


def test_mask_keeps_rows_and_marks_them(tmp_path: Path) -> None:
    data = load(spec(saved(tmp_path), missing_labels="mask"))
    assert [len(data.splits[r]) for r in SIZES] == list(SIZES.values())  # no row dropped
    for name, info in data.task_info.items():
        assert info.masked
        for role, n in SIZES.items():
            assert int((~labelled(data.splits[role].targets[name])).sum()) == round(0.3 * n), (name, role)
    assert (data.splits["train"].targets["kind"] == MISSING_CLASS).sum() == 12
    assert data.task_info["kind"].out_dim == 3 and data.task_info["tags"].out_dim == 3
    assert any("task 'amount': unlabelled rows kept and masked" in n and "train 12 of 40" in n for n in data.notes)


def test_mask_without_missing_labels_changes_nothing(tmp_path: Path) -> None:
    source = saved(tmp_path, missing=0.0)
    plain, masked = load(spec(source)), load(spec(source, missing_labels="mask"))
    assert plain.fingerprint == masked.fingerprint and not any(t.masked for t in masked.task_info.values())
    for role in SIZES:
        for name in TASKS:
            assert torch.equal(plain.splits[role].targets[name], masked.splits[role].targets[name])
    logits, y = torch.randn(8, 3), torch.randint(0, 3, (8,))
    assert torch.equal(task_loss("classification", logits, y), torch.nn.functional.cross_entropy(logits, y))


@pytest.mark.parametrize("task", list(TASKS))
def test_masked_loss_and_gradients_equal_training_on_labelled_rows_only(task: str, tmp_path: Path) -> None:
    data = load(spec(saved(tmp_path), missing_labels="mask"))
    info = data.task_info[task]
    x, y = data.splits["train"].modalities["num"], data.splits["train"].targets[task]
    keep = labelled(y)

    def run(inputs: torch.Tensor, targets: torch.Tensor, task_info: TaskInfo) -> tuple[torch.Tensor, list[torch.Tensor]]:
        torch.manual_seed(0)
        model = CellModel({"num": CachedFeatures(x.shape[1])}, [task_info], trunk_dim=8)
        loss = losses_of(model({"num": inputs}), {task: targets}, [task_info])[0]
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters()]

    masked_loss, masked_grads = run(x, y, info)
    plain_loss, plain_grads = run(x[keep], y[keep], TaskInfo(task, info.type, info.out_dim))  # unmasked path
    assert 0 < keep.float().mean() < 1 and torch.isfinite(masked_loss)
    torch.testing.assert_close(masked_loss, plain_loss, rtol=1e-6, atol=1e-7)
    for a, b in zip(masked_grads, plain_grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_a_batch_without_labels_gives_a_zero_loss_every_weighting_survives() -> None:
    from mmbench.plugins import get_registry
    from mmbench.plugins.options import accepts
    from mmbench.train.step import backward, checked_weights

    tasks = [TaskInfo("c", "classification", 3, masked=True), TaskInfo("r", "regression", 1, masked=True),
             TaskInfo("m", "multilabel", 2, masked=True)]
    targets = {"c": torch.tensor([0, 2, 1, 0, 1, 2]), "r": torch.full((6,), math.nan), "m": torch.full((6, 2), math.nan)}
    checked = 0
    for entry in get_registry("weightings"):
        for wrt in (None, "representation"):
            extra = {"task_types": [t.type for t in tasks]} if accepts(entry, "task_types") else {}
            try:
                weighting = entry.create(3, seed=0, **extra, **({"wrt": wrt} if wrt else {}))
            except (TypeError, ValueError):
                continue  # no `wrt` option
            torch.manual_seed(0)
            model = CellModel({"x": CachedFeatures(5)}, tasks, trunk_dim=6)
            for _ in range(2):
                model.zero_grad(set_to_none=True)
                fwd = model({"x": torch.randn(6, 5)})
                losses = losses_of(fwd, targets, tasks)
                assert losses[1] == 0 and losses[2] == 0 and losses[0] > 0
                backward(model, fwd, losses, weighting)
                if weighting.wants_post_step_losses:
                    weighting.after_step(losses.detach())
                for name, p in model.named_parameters():
                    assert p.grad is None or torch.isfinite(p.grad).all(), (entry.name, wrt, name)
                checked_weights(weighting)  # raises StrategyError on non-finite task weights
            # an epoch's mean loss is never 0: loading refuses a task without a training label
            weighting.end_epoch(torch.tensor([1.0, 0.2, 0.1]))
            weighting.end_epoch(torch.tensor([0.9, 0.1, 0.1]))
            checked_weights(weighting)  # raises StrategyError on non-finite task weights
            checked += 1
    assert checked >= len(get_registry("weightings"))


def test_no_metric_chance_level_or_delta_m_counts_a_masked_row(tmp_path: Path) -> None:
    from mmbench.leaderboard.stats.delta import delta_m
    from mmbench.train.prepare import majority_accuracy, split_targets

    data = load(spec(saved(tmp_path), missing_labels="mask"))
    tasks = list(data.task_info.values())
    targets, scale = split_targets(list(data.task_info), data)
    test = targets["test"]
    gen = torch.Generator().manual_seed(0)
    preds = {"kind": torch.randn(20, 3, generator=gen), "amount": torch.randn(20, generator=gen),
             "tags": torch.randn(20, 3, generator=gen)}
    wild = {}  # predictions on unlabelled rows replaced with extreme values: they must not move any metric
    for name, p in preds.items():
        w = p.clone()
        w[~labelled(test[name])] = 1e6
        wild[name] = w
    masked = score_tasks(tasks, wild, test, scale)
    kept = {}
    for t in tasks:
        keep = labelled(test[t.name])
        kept[t.name] = score_tasks([TaskInfo(t.name, t.type, t.out_dim)], {t.name: preds[t.name][keep]},
                                   {t.name: test[t.name][keep]}, scale)[t.name]
    assert masked == kept
    y = test["kind"]
    assert majority_accuracy(y) == majority_accuracy(y[labelled(y)])
    assert abs(float(torch.as_tensor(targets["train"]["amount"])[labelled(targets["train"]["amount"])].mean())) < 1e-5

    def frame(metrics: dict[str, dict[str, float]]) -> pd.DataFrame:
        return pd.DataFrame([{(t, m): v for t, d in metrics.items() for m, v in d.items()}])

    baseline = frame(score_tasks(tasks, {k: v * 0.5 for k, v in wild.items()}, test, scale)).iloc[0]
    baseline_kept = frame({t.name: score_tasks([TaskInfo(t.name, t.type, t.out_dim)],
                                               {t.name: (preds[t.name] * 0.5)[labelled(test[t.name])]},
                                               {t.name: test[t.name][labelled(test[t.name])]}, scale)[t.name]
                           for t in tasks}).iloc[0]
    assert delta_m(frame(masked), baseline).iloc[0] == delta_m(frame(kept), baseline_kept).iloc[0]


def test_drop_removes_rows_missing_a_label_or_feature(tmp_path: Path) -> None:
    data = load(spec(saved(tmp_path), missing_labels="drop"))
    assert all(len(data.splits[r]) < n for r, n in SIZES.items())
    assert all(bool(labelled(t).all()) for s in data.splits.values() for t in s.targets.values())
    assert not any(t.masked for t in data.task_info.values())
    assert any("dropped" in n and "train split" in n for n in data.notes)
    gaps = load(spec(saved(tmp_path, 0.0, feature_gaps=True), missing_features="drop"))
    assert [len(gaps.splits[r]) for r in SIZES] == [n - 3 for n in SIZES.values()]


def test_impute_fills_tabular_with_the_training_mean_plus_indicators_and_text_with_empty(tmp_path: Path) -> None:
    source = saved(tmp_path, 0.0, feature_gaps=True)
    data = load(spec(source, missing_features="impute"))
    raw = datasets.load_from_disk(source)
    num = data.splits["train"].modalities["num"]
    assert data.modality_info["num"].shape == (6,)  # x1, xs[0], xs[1] + indicators for all three
    x1 = np.array([v for v in raw["train"]["x1"] if v is not None], dtype=np.float32)
    assert num[1, 0].item() == pytest.approx(float(x1.mean()), rel=1e-6)
    assert num[1, 3:].tolist() == [1.0, 0.0, 0.0] and num[2, 3:].tolist() == [0.0, 1.0, 1.0]
    assert num[0, 3:].tolist() == [0.0, 0.0, 0.0]
    assert torch.isfinite(num).all()
    assert data.splits["train"].modalities["txt"][3] == "" and data.splits["test"].modalities["txt"][3] == ""
    assert any("imputed missing features [0, 1, 2]" in n for n in data.notes)


def test_impute_refuses_images_and_audio(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (4, 4), dtype=np.uint8)) for _ in range(10)]
    images[2] = None
    ds = datasets.Dataset.from_dict({"pic": images, "y": [0, 1] * 5},
                                    features=datasets.Features({"pic": datasets.Image(), "y": datasets.Value("int64")}))
    datasets.DatasetDict({"train": ds, "validation": ds, "test": ds}).save_to_disk(str(tmp_path / "img"))
    s = spec_from_dict({"source": str(tmp_path / "img"), "missing_features": "impute",
                        "modalities": {"pic": {"column": "pic", "kind": "image"}}, "tasks": {"y": {"column": "y", "type": "classification"}}})
    msg = error_of(s)
    assert "`missing_features: impute` cannot fill a missing image value" in msg and "`missing_features: drop`" in msg
    dropped = load(spec_from_dict({**{"source": str(tmp_path / "img"), "missing_features": "drop"},
                                   "modalities": {"pic": {"column": "pic", "kind": "image"}},
                                   "tasks": {"y": {"column": "y", "type": "classification"}}}))
    assert len(dropped.splits["train"]) == 9


def test_stratified_splits_still_work_with_unlabelled_rows() -> None:
    from mmbench.data.splits import stratified_split

    rng = np.random.default_rng(0)
    labels = np.stack([np.arange(300) % 3, np.arange(300) % 2], axis=1)
    labels[rng.choice(300, size=90, replace=False), 0] = MISSING_CLASS  # 30% of the first task unlabelled
    parts = stratified_split(labels, seed=0)
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(300))
    for idx in parts.values():
        share = float((labels[idx, 0] == MISSING_CLASS).mean())
        assert abs(share - 0.3) < 0.03  # unlabelled rows are a stratum of their own: every split keeps its share
        assert set(labels[idx, 0]) == {MISSING_CLASS, 0, 1, 2}
