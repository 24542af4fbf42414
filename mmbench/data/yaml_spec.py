"""Dataset specs from YAML or plain dicts (a grid config embeds one), and the structural checks every
spec goes through, whether it came from YAML or from a plugin.

The format (``docs/datasets.md`` has the full story)::

    name: reviews                      # optional when source is given (defaults to its last part)
    source: path/to/folder             # hub name, folder of parquet/csv/json files, or save_to_disk folder
    config: null                       # the hub config name, if any
    revision: null                     # a hub commit, branch or tag to pin (recorded with every result)
    splits: {train: train, validation: null, test: test}   # null validation (or test): carved from train
    validation_fraction: 0.1
    test_fraction: 0.1                 # used when test is null
    split_seed: 0
    missing_labels: error              # error | drop | mask
    missing_features: error            # error | drop | impute
    modalities:
      photo: {column: img, kind: image, size: [32, 32]}     # size: optional resize (H, W)
      words: {columns: [title, body], kind: text}
    tasks:
      stars: {column: rating, type: classification}         # num_classes: optional
      price: {column: price, type: regression}
    metadata: {description: ..., reference: ...}
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping

from mmbench.data.errors import DatasetError
from mmbench.data.missing import check_policies
from mmbench.data.spec import DatasetSpec, ModalitySpec, TaskSpec
from mmbench.vocabulary import MODALITY_KINDS, TASK_TYPES

SPLIT_ROLES = ("train", "validation", "test")
DEFAULT_SPLITS = {"train": "train", "validation": "validation", "test": "test"}

_TOP_KEYS = ("name", "source", "config", "revision", "splits", "validation_fraction", "test_fraction", "split_seed",
             "missing_labels", "missing_features", "modalities", "tasks", "metadata")
#: Per-modality decoding options a YAML modality entry may carry (kept in ``metadata["decode"]``).
DECODE_OPTIONS = {"image": ("size",), "audio": ("length", "sampling_rate"), "text": ("separator",), "tabular": ()}
_SINGLE_COLUMN_KINDS = ("image", "audio")


def _unknown_keys(where: str, given: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    extra = [k for k in given if k not in allowed]
    if extra:
        hints = []
        for key in extra:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise DatasetError(f"{where}: unknown key(s) {', '.join(hints)}; allowed keys: {', '.join(allowed)}")


def _modality_from_dict(dataset: str, name: str, entry: Any) -> tuple[ModalitySpec, dict[str, Any]]:
    where = f"dataset {dataset!r}, modality {name!r}"
    if not isinstance(entry, Mapping):
        raise DatasetError(f"{where}: expected a mapping like {{column: <col>, kind: image}}, got {entry!r}")
    kind = entry.get("kind")
    if kind not in MODALITY_KINDS:
        raise DatasetError(f"{where}: kind must be one of {', '.join(MODALITY_KINDS)}; got {kind!r}")
    _unknown_keys(where, entry, ("column", "columns", "kind") + DECODE_OPTIONS[kind])
    if ("column" in entry) == ("columns" in entry):
        raise DatasetError(f"{where}: give exactly one of `column: <name>` or `columns: [<name>, ...]`")
    columns = entry.get("columns", entry.get("column"))
    columns = (columns,) if isinstance(columns, str) else tuple(columns or ())
    options = {key: entry[key] for key in DECODE_OPTIONS[kind] if key in entry}
    return ModalitySpec(columns=columns, kind=kind), options


def _task_from_dict(dataset: str, name: str, entry: Any) -> TaskSpec:
    where = f"dataset {dataset!r}, task {name!r}"
    if not isinstance(entry, Mapping):
        raise DatasetError(f"{where}: expected a mapping like {{column: <col>, type: classification}}, got {entry!r}")
    _unknown_keys(where, entry, ("column", "type", "num_classes"))
    if "column" not in entry or "type" not in entry:
        raise DatasetError(f"{where}: needs both `column` and `type` ({' | '.join(TASK_TYPES)})")
    return TaskSpec(column=entry["column"], type=entry["type"], num_classes=entry.get("num_classes"))


def spec_from_dict(d: Mapping[str, Any]) -> DatasetSpec:
    """Build and check a :class:`DatasetSpec` from a plain mapping (a parsed YAML spec). The problems of its
    keys and of its modality, task and split entries are reported together, in one :class:`DatasetError`."""
    if not isinstance(d, Mapping):
        raise DatasetError(f"a dataset spec must be a mapping; got {type(d).__name__}")
    problems: list[str] = []

    def collect(check: Any, *args: Any) -> Any:
        try:
            return check(*args)
        except DatasetError as exc:
            problems.append(str(exc))
            return None

    collect(_unknown_keys, "dataset spec", d, _TOP_KEYS)
    source = d.get("source")
    name = d.get("name") or (Path(str(source)).name if source else None)
    if not name:
        problems.append("dataset spec: give a `name` or a `source` (hub name or local folder)")
        name = "(unnamed)"
    for key in ("modalities", "tasks"):
        if not isinstance(d.get(key), Mapping) or not d[key]:
            problems.append(f"dataset {name!r}: `{key}` must be a non-empty mapping of name -> entry")
    modalities: dict[str, ModalitySpec] = {}
    decode: dict[str, dict[str, Any]] = {}
    for mod_name, entry in (d["modalities"].items() if isinstance(d.get("modalities"), Mapping) else ()):
        made = collect(_modality_from_dict, name, str(mod_name), entry)
        if made is not None:
            modalities[str(mod_name)] = made[0]
            if made[1]:
                decode[str(mod_name)] = made[1]
    tasks = {}
    for task_name, entry in (d["tasks"].items() if isinstance(d.get("tasks"), Mapping) else ()):
        tasks[str(task_name)] = collect(_task_from_dict, name, str(task_name), entry)
    splits_in = d.get("splits") or {}
    if not isinstance(splits_in, Mapping):
        problems.append(f"dataset {name!r}: `splits` must map roles ({', '.join(SPLIT_ROLES)}) to split names")
        splits_in = {}
    collect(_unknown_keys, f"dataset {name!r}, splits", splits_in, SPLIT_ROLES)
    if len(problems) == 1:
        raise DatasetError(problems[0])
    if problems:
        raise DatasetError(f"{len(problems)} problems with the dataset spec:\n  - " + "\n  - ".join(problems))
    metadata = dict(d.get("metadata") or {})
    if decode:
        metadata["decode"] = {**metadata.get("decode", {}), **decode}
    spec = DatasetSpec(
        name=str(name),
        modalities=modalities,
        tasks=tasks,
        source=None if source is None else str(source),
        config=d.get("config"),
        revision=None if d.get("revision") is None else str(d["revision"]),
        splits={**DEFAULT_SPLITS, **dict(splits_in)},
        validation_fraction=float(d.get("validation_fraction", 0.1)),
        test_fraction=float(d.get("test_fraction", 0.1)),
        split_seed=int(d.get("split_seed", 0)),
        metadata=metadata,
        missing_labels=str(d.get("missing_labels", "error")),
        missing_features=str(d.get("missing_features", "error")),
    )
    return check_spec(spec)


def spec_from_yaml(path: str | Path) -> DatasetSpec:
    """Read a spec from a YAML file; a relative ``source`` that exists next to the file is made absolute."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise DatasetError(f"cannot read dataset spec {str(path)!r}: {exc}") from exc
    if isinstance(data, Mapping) and isinstance(data.get("source"), str):
        beside = path.parent / data["source"]
        if not Path(data["source"]).is_absolute() and beside.exists():
            data = {**data, "source": str(beside.resolve())}
    try:
        return spec_from_dict(data)
    except DatasetError as exc:
        raise DatasetError(f"{path}: {exc}") from exc


def spec_to_dict(spec: DatasetSpec) -> dict[str, Any]:
    """The plain-dict form of ``spec`` (what ``spec_from_dict`` reads back); the builder is left out."""
    decode = spec.metadata.get("decode", {})
    modalities = {}
    for name, m in spec.modalities.items():
        entry: dict[str, Any] = {"columns": list(m.columns), "kind": m.kind}
        entry.update(decode.get(name, {}))
        modalities[name] = entry
    tasks = {}
    for name, t in spec.tasks.items():
        tasks[name] = {"column": t.column, "type": t.type}
        if t.num_classes is not None:
            tasks[name]["num_classes"] = t.num_classes
    metadata = {k: v for k, v in spec.metadata.items() if k != "decode"}
    return {
        "name": spec.name,
        "source": spec.source,
        "config": spec.config,
        "revision": spec.revision,
        "splits": dict(spec.splits),
        "validation_fraction": spec.validation_fraction,
        "test_fraction": spec.test_fraction,
        "split_seed": spec.split_seed,
        "missing_labels": spec.missing_labels,
        "missing_features": spec.missing_features,
        "modalities": modalities,
        "tasks": tasks,
        "metadata": metadata,
    }


def check_spec(spec: DatasetSpec) -> DatasetSpec:
    """Check a spec's structure (not its data); column tuples given as ``str``/``list`` are normalised."""
    if not isinstance(spec, DatasetSpec):
        raise DatasetError(f"expected a DatasetSpec; got {type(spec).__name__}")
    name = spec.name
    if not name or not isinstance(name, str):
        raise DatasetError(f"a dataset spec needs a non-empty `name`; got {name!r}")
    if (spec.source is None) == (spec.builder is None):
        raise DatasetError(f"dataset {name!r}: set exactly one of `source` (hub name or local path) and `builder`")
    if not spec.modalities or not spec.tasks:
        raise DatasetError(f"dataset {name!r}: needs at least one modality and one task")
    for kind, names in (("modality", spec.modalities), ("task", spec.tasks)):
        for key in names:
            if not isinstance(key, str) or not key or "." in key:
                raise DatasetError(f"dataset {name!r}: {kind} name {key!r} must be non-empty and contain no '.' (it names "
                                   f"model parts and result columns); rename the {kind} — its column may keep any name")
    for mod_name, m in list(spec.modalities.items()):
        columns = (m.columns,) if isinstance(m.columns, str) else tuple(m.columns)
        if columns != m.columns:
            spec.modalities[mod_name] = m = replace(m, columns=columns)
        where = f"dataset {name!r}, modality {mod_name!r}"
        if m.kind not in MODALITY_KINDS:
            raise DatasetError(f"{where}: kind must be one of {', '.join(MODALITY_KINDS)}; got {m.kind!r}")
        if not columns or not all(isinstance(c, str) and c for c in columns):
            raise DatasetError(f"{where}: columns must be non-empty column names; got {m.columns!r}")
        if m.kind in _SINGLE_COLUMN_KINDS and len(columns) != 1:
            raise DatasetError(f"{where}: an {m.kind} modality reads exactly one column; got {list(columns)}. "
                               "Fix: declare one modality per column.")
    for task_name, t in spec.tasks.items():
        where = f"dataset {name!r}, task {task_name!r}"
        if t.type not in TASK_TYPES:
            raise DatasetError(f"{where}: type must be one of {', '.join(TASK_TYPES)}; got {t.type!r}")
        if not isinstance(t.column, str) or not t.column:
            raise DatasetError(f"{where}: `column` must be a column name; got {t.column!r}")
        if t.num_classes is not None:
            if t.type == "regression":
                raise DatasetError(f"{where}: a regression task takes no num_classes; remove it")
            least = 2 if t.type == "classification" else 1
            if not isinstance(t.num_classes, int) or t.num_classes < least:
                raise DatasetError(f"{where}: num_classes must be an integer >= {least}; got {t.num_classes!r}")
    extra_roles = [r for r in spec.splits if r not in SPLIT_ROLES]
    if extra_roles:
        raise DatasetError(f"dataset {name!r}: unknown split role(s) {extra_roles}; roles are {', '.join(SPLIT_ROLES)}")
    if not spec.splits.get("train"):
        raise DatasetError(f"dataset {name!r}: `splits.train` must name a split of the source")
    if "test" not in spec.splits or spec.splits["test"] == "":
        raise DatasetError(f"dataset {name!r}: `splits.test` must name a split of the source, or be null to carve "
                           "one from train (test_fraction)")
    for key in ("validation_fraction", "test_fraction"):
        if not 0.0 < getattr(spec, key) < 1.0:
            raise DatasetError(f"dataset {name!r}: {key} must lie in (0, 1); got {getattr(spec, key)}")
    if spec.revision is not None and (not isinstance(spec.revision, str) or not spec.revision):
        raise DatasetError(f"dataset {name!r}: revision must be a non-empty commit, branch or tag name; got {spec.revision!r}")
    check_policies(spec)
    decode = spec.metadata.get("decode", {})
    unknown = [m for m in decode if m not in spec.modalities]
    if unknown:
        raise DatasetError(f"dataset {name!r}: metadata.decode names unknown modalities {unknown}")
    return spec
