"""Re-score a trained cell's model on the test split with each modality missing and under perturbations.

What a cell runs when its grid sets ``robustness:`` (``docs/robustness.md``):

1. the clean test split (the reference of every score);
2. each modality missing: ``predict(..., missing=(m,))`` — zero features after alignment; late fusion
   combines only the modalities present (``docs/components/fusers.md``);
3. per modality and each perturbation chosen for its kind, every level: the modality's *decoded* test
   values are perturbed with a fresh ``torch.Generator`` seeded ``settings.seed + i`` (``i``: the modality's
   index in the dataset's sorted modality names, so every cell sees the same perturbed data), then fed to
   the model. A frozen encoder (the model holds its cached features) re-encodes the perturbed values,
   and those features are cached under the data, modality, encoder, perturbation, level and seed — not
   the cell — so a grid encodes each perturbed split once. A trainable encoder gets ``preprocess(values)``.

Scores per task (main metric; regression de-standardised as in ``train_cell``) go into the returned,
JSON-able dict; :mod:`mmbench.robustness.scores` gives the formulas.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any, Mapping

import torch
from torch import Tensor

from mmbench.components.base import Encoder
from mmbench.data.spec import LoadedDataset, TaskInfo
from mmbench.robustness.perturbations import Perturbation
from mmbench.robustness.scores import mean_finite, missing_drop, relative_robustness
from mmbench.robustness.settings import RobustnessSettings, choices_by_kind, parse_settings
from mmbench.scoring import LOWER_IS_BETTER
from mmbench.train.features import FeatureCache
from mmbench.train.inputs import to_device
from mmbench.train.loop import SplitTensors, predict
from mmbench.train.metrics import score_tasks
from mmbench.train.model import CachedFeatures, CellModel
from mmbench.train.prepare import encode_all, fit_on_train, frozen_features, split_targets

SPLIT = "test"


class ModelInputs:
    """The model's inputs for one modality's test values, clean or perturbed (frozen features cached)."""

    def __init__(self, model: CellModel, encoders: Mapping[str, Encoder], data: LoadedDataset, device: torch.device,
                 cache: FeatureCache):
        self.model, self.encoders, self.data, self.device, self.cache = model, encoders, data, device, cache
        self.encoded = 0  # frozen-encoder passes actually computed (cache misses)

    def frozen(self, modality: str) -> bool:
        return isinstance(self.model.encoders[modality], CachedFeatures)

    def _encode(self, modality: str, values: Any) -> Tensor:
        enc = self.encoders[modality]
        fit_on_train(enc, modality, self.data)  # a cache hit in train_cell leaves the original encoder unfitted
        self.encoded += 1
        return encode_all(enc, enc.preprocess(values), self.device)

    def _key(self, modality: str, *extra: str) -> str:
        fingerprint = self.encoders[modality].fingerprint()
        return FeatureCache.key(self.data.fingerprint, SPLIT, modality, str(fingerprint), *extra)

    def clean(self, modality: str) -> Any:
        values = self.data.splits[SPLIT].modalities[modality]
        if self.frozen(modality):  # train_cell's frozen_features, from the same cache: normally a hit
            misses = self.cache.misses
            features = frozen_features(self.encoders[modality], modality, self.data, self.device, self.cache, (SPLIT,))
            if features is not None:
                self.encoded += self.cache.misses - misses
                return to_device(features[SPLIT], self.device)
            return to_device(self.cache.get_or_compute(self._key(modality), lambda: self._encode(modality, values)), self.device)
        return to_device(self.model.encoders[modality].preprocess(values), self.device)

    def perturbed(self, modality: str, perturbation: Perturbation, level: float, seed: int) -> Any:
        def values() -> Any:
            return perturbation(self.data.splits[SPLIT].modalities[modality], level, torch.Generator().manual_seed(seed))

        if self.frozen(modality):
            key = self._key(modality, "perturbed", perturbation.fingerprint(), repr(float(level)), str(seed))
            return to_device(self.cache.get_or_compute(key, lambda: self._encode(modality, values())), self.device)
        return to_device(self.model.encoders[modality].preprocess(values()), self.device)


class Scorer:
    """Predict the test split from given inputs (optionally with modalities missing) and score every task."""

    def __init__(self, model: CellModel, tasks: list[TaskInfo], targets: dict[str, Tensor],
                 scale: Mapping[str, tuple[float, float]], batch_size: int):
        self.model, self.tasks, self.targets, self.scale, self.batch_size = model, tasks, targets, scale, batch_size

    def __call__(self, inputs: dict[str, Any], missing: tuple[str, ...] = ()) -> dict[str, dict[str, float]]:
        preds, _ = predict(self.model, SplitTensors(inputs, {}), self.batch_size, missing=missing)
        for t in self.tasks:
            if not torch.isfinite(preds[t.name]).all():
                raise ValueError(f"non-finite predictions for task {t.name!r}: an encoder does not accept the perturbed "
                                 "values (NaN entries? use tabular-entry-dropout with fill: mean)")
        return score_tasks(self.tasks, preds, self.targets, self.scale)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _settings(raw: Any) -> RobustnessSettings:
    if isinstance(raw, RobustnessSettings):
        return raw
    return parse_settings(json.loads(raw) if isinstance(raw, str) else raw)


def evaluate_robustness(model: CellModel, *, encoders: Mapping[str, Encoder], data: LoadedDataset, cell: Any,
                        scale: Mapping[str, tuple[float, float]], device: torch.device, cache: FeatureCache | None = None,
                        batch_size: int = 256) -> dict[str, Any]:
    """Missing-modality and perturbation scores of a trained ``model`` on ``data``'s test split.

    ``encoders`` are the cell's original encoders (fitted, frozen ones real); ``cell.robustness`` holds the
    settings (JSON text or a mapping). Returns ``{"settings", "main_metric", "clean", "missing",
    "missing_drop", "curves", "relative", "relative_mean", "errors", "encoded", "seconds"}`` (JSON-able).
    """
    started = time.perf_counter()
    settings = _settings(cell.robustness)
    cache = cache if cache is not None else FeatureCache()
    tasks = [data.task_info[t] for t in cell.tasks]
    main = {t.name: t.main_metric for t in tasks}
    lower = {t: m in LOWER_IS_BETTER for t, m in main.items()}
    feed = ModelInputs(model, encoders, data, device, cache)
    score = Scorer(model, tasks, split_targets(cell.tasks, data)[0][SPLIT], scale, batch_size)  # standardised as in train_cell
    modalities = list(model.modalities)
    clean_inputs = {m: feed.clean(m) for m in modalities}
    clean = score(clean_inputs)
    clean_main = {t: clean[t][main[t]] for t in main}

    missing: dict[str, dict[str, dict[str, float]]] = {}
    drop: dict[str, dict[str, float | None]] = {t: {} for t in main}
    if settings.missing:
        for m in modalities:
            missing[m] = score(clean_inputs, (m,))
            for t in main:
                drop[t][m] = _finite(missing_drop(clean_main[t], missing[m][t][main[t]], lower[t]))

    curves: dict[str, dict[str, dict[str, list[float]]]] = {}
    relative: dict[str, dict[str, float | None]] = {t: {} for t in main}
    errors: dict[str, str] = {}
    index = {m: i for i, m in enumerate(sorted(data.modality_info))}
    by_kind = choices_by_kind(settings)
    for m in modalities:
        for choice, perturbation in by_kind.get(data.modality_info[m].kind, []):
            name = f"{m}/{choice.label}"
            try:
                per_level = [clean if level == 0.0 else
                             score(clean_inputs | {m: feed.perturbed(m, perturbation, level, settings.seed + index[m])})
                             for level in settings.levels]
            except Exception as exc:  # noqa: BLE001 - one broken perturbation must not cost the trained cell
                errors[name] = f"{type(exc).__name__}: {exc}"
                continue
            curve = {t: [s[t][main[t]] for s in per_level] for t in main}
            curves.setdefault(m, {})[choice.label] = curve
            for t in main:
                relative[t][name] = _finite(relative_robustness(settings.levels, curve[t], clean_main[t], lower[t]))
    return {
        "settings": settings.as_dict(),
        "main_metric": main,
        "clean": clean_main,
        "missing": missing,
        "missing_drop": drop,
        "curves": curves,
        "relative": relative,
        "relative_mean": {t: _finite(mean_finite(list(relative[t].values()))) for t in main},
        "errors": errors,
        "encoded": feed.encoded,
        "seconds": time.perf_counter() - started,
    }
