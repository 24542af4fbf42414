"""Modality columns -> decoded values, once per dataset (never per training step).

- image: ``float [N, C, H, W]`` in [0, 1]; C = 1 when every image is grayscale, else 3 (RGB; alpha is
  dropped); all images resized (bilinear) to the option ``size`` or to the first training image's size.
  Numeric arrays ``[H, W]``/``[C, H, W]`` work too: integers are divided by 255, floats must lie in [0, 1].
- text: ``list[str]``; several columns are joined with ``separator`` (default a newline).
- tabular: ``float [N, F]``; scalar columns give one feature, fixed-length list columns several.
- audio: see :mod:`mmbench.data.audio`.

Missing values (null images or texts, NaN features) raise :class:`DatasetError`, unless the spec says
``missing_features: impute`` (:mod:`mmbench.data.missing`): texts become empty strings, tabular features the
training mean plus a missing-indicator column; images and audio are never imputed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from mmbench.data.context import Context
from mmbench.data.errors import DatasetError
from mmbench.data.missing import impute_tabular
from mmbench.data.spec import DatasetSpec
from mmbench.data.validate import feature_class

_GRAY_MODES = ("1", "L", "LA", "La")
_WIDE_GRAY_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")


def _image_size(ctx: Context) -> tuple[int, int] | None:
    size = ctx.options.get("size")
    if size is None:
        return None
    if isinstance(size, int):
        return (size, size)
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        raise DatasetError(f"{ctx.where()}: option size must be an int or [height, width]; got {size!r}")
    return (int(size[0]), int(size[1]))


def _pil_array(ctx: Context, img: Any, size: tuple[int, int] | None) -> np.ndarray:
    """One PIL image -> float32 ``[H, W]`` (gray) or ``[H, W, 3]`` in [0, 1], resized to ``size`` (H, W)."""
    from PIL import Image

    if img.mode in _GRAY_MODES:
        img, scale = img.convert("L"), 255.0
    elif img.mode in _WIDE_GRAY_MODES:
        img, scale = img.convert("I"), 65535.0
    elif img.mode == "F":
        scale = 1.0
    else:
        img, scale = img.convert("RGB"), 255.0
    if size is not None and (img.height, img.width) != size:
        img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.float32) / scale
    if scale == 1.0 and (arr.min() < 0 or arr.max() > 1):
        raise DatasetError(f"{ctx.where()}: a float ('F' mode) image has values outside [0, 1]. Fix: rescale it.")
    return arr


def _array_image(ctx: Context, raw: Any) -> np.ndarray:
    """A numeric array ``[H, W]`` or ``[C, H, W]`` -> float32 ``[C, H, W]`` in [0, 1]."""
    arr = np.asarray(raw)
    if arr.dtype == object:
        arr = np.asarray(arr.tolist())
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise DatasetError(f"{ctx.where()}: an image array has shape {arr.shape}; expected [H, W] or [C, H, W].")
    if arr.dtype.kind in "iub":
        if arr.dtype.kind != "b" and (arr.min() < 0 or arr.max() > 255):
            raise DatasetError(f"{ctx.where()}: integer image values must lie in 0..255. Fix: rescale them.")
        return arr.astype(np.float32) / (1.0 if arr.dtype.kind == "b" else 255.0)
    arr = arr.astype(np.float32)
    if np.isnan(arr).any() or arr.min() < 0 or arr.max() > 1:
        raise DatasetError(f"{ctx.where()}: float image values must lie in [0, 1] (and not be NaN). Fix: rescale them.")
    return arr


def _resize_chw(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if arr.shape[1:] == size:
        return arr
    t = torch.nn.functional.interpolate(torch.from_numpy(arr)[None], size=size, mode="bilinear", align_corners=False)
    return t[0].numpy()


def _rows(split: Any, column: str, is_pil: bool, chunk: int = 1024) -> Any:
    """The column's values, decoded by ``datasets`` a chunk at a time (PIL images or numpy arrays)."""
    view = split.select_columns([column]) if is_pil else split.with_format("numpy", columns=[column])
    for start in range(0, len(split), chunk):
        yield from view[start:start + chunk][column]


def decode_images(ctx: Context, splits: dict[str, Any]) -> tuple[dict[str, torch.Tensor], tuple[int, ...], list[str]]:
    column = ctx.m.columns[0]
    is_pil = feature_class(splits["train"].features[column]) == "image"
    size = _image_size(ctx)
    resized = 0
    arrays: dict[str, list[np.ndarray]] = {}
    for role in ("train", "validation", "test"):
        split = splits[role]
        out: list[np.ndarray] = []
        nulls = []
        for i, v in enumerate(_rows(split, column, is_pil)):
            if v is None:
                nulls.append(i)
                continue
            if size is None:
                size = (v.height, v.width) if is_pil else _array_image(ctx, v).shape[1:]
            if is_pil:
                resized += (v.height, v.width) != size
                out.append(_pil_array(ctx, v, size))
            else:
                arr = _array_image(ctx, v)
                resized += arr.shape[1:] != size
                out.append(_resize_chw(arr, size))
        if nulls:
            raise ctx.missing(role, np.array(nulls), "missing (null) image")
        arrays[role] = out
    if is_pil:
        color = any(a.ndim == 3 for out in arrays.values() for a in out)
        chw = lambda a: np.repeat(a[None], 3, 0) if color and a.ndim == 2 else (a.transpose(2, 0, 1) if a.ndim == 3 else a[None])
        arrays = {role: [chw(a) for a in out] for role, out in arrays.items()}
    channels = {a.shape[0] for out in arrays.values() for a in out}
    if len(channels) != 1:
        raise DatasetError(f"{ctx.where()}: image arrays have different channel counts {sorted(channels)}. "
                           "Fix: give every image the same number of channels.")
    tensors = {role: torch.from_numpy(np.stack(out).astype(np.float32)) for role, out in arrays.items()}
    shape = tuple(tensors["train"].shape[1:])
    notes = [f"modality {ctx.modality!r}: resized {resized} image(s) to {shape[1]}x{shape[2]}"] if resized else []
    return tensors, shape, notes


def decode_text(ctx: Context, tables: dict[str, Any]) -> tuple[dict[str, list[str]], tuple[int, ...], list[str]]:
    separator = ctx.options.get("separator", "\n")
    impute = ctx.spec.missing_features == "impute"
    out: dict[str, list[str]] = {}
    filled = 0
    for role, table in tables.items():
        parts = []
        for column in ctx.m.columns:
            values = table.column(column).to_pylist()
            nulls = np.array([i for i, v in enumerate(values) if v is None])
            if len(nulls) and not impute:
                raise ctx.missing(role, nulls, "missing (null) text", column)
            if len(nulls):
                values, filled = ["" if v is None else v for v in values], filled + len(nulls)
            parts.append(values)
        out[role] = [separator.join(row) for row in zip(*parts)]
    notes = [f"modality {ctx.modality!r}: imputed {filled} missing text value(s) with the empty string"] if filled else []
    return out, (), notes


def _numeric_block(ctx: Context, role: str, column: str, col: Any) -> np.ndarray:
    """One numeric column (scalar or fixed-length list) -> float32 ``[N, k]`` (NaN where a value is
    missing and the spec imputes: :func:`_with_gaps`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    impute = ctx.spec.missing_features == "impute"
    nulls = pc.is_null(col).to_numpy(zero_copy_only=False)
    if nulls.any() and not impute:
        raise ctx.missing(role, np.flatnonzero(nulls), "missing (null)", column)
    if impute:
        return _with_gaps(ctx, role, column, col)
    if pa.types.is_list(col.type) or pa.types.is_large_list(col.type) or pa.types.is_fixed_size_list(col.type):
        lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
        if len(set(lengths.tolist())) > 1:
            raise DatasetError(f"{ctx.where(column)}: list rows have different lengths {sorted(set(lengths.tolist()))[:5]} "
                               f"in the {role} split; tabular features need one fixed length. Fix: pad or trim them.")
        flat = pc.list_flatten(col)
        if flat.null_count:
            raise ctx.missing(role, np.flatnonzero(pc.is_null(flat).to_numpy(zero_copy_only=False)), "null list element", column)
        k = int(lengths[0]) if len(lengths) else 0
        values = flat.to_numpy(zero_copy_only=False).astype(np.float32).reshape(len(col), k)
    else:
        values = col.to_numpy(zero_copy_only=False).astype(np.float32).reshape(len(col), 1)
    bad = np.isnan(values).any(axis=1)
    if bad.any():
        raise ctx.missing(role, np.flatnonzero(bad), "NaN", column)
    return values


def _with_gaps(ctx: Context, role: str, column: str, col: Any) -> np.ndarray:
    """A numeric column -> float32 ``[N, k]`` with NaN for every missing value or missing list row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_list(col.type) or pa.types.is_large_list(col.type) or pa.types.is_fixed_size_list(col.type)):
        return np.asarray(pc.fill_null(pc.cast(col, pa.float64()), np.nan).to_numpy(zero_copy_only=False),
                          dtype=np.float32).reshape(len(col), 1)
    lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
    present = ~np.asarray(pc.is_null(col).to_numpy(zero_copy_only=False), dtype=bool)
    sizes = set(np.asarray(lengths[present], dtype=np.int64).tolist())
    if len(sizes) > 1:
        raise DatasetError(f"{ctx.where(column)}: list rows have different lengths {sorted(sizes)[:5]} in the {role} "
                           "split; tabular features need one fixed length. Fix: pad or trim them.")
    k = sizes.pop() if sizes else 0
    values = np.full((len(col), k), np.nan, dtype=np.float32)
    flat = pc.fill_null(pc.cast(pc.list_flatten(col), pa.float64()), np.nan).to_numpy(zero_copy_only=False)
    values[present] = np.asarray(flat, dtype=np.float32).reshape(int(present.sum()), k)
    return values


def decode_tabular(ctx: Context, tables: dict[str, Any]) -> tuple[dict[str, torch.Tensor], tuple[int, ...], list[str]]:
    blocks = {role: np.concatenate([_numeric_block(ctx, role, c, table.column(c)) for c in ctx.m.columns], axis=1)
              for role, table in tables.items()}
    widths = {role: b.shape[1] for role, b in blocks.items()}
    if len(set(widths.values())) != 1:
        raise DatasetError(f"{ctx.where()}: splits have different feature counts {widths}. Fix: use one list length.")
    notes: list[str] = []
    if ctx.spec.missing_features == "impute":
        blocks, notes = impute_tabular(ctx.modality, blocks)
    out = {role: torch.from_numpy(block) for role, block in blocks.items()}
    return out, (out["train"].shape[1],), notes


def decode_modality(spec: DatasetSpec, name: str, splits: dict[str, Any], tables: dict[str, Any]) -> tuple[dict[str, Any], tuple[int, ...], list[str]]:
    """Decode one modality for every role: ``({role: value}, one example's shape, notes)``."""
    m = spec.modalities[name]
    ctx = Context(spec, name, m, spec.metadata.get("decode", {}).get(name, {}))
    if m.kind == "image":
        return decode_images(ctx, splits)
    if m.kind == "text":
        return decode_text(ctx, tables)
    if m.kind == "tabular":
        return decode_tabular(ctx, tables)
    from mmbench.data.audio import decode_audio

    return decode_audio(ctx, splits, tables)
