"""Read a run directory's cells and group them into *configurations*: cells identical except the seed.

Each configuration keeps its per-seed scores as pandas frames (index: seed; columns: ``(task, metric)``),
so every statistic downstream (means, intervals, Δm%) is a vectorised pandas/scipy operation.
Failed cells are kept too: they count against their configuration and are listed, never dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

import pandas as pd

from mmbench.data.spec import LOWER_IS_BETTER, TaskInfo
from mmbench.store.sqlite import ResultStore

FAMILIES = ("st-sm", "st-cm", "mt-sm", "mt-cm")
#: Cost keys of a result, averaged over seeds.
COST_KEYS = ("params", "trainable_params", "train_seconds", "peak_memory_mb")
#: Which metric names identify a task type (``TaskInfo.main_metric`` then gives the main metric).
_TYPE_BY_METRIC = {"accuracy": "classification", "micro_f1": "multilabel", "mae": "regression"}


def lower_is_better(metric: str) -> bool:
    return metric in LOWER_IS_BETTER


def main_metric(metrics: Iterable[str]) -> str:
    """The main metric of a task, inferred from the metric names stored for it."""
    names = sorted(metrics)
    for name in names:
        if name in _TYPE_BY_METRIC:
            return TaskInfo("", _TYPE_BY_METRIC[name], 1).main_metric
    if not names:
        raise ValueError("a task without metrics has no main metric")
    return names[0]


def dataset_name(value: Any) -> str:
    """A registered dataset's name, or an embedded spec's ``name`` (``custom`` when it has none)."""
    return value if isinstance(value, str) else str(value.get("name", "custom"))


def component_label(value: dict[str, Any] | None) -> str | None:
    """``name`` or ``name(opt=value,...)`` (options sorted), as grid labels and exports write it."""
    if value is None:
        return None
    opts = ",".join(f"{k}={v}" for k, v in sorted(value.items()) if k != "name")
    return value["name"] + (f"({opts})" if opts else "")


@dataclass
class FailedCell:
    """A cell stored as ``failed``: listed in its own section of every leaderboard."""

    cell_id: str
    key: str
    family: str
    seed: int
    label: str
    error: str


@dataclass
class Configuration:
    """Cells identical except the seed, with their per-seed scores."""

    key: str
    dataset: str
    family: str
    modalities: tuple[str, ...]
    tasks: tuple[str, ...]
    encoders: tuple[tuple[str, str], ...]
    aligner: str | None
    fuser: str | None
    weighting: str | None
    training: str
    seeds: list[int] = field(default_factory=list)
    failed_seeds: list[int] = field(default_factory=list)
    test: pd.DataFrame = field(default_factory=pd.DataFrame)
    validation: pd.DataFrame = field(default_factory=pd.DataFrame)
    retrieval: pd.DataFrame = field(default_factory=pd.DataFrame)
    cost: pd.DataFrame = field(default_factory=pd.DataFrame)
    memory_kinds: set[str] = field(default_factory=set)
    #: per seed, the result's ``robustness`` dict (``mmbench.robustness.evaluate``), when the grid scored it
    robustness: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def encoders_label(self) -> str:
        return "+".join(f"{m}={c}" for m, c in self.encoders)

    @property
    def label(self) -> str:
        """``[family] modalities | tasks | encoders | aligner | fuser | weighting`` (no seed)."""
        parts = ["+".join(self.modalities), "+".join(self.tasks), "/".join(c for _, c in self.encoders)]
        parts += [c for c in (self.aligner, self.fuser, self.weighting) if c is not None]
        return f"[{self.family}] " + " | ".join(parts)

    @property
    def single_task(self) -> bool:
        return self.family.startswith("st")

    @property
    def cross_modal(self) -> bool:
        return self.family.endswith("cm")

    @property
    def setting(self) -> tuple[str, str]:
        """What every comparison must share: the dataset and the training settings."""
        return self.dataset, self.training

    def mean(self, split: str = "test") -> pd.Series:
        """Mean over seeds per ``(task, metric)``."""
        frame = self.validation if split == "validation" else self.test
        return frame.mean(axis=0) if len(frame) else pd.Series(dtype=float)

    def main_metrics(self) -> dict[str, str]:
        """``task → main metric`` for the tasks this configuration has scores for."""
        if self.test.empty:
            return {}
        return {t: main_metric(self.test[t].columns) for t in self.tasks if t in self.test.columns.get_level_values(0)}


def _config_key(config: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in config.items() if k != "seed"}, sort_keys=True, separators=(",", ":"), default=str)


def _new_configuration(key: str, family: str, config: dict[str, Any]) -> Configuration:
    return Configuration(
        key=key, dataset=dataset_name(config["dataset"]), family=family,
        modalities=tuple(config["modalities"]), tasks=tuple(config["tasks"]),
        encoders=tuple((m, component_label(c) or "") for m, c in sorted(config["encoders"].items())),
        aligner=component_label(config.get("aligner")), fuser=component_label(config.get("fuser")),
        weighting=component_label(config.get("weighting")),
        training=json.dumps(config.get("training", {}), sort_keys=True, default=str),
    )


def _empty(names: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(index=pd.Index([], name="seed"), columns=pd.MultiIndex.from_tuples([], names=names), dtype=float)


def _per_seed(records: list[dict[str, Any]]) -> dict[tuple[str, str], pd.DataFrame]:
    """Long records (split, key, seed, task, metric, value) → per (split, key): index seed, columns (task, metric)."""
    if not records:
        return {}
    wide = (pd.DataFrame.from_records(records).set_index(["split", "key", "seed", "task", "metric"])["value"]
            .unstack(["task", "metric"]).astype(float))
    out = {}
    for (split, key), sub in wide.groupby(level=[0, 1], sort=False):
        frame = sub.droplevel([0, 1]).dropna(axis=1, how="all")
        out[(split, key)] = frame.sort_index(axis=0).sort_index(axis=1)
    return out


def load(store: ResultStore) -> tuple[list[Configuration], list[FailedCell]]:
    """Every configuration in ``store`` (sorted by dataset, family, label) and every failed cell."""
    configs: dict[str, Configuration] = {}
    failed: list[FailedCell] = []
    records: list[dict[str, Any]] = []
    for row in store.rows():
        key = _config_key(row.config)
        cfg = configs.get(key) or configs.setdefault(key, _new_configuration(key, row.family, row.config))
        if row.status != "ok" or row.result is None:
            cfg.failed_seeds.append(row.seed)
            failed.append(FailedCell(row.cell_id, key, row.family, row.seed, row.label, row.error or "failed (no reason stored)"))
            continue
        cfg.seeds.append(row.seed)
        if row.result.get("peak_memory_kind"):
            cfg.memory_kinds.add(str(row.result["peak_memory_kind"]))
        if isinstance(row.result.get("robustness"), dict):
            cfg.robustness[row.seed] = row.result["robustness"]
        metrics = row.result.get("metrics", {})
        for split in ("test", "validation", "retrieval"):
            for task, values in metrics.get(split, {}).items():
                if not isinstance(values, dict):
                    continue
                records += [{"split": split, "key": key, "seed": row.seed, "task": task, "metric": m, "value": float(v)}
                            for m, v in values.items() if isinstance(v, (int, float))]
        records += [{"split": "cost", "key": key, "seed": row.seed, "task": k, "metric": "", "value": float(row.result[k])}
                    for k in COST_KEYS if isinstance(row.result.get(k), (int, float))]
    frames = _per_seed(records)
    for key, cfg in configs.items():
        cfg.seeds.sort()
        cfg.failed_seeds.sort()
        cfg.test = frames.get(("test", key), _empty(("task", "metric")))
        cfg.validation = frames.get(("validation", key), _empty(("task", "metric")))
        cfg.retrieval = frames.get(("retrieval", key), _empty(("task", "metric")))
        cfg.retrieval.columns = cfg.retrieval.columns.set_names(["pair", "metric"])
        cost = frames.get(("cost", key))
        cfg.cost = cost.droplevel(1, axis=1).rename_axis(columns=None) if cost is not None else pd.DataFrame(index=pd.Index([], name="seed"))
    order = {fam: i for i, fam in enumerate(FAMILIES)}
    return sorted(configs.values(), key=lambda c: (c.dataset, order.get(c.family, len(order)), c.label)), failed
