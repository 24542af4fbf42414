"""Schema checks run on the opened splits before anything is decoded or trained.

They catch unknown columns (listing the real ones) and columns whose ``datasets`` feature type does not
fit the declared modality kind or task type. Value checks (missing labels, one class) live with the
label decoding in :mod:`mmbench.data.targets`.
"""

from __future__ import annotations

import difflib
from typing import Any

from mmbench.data.errors import DatasetError
from mmbench.data.spec import DatasetSpec

_INT = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
_FLOAT = ("float16", "float32", "float64", "bfloat16")
_STRING = ("string", "large_string")


def _array_dims(feature: Any) -> tuple[int, Any]:
    """(nesting depth, leaf feature) of a list/array feature; depth 0 for anything else."""
    import datasets

    if isinstance(feature, (datasets.Array2D, datasets.Array3D, datasets.Array4D, datasets.Array5D)):
        return len(feature.shape), datasets.Value(feature.dtype)
    if isinstance(feature, (datasets.List, datasets.LargeList)):
        depth, leaf = _array_dims(feature.feature)
        return depth + 1, leaf
    return 0, feature


def feature_class(feature: Any) -> str:
    """A coarse type of a ``datasets`` feature: ``image``, ``audio``, ``classlabel``, ``int``, ``float``,
    ``bool``, ``string``, ``list[<leaf>]`` / ``list2[<leaf>]`` / ``list3[<leaf>]`` (nesting), or ``other``."""
    import datasets

    if isinstance(feature, datasets.Image):
        return "image"
    if isinstance(feature, datasets.Audio):
        return "audio"
    if isinstance(feature, datasets.ClassLabel):
        return "classlabel"
    if isinstance(feature, datasets.Value):
        dtype = feature.dtype
        if dtype in _INT:
            return "int"
        if dtype in _FLOAT:
            return "float"
        if dtype == "bool":
            return "bool"
        if dtype in _STRING:
            return "string"
        return "other"
    depth, leaf = _array_dims(feature)
    if depth:
        inner = feature_class(leaf)
        return ("list" if depth == 1 else f"list{depth}") + f"[{inner}]"
    return "other"


_NUMBER = ("int", "float", "bool", "classlabel")
_MODALITY_OK = {
    "image": lambda c: c == "image" or c in [f"list{d}[{n}]" for d in (2, 3) for n in _NUMBER],
    "audio": lambda c: c == "audio" or c in [f"list[{n}]" for n in _NUMBER],
    "text": lambda c: c == "string",
    "tabular": lambda c: c in _NUMBER or c in [f"list[{n}]" for n in _NUMBER],
}
_MODALITY_WANTS = {
    "image": "a datasets.Image() column (PIL images, files or bytes) or numeric arrays [H, W] / [C, H, W]",
    "audio": "a datasets.Audio() column or numeric waveforms (lists of numbers)",
    "text": "strings",
    "tabular": "numbers (int, float, bool, ClassLabel) or fixed-length lists of numbers",
}
_TASK_OK = {
    "classification": lambda c: c in ("classlabel", "int", "bool", "string", "float"),
    "multilabel": lambda c: c in ("list[classlabel]", "list[int]", "list[string]", "list[bool]"),
    "regression": lambda c: c in ("int", "float", "bool"),
}
_TASK_WANTS = {
    "classification": "class labels: ClassLabel, integers, booleans or strings",
    "multilabel": "lists of label ids or names per row (e.g. Sequence(ClassLabel)), or fixed-length lists of booleans",
    "regression": "numbers",
}


def _suggest_kind(cls: str) -> str:
    kinds = [k for k, ok in _MODALITY_OK.items() if ok(cls)]
    return f" or declare it as kind {' / '.join(kinds)}" if kinds else ""


def _suggest_type(cls: str) -> str:
    types = [t for t, ok in _TASK_OK.items() if ok(cls)]
    return f" or declare it as type {' / '.join(types)}" if types else ""


def _missing_column(spec: DatasetSpec, role: str, split: Any, column: str, user: str) -> DatasetError:
    real = list(split.column_names)
    close = difflib.get_close_matches(column, real, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return DatasetError(
        f"dataset {spec.name!r}: {user} names column {column!r}, which the {role} split does not have. {hint}"
        f"Its columns are: {', '.join(real)}. Fix the column name in the spec."
    )


def check_schema(spec: DatasetSpec, splits: dict[str, Any]) -> None:
    """Raise :class:`DatasetError` for unknown columns (every one at once) and modality/task columns of the
    wrong type."""
    missing: dict[tuple[str, str], DatasetError] = {}
    for role, split in splits.items():
        named = [(f"modality {n!r}", c) for n, m in spec.modalities.items() for c in m.columns]
        for user, column in named + [(f"task {n!r}", t.column) for n, t in spec.tasks.items()]:
            if column not in split.column_names and (user, column) not in missing:
                missing[(user, column)] = _missing_column(spec, role, split, column, user)
    if len(missing) == 1:
        raise next(iter(missing.values()))
    if missing:
        raise DatasetError(f"dataset {spec.name!r}: {len(missing)} columns are not in the data:\n  - "
                           + "\n  - ".join(str(e).removeprefix(f"dataset {spec.name!r}: ") for e in missing.values()))
    features = splits["train"].features
    for mod_name, m in spec.modalities.items():
        for column in m.columns:
            cls = feature_class(features[column])
            if not _MODALITY_OK[m.kind](cls):
                raise DatasetError(
                    f"dataset {spec.name!r}: modality {mod_name!r} is kind {m.kind!r}, but its column {column!r} holds "
                    f"{features[column]!r}. A {m.kind} modality needs {_MODALITY_WANTS[m.kind]}. Fix: pick another "
                    f"column{_suggest_kind(cls)}."
                )
    for task_name, t in spec.tasks.items():
        cls = feature_class(features[t.column])
        if not _TASK_OK[t.type](cls):
            raise DatasetError(
                f"dataset {spec.name!r}: task {task_name!r} is type {t.type!r}, but its column {t.column!r} holds "
                f"{features[t.column]!r}. A {t.type} task needs {_TASK_WANTS[t.type]}. Fix: pick another column"
                f"{_suggest_type(cls)}."
            )
