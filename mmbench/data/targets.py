"""Label columns -> target tensors (see :class:`mmbench.data.spec.Split`), with the value checks.

- classification: ``long [N]``; classes from the ``ClassLabel`` feature, else from the data (non-negative
  integers keep their value, ``max + 1`` classes; strings and other values are indexed in sorted order);
- multilabel: multi-hot ``float [N, L]`` from lists of label ids/names per row (or fixed-length booleans);
- regression: ``float [N]``.

Missing (null, NaN, ``ClassLabel`` -1) labels raise :class:`DatasetError` unless the spec says
``missing_labels: mask``: the labelled rows are decoded as above and the others get the sentinel of
:mod:`mmbench.data.missing` (``MISSING_CLASS`` or NaN), and the task's ``TaskInfo.masked`` is set.
One-class classification tasks (in the labelled training rows) raise too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from mmbench.data.errors import DatasetError
from mmbench.data.missing import MISSING_CLASS, label_fix, missing_rows
from mmbench.data.spec import DatasetSpec, TaskInfo, TaskSpec
from mmbench.data.validate import feature_class

Columns = dict[str, Any]  # role -> pyarrow.ChunkedArray


def _where(spec: DatasetSpec, task: str, t: TaskSpec) -> str:
    return f"dataset {spec.name!r}: task {task!r} (column {t.column!r})"


def _missing(spec: DatasetSpec, task: str, t: TaskSpec, role: str, bad: np.ndarray, what: str) -> DatasetError:
    rows = np.flatnonzero(bad)
    shown = ", ".join(str(r) for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
    return DatasetError(
        f"{_where(spec, task, t)} has {len(rows)} {what} label(s) in the {role} split (rows {shown} of that split). "
        + label_fix(t.column)
    )


def _plain_values(spec: DatasetSpec, task: str, t: TaskSpec, role: str, column: Any, numeric: bool) -> np.ndarray:
    import pyarrow.compute as pc

    nulls = pc.is_null(column).to_numpy(zero_copy_only=False)
    if nulls.any():
        raise _missing(spec, task, t, role, nulls, "missing (null)")
    if not numeric:
        return np.asarray(column.to_pylist(), dtype=object)
    values = np.asarray(column.to_numpy())
    if values.dtype == np.bool_:
        values = values.astype(np.int64)
    if values.dtype.kind == "f" and np.isnan(values).any():
        raise _missing(spec, task, t, role, np.isnan(values), "NaN")
    return values


def _one_class(spec: DatasetSpec, task: str, t: TaskSpec, seen: list[Any]) -> DatasetError:
    return DatasetError(
        f"{_where(spec, task, t)} has a single class ({', '.join(map(repr, seen)) or 'none'}) in the train split; "
        "a classification task needs at least two. Fix: choose another label column, drop this task, "
        "or declare it `type: regression` if the column is a quantity."
    )


def classification(spec: DatasetSpec, task: str, t: TaskSpec, feature: Any, columns: Columns) -> tuple[dict[str, torch.Tensor], int, str | None]:
    """Integer class targets per role, the number of classes, and a note when classes came from the data."""
    cls = feature_class(feature)
    values = {role: _plain_values(spec, task, t, role, col, cls != "string") for role, col in columns.items()}
    note, names = None, None
    if cls == "classlabel":
        n, names = feature.num_classes, list(feature.names)
        for role, v in values.items():
            if (v < 0).any():
                raise _missing(spec, task, t, role, v < 0, "missing (ClassLabel -1)")
    else:
        if cls == "float":
            for role, v in values.items():
                if (v != np.round(v)).any():
                    example = v[v != np.round(v)][0]
                    raise DatasetError(
                        f"{_where(spec, task, t)} holds non-integer numbers (e.g. {example} in the {role} split), which "
                        "are not class labels. Fix: declare it `type: regression`, or round/bin it into classes."
                    )
        everything = np.concatenate(list(values.values()))
        if cls != "string" and everything.size and everything.min() >= 0:
            values = {role: v.astype(np.int64) for role, v in values.items()}
            n = int(everything.max()) + 1
            note = f"task {task!r}: {n} classes inferred from the data (labels 0..{n - 1})"
        else:
            classes = sorted(set(everything.tolist()), key=lambda x: (str(type(x)), x))
            index = {c: i for i, c in enumerate(classes)}
            values = {role: np.array([index[x] for x in v.tolist()], dtype=np.int64) for role, v in values.items()}
            n, names = len(classes), classes
            shown = ", ".join(map(repr, classes[:10])) + (", ..." if n > 10 else "")
            note = f"task {task!r}: {n} classes inferred from the data, indexed in sorted order: {shown}"
    if t.num_classes is not None:
        if cls == "classlabel" and t.num_classes != n:
            raise DatasetError(f"{_where(spec, task, t)}: num_classes {t.num_classes} disagrees with the ClassLabel "
                               f"feature's {n} classes. Fix: remove num_classes from the spec.")
        if n > t.num_classes:
            raise DatasetError(f"{_where(spec, task, t)}: labels need {n} classes but the spec says num_classes "
                               f"{t.num_classes}. Fix: raise num_classes or remove it (it is inferred).")
        n, note = t.num_classes, None
    for role, v in values.items():
        if v.size and (v.max() >= n):
            raise DatasetError(f"{_where(spec, task, t)}: label {int(v.max())} in the {role} split is out of range "
                               f"for {n} classes. Fix: correct the label or the ClassLabel names.")
    seen = sorted(set(values["train"].tolist()))
    if n < 2 or len(seen) < 2:
        raise _one_class(spec, task, t, [names[i] for i in seen] if names else seen)
    return {role: torch.from_numpy(v.astype(np.int64)) for role, v in values.items()}, n, note


def multilabel(spec: DatasetSpec, task: str, t: TaskSpec, feature: Any, columns: Columns) -> tuple[dict[str, torch.Tensor], int, str | None]:
    """Multi-hot ``float [N, L]`` targets per role and the number of labels ``L``."""
    cls = feature_class(feature)
    rows = {}
    for role, col in columns.items():
        r = col.to_pylist()
        bad = np.array([x is None or any(e is None for e in x) for x in r], dtype=bool)
        if bad.any():
            raise _missing(spec, task, t, role, bad, "missing (null)")
        rows[role] = r
    note = None
    if cls == "list[bool]":
        lengths = {len(x) for r in rows.values() for x in r}
        if len(lengths) != 1:
            raise DatasetError(f"{_where(spec, task, t)}: boolean multi-hot rows have different lengths "
                               f"{sorted(lengths)}. Fix: give every row one flag per label.")
        n = lengths.pop()
        out = {role: torch.tensor(np.asarray(r, dtype=np.float32).reshape(len(r), n)) for role, r in rows.items()}
        return out, n, None
    if cls == "list[classlabel]":
        n = feature.feature.num_classes
    elif cls == "list[string]":
        vocab = sorted({e for r in rows.values() for x in r for e in x})
        index = {v: i for i, v in enumerate(vocab)}
        rows = {role: [[index[e] for e in x] for x in r] for role, r in rows.items()}
        n = len(vocab)
        note = f"task {task!r}: {n} labels inferred from the data, indexed in sorted order"
    else:
        n = 1 + max((e for r in rows.values() for x in r for e in x), default=0)
        note = f"task {task!r}: {n} labels inferred from the data (ids 0..{n - 1})"
    if t.num_classes is not None:
        if n > t.num_classes or (cls == "list[classlabel]" and n != t.num_classes):
            raise DatasetError(f"{_where(spec, task, t)}: the data needs {n} labels but the spec says num_classes "
                               f"{t.num_classes}. Fix: correct num_classes or remove it (it is inferred).")
        n, note = t.num_classes, None
    if n < 1:
        raise DatasetError(f"{_where(spec, task, t)}: no row has any label. Fix: choose another label column.")
    out = {}
    for role, r in rows.items():
        hot = np.zeros((len(r), n), dtype=np.float32)
        for i, x in enumerate(r):
            if any(e < 0 or e >= n for e in x):
                raise DatasetError(f"{_where(spec, task, t)}: row {i} of the {role} split has label ids {x} outside "
                                   f"0..{n - 1}. Fix: correct the labels or num_classes.")
            hot[i, x] = 1.0
        out[role] = torch.from_numpy(hot)
    return out, n, note


def regression(spec: DatasetSpec, task: str, t: TaskSpec, feature: Any, columns: Columns) -> tuple[dict[str, torch.Tensor], int, str | None]:
    """Float ``[N]`` targets per role."""
    values = {role: _plain_values(spec, task, t, role, col, True) for role, col in columns.items()}
    return {role: torch.from_numpy(v.astype(np.float32)) for role, v in values.items()}, 1, None


DECODERS = {"classification": classification, "multilabel": multilabel, "regression": regression}


def _masked(spec: DatasetSpec, task: str, t: TaskSpec, feature: Any, columns: Columns,
            absent: dict[str, np.ndarray]) -> tuple[dict[str, torch.Tensor], int, str | None]:
    """Decode the labelled rows only, then put the sentinel (``MISSING_CLASS`` or NaN) in the others."""
    import pyarrow as pa

    if absent["train"].all():
        raise DatasetError(f"{_where(spec, task, t)} has no label in the train split, so it cannot be trained even "
                           "with `missing_labels: mask`. Fix: drop this task or choose another label column.")
    kept = {role: col.filter(pa.array(~absent[role])) for role, col in columns.items()}
    targets, out_dim, note = DECODERS[t.type](spec, task, t, feature, kept)
    out = {}
    for role, got in targets.items():
        full = torch.full((len(absent[role]), *got.shape[1:]), MISSING_CLASS if t.type == "classification" else float("nan"),
                          dtype=got.dtype)
        full[torch.from_numpy(~absent[role])] = got
        out[role] = full
    counts = ", ".join(f"{role} {int(a.sum())} of {len(a)}" for role, a in absent.items())
    masked = f"task {task!r}: unlabelled rows kept and masked (no loss, no metric): {counts}"
    return out, out_dim, masked + (f"; {note}" if note else "")


def decode_targets(spec: DatasetSpec, tables: dict[str, Any], features: Any) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, TaskInfo], list[str]]:
    """Per role ``{task: tensor}``, the tasks' :class:`TaskInfo` and notes, from per-role pyarrow tables."""
    per_role: dict[str, dict[str, torch.Tensor]] = {role: {} for role in tables}
    infos: dict[str, TaskInfo] = {}
    notes: list[str] = []
    for task, t in spec.tasks.items():
        columns = {role: table.column(t.column) for role, table in tables.items()}
        absent = ({role: missing_rows(col, features[t.column]) for role, col in columns.items()}
                  if spec.missing_labels == "mask" else {})
        masked = any(a.any() for a in absent.values())
        decode = (lambda *args: _masked(*args, absent)) if masked else DECODERS[t.type]
        targets, out_dim, note = decode(spec, task, t, features[t.column], columns)
        for role, tensor in targets.items():
            per_role[role][task] = tensor
        infos[task] = TaskInfo(name=task, type=t.type, out_dim=out_dim, masked=masked)
        if note:
            notes.append(note)
    return per_role, infos, notes
