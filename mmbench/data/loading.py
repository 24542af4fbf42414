"""The data layer's public entry points: :func:`resolve` a name/dict/spec and :func:`load` it.

``load`` opens the source through Hugging Face ``datasets`` (:mod:`mmbench.data.source`), checks the schema
(:mod:`mmbench.data.validate`), drops the rows the spec's missing-value options say to drop
(:mod:`mmbench.data.missing`), decodes the labels with their value checks (:mod:`mmbench.data.targets`)
and then the modalities (:mod:`mmbench.data.decode`) — all before any training — and fingerprints the
decoded content for the feature cache. Given ``modalities`` (a grid's), it decodes only those
(:func:`mmbench.data.subset.select_modalities`); the rows stay those of the whole dataset.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

from mmbench.data.errors import DatasetError
from mmbench.data.spec import DatasetSpec, LoadedDataset, Split
from mmbench.data.yaml_spec import check_spec, spec_from_dict, spec_from_yaml, spec_to_dict

ROLES = ("train", "validation", "test")


def resolve(name_or_spec: str | Mapping[str, Any] | DatasetSpec, **options: Any) -> DatasetSpec:
    """A checked :class:`DatasetSpec` from a spec, an embedded YAML mapping, a YAML file path, or the name of a
    registered dataset (``options`` go to its factory; a mapping ``{name: ..., options: {...}}`` does the same)."""
    if isinstance(name_or_spec, DatasetSpec):
        return check_spec(name_or_spec)
    if isinstance(name_or_spec, Mapping):
        if set(name_or_spec) <= {"name", "options"} and "name" in name_or_spec:
            return resolve(str(name_or_spec["name"]), **{**dict(name_or_spec.get("options") or {}), **options})
        return spec_from_dict(name_or_spec)
    if not isinstance(name_or_spec, str):
        raise DatasetError(f"expected a dataset name, a spec mapping or a DatasetSpec; got {type(name_or_spec).__name__}")
    if name_or_spec.endswith((".yaml", ".yml")) and Path(name_or_spec).is_file():
        return spec_from_yaml(name_or_spec)
    from mmbench.plugins.manager import get_registry
    from mmbench.plugins.registry import UnknownComponentError

    try:
        entry = get_registry("datasets").get(name_or_spec)
    except UnknownComponentError as exc:
        raise DatasetError(f"{exc}; or give a spec (a mapping or a .yaml file) with `source:`, `modalities:` and `tasks:`") from exc
    from mmbench.plugins.options import ComponentOptionError, check_options

    try:
        params = check_options(entry, options)  # every unknown option with "did you mean", not a bare TypeError
    except ComponentOptionError as exc:
        raise DatasetError(str(exc)) from None
    try:
        spec = entry.create(**options)
    except TypeError as exc:
        raise DatasetError(f"dataset {name_or_spec!r} (plugin {entry.plugin!r}) rejected options {options}: {exc}") from exc
    if not isinstance(spec, DatasetSpec):
        raise DatasetError(f"dataset {name_or_spec!r} from plugin {entry.plugin!r}: its factory returned "
                           f"{type(spec).__name__}, not a DatasetSpec. Fix the plugin's factory.")
    _missing_folder_option(entry, spec, {n: p.default for n, p in params.items()} | options, options)
    return check_spec(spec)


def _missing_folder_option(entry: Any, spec: DatasetSpec, values: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    """A registered dataset whose ``source`` is a local folder that does not exist, taken from one of its
    factory's options (``path``, say): the error names that option and the absolute folder, not ``source``."""
    from mmbench.plugins.options import describe

    if spec.builder is not None or not isinstance(spec.source, str) or not spec.source.startswith(("/", ".", "~")):
        return
    folder = Path(spec.source).expanduser().resolve()
    if folder.exists():
        return
    for option, value in values.items():
        if isinstance(value, (str, Path)) and len(str(value)) > 1 and (Path(value).expanduser().resolve() == folder
                                                              or spec.source.startswith(str(value))):
            how = "given" if option in given else "its default"
            raise DatasetError(f"{describe(entry)}: no folder {str(folder)!r}, which its option {option!r} ({how}: "
                               f"{str(value)!r}) points at. Fix the `{option}` option (grid: `dataset: {{name: "
                               f"{entry.name}, options: {{{option}: /path/to/the/folder}}}}`).")


def resolve_with_split(name_or_spec: str | Mapping[str, Any] | DatasetSpec, split_seed: int | None) -> DatasetSpec:
    """:func:`resolve`, with train/validation redrawn by ``split_seed`` (``None``: the dataset's own split).

    The test split never moves (:mod:`mmbench.data.splits`: tuning selects on one split's validation rows,
    which must never reach a test split). A registered dataset whose factory takes ``split_seed`` (every
    built-in) redraws train/validation with it around the test split of its own seed; any other spec keeps
    its fixed splits and uses ``split_seed`` only to carve a missing validation split from train, a carved
    test split staying the one of the spec's own seed (:func:`split_variance` says which)."""
    if split_seed is None:
        return resolve(name_or_spec)
    if _factory_takes_split_seed(name_or_spec):
        if isinstance(name_or_spec, Mapping):
            return resolve(name_or_spec, split_seed=int(split_seed))
        return resolve(str(name_or_spec), split_seed=int(split_seed))
    spec = resolve(name_or_spec)
    return dataclasses.replace(spec, split_seed=int(split_seed), test_seed=spec.test_split_seed)


def _factory_takes_split_seed(name_or_spec: Any) -> bool:
    import inspect

    name = name_or_spec
    if isinstance(name_or_spec, Mapping):
        if not (set(name_or_spec) <= {"name", "options"} and "name" in name_or_spec):
            return False
        name = name_or_spec["name"]
    if not isinstance(name, str) or name.endswith((".yaml", ".yml")):
        return False
    from mmbench.plugins.manager import get_registry
    from mmbench.plugins.options import target

    registry = get_registry("datasets")
    if name not in registry:
        return False
    try:
        return "split_seed" in inspect.signature(target(registry.get(name))).parameters
    except (TypeError, ValueError):
        return False


def split_variance(name_or_spec: Any) -> str:
    """What ``split_seeds`` redraws: ``"train-validation"`` (built-ins, and specs carving their validation split
    from train: the train/validation rows are re-divided, the test split stays fixed) or ``"none"`` (a spec
    with fixed validation and test splits)."""
    if _factory_takes_split_seed(name_or_spec):
        return "train-validation"
    return "train-validation" if resolve(name_or_spec).splits.get("validation") is None else "none"


def _hash_value(h: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        h.update(f"tensor:{t.dtype}:{tuple(t.shape)}:".encode())
        h.update(t.numpy().tobytes())
    else:
        h.update(f"text:{len(value)}:".encode())
        for s in value:
            b = s.encode("utf-8")
            h.update(len(b).to_bytes(8, "little") + b)


def fingerprint(spec: DatasetSpec, splits: Mapping[str, Split]) -> str:
    """SHA-256 of the decoded content and of the spec's column mapping (not its source path or name, so a
    moved copy of the same data keeps its feature cache)."""
    h = hashlib.sha256()
    d = spec_to_dict(spec)
    identity = {k: d[k] for k in ("modalities", "tasks", "splits", "validation_fraction", "split_seed")}
    h.update(json.dumps(identity, sort_keys=True, default=str).encode())
    for role in ROLES:
        split = splits[role]
        for kind, values in (("modality", split.modalities), ("task", split.targets)):
            for name in sorted(values):
                h.update(f"|{role}:{kind}:{name}|".encode())
                _hash_value(h, values[name])
    return h.hexdigest()


def load(spec: DatasetSpec | str | Mapping[str, Any], modalities: Sequence[str] | None = None) -> LoadedDataset:
    """Open, check and decode a dataset; every bad input raises :class:`DatasetError` before any training.

    ``modalities``: decode only these (``None``: all). The schema check and the dropped rows still cover every
    modality, so a subset has the whole dataset's rows; the result's ``spec``, ``modality_info`` and
    ``fingerprint`` cover the subset, and all of them (in any order) load exactly as ``None`` does."""
    from mmbench.components.base import ModalityInfo
    from mmbench.data.decode import decode_modality
    from mmbench.data.missing import drop_missing
    from mmbench.data.source import open_splits
    from mmbench.data.subset import select_modalities
    from mmbench.data.targets import decode_targets
    from mmbench.data.validate import check_schema

    spec = resolve(spec)
    used = select_modalities(spec, modalities)  # an unknown name fails before the data is opened
    opened, notes = open_splits(spec)
    check_schema(spec, opened)
    opened, dropped = drop_missing(spec, opened)
    notes += dropped
    tabled = [c for m in used.modalities.values() if m.kind != "image" for c in m.columns]
    needed = sorted(set(tabled) | {t.column for t in spec.tasks.values()})
    tables = {role: opened[role].select_columns(needed).with_format("arrow")[:] for role in ROLES}
    targets, task_info, task_notes = decode_targets(spec, tables, opened["train"].features)
    notes += task_notes
    decoded: dict[str, dict[str, Any]] = {role: {} for role in ROLES}
    modality_info = {}
    for name, m in used.modalities.items():
        values, shape, mod_notes = decode_modality(used, name, opened, tables)
        for role in ROLES:
            decoded[role][name] = values[role]
        modality_info[name] = ModalityInfo(name=name, kind=m.kind, shape=tuple(shape), columns=tuple(m.columns))
        notes += mod_notes
    if used is not spec:
        notes.append(f"decoded modalities {', '.join(used.modalities)} only, of {', '.join(spec.modalities)}")
    splits = {role: Split(modalities=decoded[role], targets=targets[role]) for role in ROLES}
    return LoadedDataset(
        spec=used,
        splits=splits,
        modality_info=modality_info,
        task_info=task_info,
        fingerprint=fingerprint(used, splits),
        notes=notes,
    )
