"""Read a run directory's cells and group them into *configurations*: cells identical except the seed, the
data-split seed (``split_seed``) and the hyperparameters tuning chose for them (``hparams``). The tuning
protocol (``tuning``) and the architecture stay in the key: a tuned and an untuned run of the same components
are two configurations, shown side by side.

Each configuration keeps its per-seed scores as pandas frames (index: seed; columns: ``(task, metric)``),
so every statistic downstream (means, intervals, Δm%) is a vectorised pandas/scipy operation. What newer
rows store — ``result["chance"]``, ``result["converged"]``, ``result["tuning"]``, ``config["hparams"]``,
``config["split_seed"]``, ``config["architecture"]`` — is read defensively: older rows lack it.
Failed cells are kept too: they count against their configuration and are listed, never dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mmbench.scoring import main_metric
from mmbench.store.sqlite import ResultStore
from mmbench.vocabulary import FAMILIES

#: config keys that do not make a configuration: what varies between its seeds
PER_SEED_KEYS = ("seed", "split_seed", "hparams")
#: the architecture of a row that does not name one (rows from before the architecture kind existed)
DEFAULT_ARCHITECTURE = "hps"
#: Cost keys of a result, averaged over seeds.
COST_KEYS = ("params", "trainable_params", "train_seconds", "peak_memory_mb")


def dataset_name(value: Any) -> str:
    """A registered dataset's name, or an embedded spec's ``name`` — else its source's last path part,
    as the spec itself defaults (``docs/datasets.md``)."""
    from mmbench.store.export import dataset_label

    return dataset_label(value)


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
    #: the architecture's label (``hps`` when the rows name none); ``architecture_named``: whether they did
    architecture: str = DEFAULT_ARCHITECTURE
    architecture_named: bool = False
    #: the tuning protocol (``config["tuning"]``), ``None`` when untuned
    tuning: dict[str, Any] | None = None
    seeds: list[int] = field(default_factory=list)
    failed_seeds: list[int] = field(default_factory=list)
    test: pd.DataFrame = field(default_factory=pd.DataFrame)
    validation: pd.DataFrame = field(default_factory=pd.DataFrame)
    retrieval: pd.DataFrame = field(default_factory=pd.DataFrame)
    cost: pd.DataFrame = field(default_factory=pd.DataFrame)
    memory_kinds: set[str] = field(default_factory=set)
    #: per seed, the result's ``robustness`` dict (``mmbench.robustness.evaluate``), when the grid scored it
    robustness: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: per seed: ``config["split_seed"]``, ``result["converged"]``, ``config["hparams"]``, ``result["tuning"]``
    split_seeds: dict[int, int] = field(default_factory=dict)
    converged: dict[int, bool] = field(default_factory=dict)
    hparams: dict[int, dict[str, Any]] = field(default_factory=dict)
    tuning_result: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: per seed the majority-class accuracy per classification task (index seed, columns task)
    chance_test: pd.DataFrame = field(default_factory=pd.DataFrame)
    chance_validation: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: per seed the number of examples per split (``result["sizes"]``): the chance test's trials
    sizes: dict[int, dict[str, int]] = field(default_factory=dict)
    cell_ids: dict[int, str] = field(default_factory=dict)
    #: seeds whose cell the store kept although other component versions produced it (meta ``stale_kept``)
    stale_seeds: list[int] = field(default_factory=list)
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def encoders_label(self) -> str:
        return "+".join(f"{m}={c}" for m, c in self.encoders)

    @property
    def label(self) -> str:
        """``[family] modalities | tasks | encoders | aligner | fuser | architecture | weighting [| tuned]`` (no
        seed; the architecture only for multitask rows that name one, as :attr:`mmbench.train.cell.Cell.label`)."""
        parts = ["+".join(self.modalities), "+".join(self.tasks), "/".join(c for _, c in self.encoders)]
        parts += [c for c in (self.aligner, self.fuser) if c is not None]
        if self.architecture_named and len(self.tasks) > 1:
            parts.append(self.architecture)
        if self.weighting is not None:
            parts.append(self.weighting)
        return f"[{self.family}] " + " | ".join(parts) + (" | tuned" if self.tuning is not None else "")

    @property
    def tuning_key(self) -> str:
        return json.dumps(self.tuning, sort_keys=True, default=str) if self.tuning is not None else ""

    @property
    def nonconverged_seeds(self) -> list[int]:
        """Seeds whose best validation epoch was the last one run (still improving when training stopped)."""
        return sorted(s for s, ok in self.converged.items() if ok is False)

    @property
    def stale(self) -> bool:
        return bool(self.stale_seeds)

    @property
    def single_task(self) -> bool:
        return self.family.startswith("st")

    @property
    def cross_modal(self) -> bool:
        return self.family.endswith("cm")

    @property
    def setting(self) -> tuple[str, str, str]:
        """What every comparison must share: the dataset, the training settings and the tuning protocol."""
        return self.dataset, self.training, self.tuning_key

    def paired_seeds(self, *others: "Configuration") -> list[int]:
        """The seeds this configuration and every one of ``others`` ran, on the same data split."""
        common = set(self.test.index)
        for other in others:
            common &= {s for s in other.test.index if other.split_seeds.get(s) == self.split_seeds.get(s)}
        return sorted(common)

    def mean(self, split: str = "test") -> pd.Series:
        """Mean over seeds per ``(task, metric)`` (cached per frame: every reference lookup asks for it)."""
        frame = self.validation if split == "validation" else self.test
        key = (split, id(frame))
        if key not in self._cache:
            self._cache[key] = frame.mean(axis=0) if len(frame) else pd.Series(dtype=float)
        return self._cache[key]

    def main_metrics(self) -> dict[str, str]:
        """``task → main metric`` for the tasks this configuration has scores for."""
        if self.test.empty:
            return {}
        key = ("main", id(self.test))
        if key not in self._cache:
            stored: dict[str, list[str]] = {}
            for t, m in self.test.columns:
                stored.setdefault(t, []).append(m)
            self._cache[key] = {t: main_metric(stored[t]) for t in self.tasks if t in stored}
        return self._cache[key]


def _config_key(config: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in config.items() if k not in PER_SEED_KEYS}, sort_keys=True,
                      separators=(",", ":"), default=str)


def _new_configuration(key: str, family: str, config: dict[str, Any], labels: dict[str, str] | None = None) -> Configuration:
    """``labels``: the cell's short component labels (only the options its grid gave), when it recorded
    them; otherwise every stored option is shown."""
    labels = labels or {}

    def label(slot: str) -> str | None:
        value = config.get(slot)
        return None if value is None else labels.get(slot) or component_label(value)

    return Configuration(
        key=key, dataset=dataset_name(config["dataset"]), family=family,
        modalities=tuple(config["modalities"]), tasks=tuple(config["tasks"]),
        encoders=tuple((m, labels.get(f"encoders.{m}") or component_label(c) or "") for m, c in sorted(config["encoders"].items())),
        aligner=label("aligner"), fuser=label("fuser"), weighting=label("weighting"),
        training=json.dumps(config.get("training", {}), sort_keys=True, default=str),
        architecture=label("architecture") or DEFAULT_ARCHITECTURE,
        architecture_named=isinstance(config.get("architecture"), dict),
        tuning=config.get("tuning") if isinstance(config.get("tuning"), dict) else None,
    )


def _chance_frame(per_seed: dict[int, dict[str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(per_seed, orient="index", dtype=float)
    frame.index.name = "seed"
    return frame.sort_index(axis=0).sort_index(axis=1)


def _read_cell(cfg: Configuration, row: Any, stale: set[str], chance: dict[str, dict[int, dict[str, float]]]) -> None:
    """The per-seed extras of one ok cell: split seed, convergence, hyperparameters, tuning, chance, staleness."""
    seed, config, result = row.seed, row.config, row.result
    cfg.cell_ids[seed] = row.cell_id
    if row.cell_id in stale:
        cfg.stale_seeds.append(seed)
    if isinstance(config.get("split_seed"), int):
        cfg.split_seeds[seed] = config["split_seed"]
    if isinstance(result.get("converged"), bool):
        cfg.converged[seed] = result["converged"]
    hparams = config.get("hparams", result.get("hparams"))
    if isinstance(hparams, dict) and hparams:
        cfg.hparams[seed] = hparams
    if isinstance(result.get("tuning"), dict):
        cfg.tuning_result[seed] = result["tuning"]
    if isinstance(result.get("sizes"), dict):
        cfg.sizes[seed] = {k: int(v) for k, v in result["sizes"].items() if isinstance(v, int) and not isinstance(v, bool)}
    for split in ("test", "validation"):
        per_task = (result.get("chance") or {}).get(split) if isinstance(result.get("chance"), dict) else None
        if isinstance(per_task, dict):
            values = {t: float(v) for t, v in per_task.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            if values:
                chance[split][seed] = values


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


def load(store: ResultStore, show_superseded: bool = False) -> tuple[list[Configuration], list[FailedCell], dict[str, str]]:
    """Every current configuration in ``store`` (sorted by dataset, family, label), every current failed cell,
    and the superseded cells (``cell_id → why``, :mod:`mmbench.leaderboard.superseded`) — left out unless
    ``show_superseded``. Components whose rows differ in an option show it in their labels (:func:`_distinguish`)."""
    from mmbench.leaderboard.superseded import superseded

    configs: dict[str, Configuration] = {}
    failed: list[FailedCell] = []
    records: list[dict[str, Any]] = []
    stale = {str(c) for c in (store.get_meta("stale_kept", None) or []) if isinstance(c, (str, int))}
    chances: dict[str, dict[str, dict[int, dict[str, float]]]] = {}
    rows = list(store.rows())
    hidden = superseded(rows, store.get_meta("grid_cells", None), stale) or {}
    for row in rows:
        if row.cell_id in hidden and not show_superseded:
            continue
        key = _config_key(row.config)
        labels = (row.result or {}).get("labels") if isinstance(row.result, dict) else None
        cfg = configs.get(key) or configs.setdefault(key, _new_configuration(key, row.family, row.config, labels))
        if row.status != "ok" or row.result is None:
            cfg.failed_seeds.append(row.seed)
            failed.append(FailedCell(row.cell_id, key, row.family, row.seed, row.label, row.error or "failed (no reason stored)"))
            continue
        cfg.seeds.append(row.seed)
        _read_cell(cfg, row, stale, chances.setdefault(key, {"test": {}, "validation": {}}))
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
        cfg.stale_seeds.sort()
        chance = chances.get(key, {"test": {}, "validation": {}})
        cfg.chance_test, cfg.chance_validation = _chance_frame(chance["test"]), _chance_frame(chance["validation"])
        cfg.test = frames.get(("test", key), _empty(("task", "metric")))
        cfg.validation = frames.get(("validation", key), _empty(("task", "metric")))
        cfg.retrieval = frames.get(("retrieval", key), _empty(("task", "metric")))
        cfg.retrieval.columns = cfg.retrieval.columns.set_names(["pair", "metric"])
        cost = frames.get(("cost", key))
        cfg.cost = cost.droplevel(1, axis=1).rename_axis(columns=None) if cost is not None else pd.DataFrame(index=pd.Index([], name="seed"))
    _distinguish(list(configs.values()))
    order = {fam: i for i, fam in enumerate(FAMILIES)}
    return sorted(configs.values(), key=lambda c: (c.dataset, order.get(c.family, len(order)), c.label)), failed, hidden


def _components(config: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(slot, stored value)`` of each component of a stored config (``encoders.<m>``, ``aligner``...)."""
    out = [(f"encoders.{m}", v) for m, v in sorted((config.get("encoders") or {}).items())]
    out += [(slot, config[slot]) for slot in ("aligner", "fuser", "architecture", "weighting") if isinstance(config.get(slot), dict)]
    return [(slot, v) for slot, v in out if isinstance(v, dict) and isinstance(v.get("name"), str)]


def _distinguish(configs: list[Configuration]) -> None:
    """A component whose configurations on the page differ in an option shows that option in each of their
    labels (``bilinear(dim=16)`` beside ``bilinear(dim=32)``), besides the options their grids gave: rows of
    one component never share a label unless they ran with the same options."""
    import re

    stored = {id(c): _components(json.loads(c.key)) for c in configs}
    seen: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for c in configs:
        for slot, value in stored[id(c)]:
            seen.setdefault((slot.split(".")[0], value["name"]), []).append(value)
    varying = {key: {k for k in {k for v in values for k in v} - {"name"}
                     if len({json.dumps(v.get(k), sort_keys=True, default=str) for v in values}) > 1}
               for key, values in seen.items()}
    for c in configs:
        for slot, value in stored[id(c)]:
            extra = varying[(slot.split(".")[0], value["name"])]
            if not extra:
                continue
            old = dict(c.encoders)[slot.split(".", 1)[1]] if slot.startswith("encoders.") else getattr(c, slot)
            shown = {k: v for k, v in value.items() if k != "name" and (k in extra or re.search(rf"[(,]{re.escape(k)}=", old or ""))}
            label = component_label({"name": value["name"], **shown}) or value["name"]
            if slot.startswith("encoders."):
                c.encoders = tuple((m, label if m == slot.split(".", 1)[1] else e) for m, e in c.encoders)
            else:
                setattr(c, slot, label)
