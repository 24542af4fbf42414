"""Missing values, on the user's terms: the spec's ``missing_labels`` and ``missing_features`` options.

- ``missing_labels``: ``error`` (default: loading stops and names the rows), ``drop`` (rows missing any
  task's label are dropped), ``mask`` (rows are kept; a missing label becomes a sentinel — ``MISSING_CLASS``
  for classification, NaN for regression and multilabel rows — and counts in no loss and no metric).
- ``missing_features``: ``error`` (default), ``drop`` (rows missing any modality value are dropped),
  ``impute`` (tabular features: the training mean plus one missing-indicator column per affected feature;
  text: the empty string; images and audio are refused — drop them instead).

A value is missing when it is null, NaN, a ``ClassLabel`` -1, a list holding one of those, or an
image/audio entry with neither bytes nor a path (:func:`missing_rows`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mmbench.data.errors import DatasetError
from mmbench.data.spec import DatasetSpec
from mmbench.data.validate import feature_class

if TYPE_CHECKING:
    import numpy as np

LABEL_POLICIES = ("error", "drop", "mask")
FEATURE_POLICIES = ("error", "drop", "impute")

#: the target of an unlabelled classification row (torch's ``cross_entropy`` ``ignore_index`` default)
MISSING_CLASS = -100


def labelled(targets: Any) -> Any:
    """``bool [N]``: which rows of a target tensor carry a label (not the sentinel, not NaN)."""
    import torch

    if targets.dtype.is_floating_point:
        nan = torch.isnan(targets)
        return ~(nan if nan.ndim == 1 else nan.reshape(len(nan), -1).any(dim=1))
    return targets != MISSING_CLASS


def _bad_values(col: Any) -> np.ndarray:
    """Per element of a pyarrow array: null, NaN, or a list with such an element (recursively)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    bad = np.array(pc.is_null(col).to_numpy(zero_copy_only=False), dtype=bool)
    kind = col.type
    if pa.types.is_floating(kind):
        bad |= np.asarray(pc.fill_null(pc.is_nan(col), False).to_numpy(zero_copy_only=False), dtype=bool)
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        inner = _bad_values(pc.list_flatten(col))
        if inner.any():
            parents = np.asarray(pc.list_parent_indices(col).to_numpy(zero_copy_only=False))
            bad[np.unique(parents[inner])] = True
    return bad


def missing_rows(column: Any, feature: Any) -> np.ndarray:
    """``bool [N]``: the rows of one column (a pyarrow array) whose value is missing (see the module doc)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    col = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    cls = feature_class(feature)
    if cls in ("image", "audio") and pa.types.is_struct(col.type):
        bad = np.array(pc.is_null(col).to_numpy(zero_copy_only=False), dtype=bool)
        parts = [pc.is_null(pc.struct_field(col, [i])).to_numpy(zero_copy_only=False)
                 for i in range(col.type.num_fields) if col.type.field(i).name in ("bytes", "path")]
        if parts:
            bad |= np.logical_and.reduce([np.asarray(p, dtype=bool) for p in parts])
        return bad
    bad = _bad_values(col)
    if cls == "classlabel":
        bad |= np.asarray(pc.fill_null(pc.less(col, 0), False).to_numpy(zero_copy_only=False), dtype=bool)
    return bad


def check_policies(spec: DatasetSpec) -> None:
    """Raise :class:`DatasetError` for an unknown ``missing_labels``/``missing_features`` value."""
    for key, allowed in (("missing_labels", LABEL_POLICIES), ("missing_features", FEATURE_POLICIES)):
        value = getattr(spec, key)
        if value not in allowed:
            raise DatasetError(f"dataset {spec.name!r}: {key} must be one of {' | '.join(allowed)}; got {value!r}")


def drop_missing(spec: DatasetSpec, opened: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Drop the rows that ``missing_labels: drop`` / ``missing_features: drop`` ask to drop, per split."""
    import numpy as np

    columns: list[str] = []
    if spec.missing_labels == "drop":
        columns += [t.column for t in spec.tasks.values()]
    if spec.missing_features == "drop":
        columns += [c for m in spec.modalities.values() for c in m.columns]
    columns = list(dict.fromkeys(columns))
    if not columns:
        return opened, []
    features = opened["train"].features
    out, notes = dict(opened), []
    for role, split in opened.items():
        table = split.select_columns(columns).with_format("arrow")[:]
        bad = np.zeros(len(split), dtype=bool)
        for c in columns:
            bad |= missing_rows(table.column(c), features[c])
        if not bad.any():
            continue
        if bad.all():
            raise DatasetError(f"dataset {spec.name!r}: every row of the {role} split misses a label or feature "
                               f"({', '.join(columns)}), so dropping them leaves it empty. Fix: use "
                               "`missing_labels: mask` / `missing_features: impute`, or other columns.")
        out[role] = split.select(np.flatnonzero(~bad))
        notes.append(f"dropped {int(bad.sum())} of {len(split)} rows of the {role} split with a missing label or "
                     f"feature (missing_labels: {spec.missing_labels}, missing_features: {spec.missing_features})")
    return out, notes


def label_fix(column: str) -> str:
    """The fix a missing-label error offers: both options of ``missing_labels`` or cleaning the data."""
    return (f"Fix: drop those rows (`missing_labels: drop` in the spec, or `ds.filter(lambda r: r[{column!r}] is not "
            "None)`), keep them unlabelled (`missing_labels: mask`: no loss and no metric counts them), or fill in the labels.")


def feature_fix(kind: str, policy: str = "error") -> str:
    """The fix a missing-feature error offers, by modality kind (and why ``impute`` refused, if it was asked)."""
    if kind in ("image", "audio"):
        refused = f"`missing_features: impute` cannot fill a missing {kind} value. " if policy == "impute" else ""
        return (refused + f"Fix: drop those rows (`missing_features: drop` in the spec, or `ds.filter`), or fill them in; "
                f"`missing_features: impute` fills tabular features and text only, never {kind}.")
    return ("Fix: drop those rows (`missing_features: drop`), impute them (`missing_features: impute`: "
            + ("the training mean plus a missing-indicator column" if kind == "tabular" else "the empty string")
            + "), or fill them in yourself (`ds.filter` / `ds.map`).")


def impute_tabular(name: str, blocks: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], list[str]]:
    """Fill NaN features with the training mean and append one 0/1 missing-indicator column per feature that
    misses a value in any split (so every split keeps one width)."""
    import numpy as np

    affected = np.flatnonzero(np.any([np.isnan(b).any(axis=0) for b in blocks.values()], axis=0))
    if not len(affected):
        return blocks, []
    train = blocks["train"][:, affected]
    seen = ~np.isnan(train)
    if not seen.any(axis=0).all():
        empty = affected[~seen.any(axis=0)].tolist()
        raise DatasetError(f"modality {name!r}: feature(s) {empty} have no value in the train split, so there is no "
                           "training mean to impute. Fix: drop that column from the modality.")
    means = np.where(seen, train, 0.0).sum(axis=0) / seen.sum(axis=0)
    out = {}
    for role, b in blocks.items():
        gaps = np.isnan(b[:, affected])
        filled = b.copy()
        filled[:, affected] = np.where(gaps, means.astype(np.float32), b[:, affected])
        out[role] = np.concatenate([filled, gaps.astype(np.float32)], axis=1)
    counts = ", ".join(f"{role} {int(np.isnan(b).any(axis=1).sum())}" for role, b in blocks.items())
    note = (f"modality {name!r}: imputed missing features {affected.tolist()} with the training mean and appended "
            f"{len(affected)} missing-indicator column(s) (rows with a gap: {counts})")
    return out, [note]
