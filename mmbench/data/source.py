"""Open a spec's source as Hugging Face ``datasets`` splits: one code path for hub names and local files.

- a built-in (``spec.builder``): the ``DatasetDict`` it returns;
- a ``save_to_disk`` folder (it holds ``dataset_dict.json`` or ``state.json``): ``datasets.load_from_disk``;
- anything else, hub name or local folder of parquet/csv/json files (with or without a README.md
  dataset card): ``datasets.load_dataset(source, config)``, which also does the caching.

A missing validation split is carved from train: a seeded random choice of ``ceil(fraction * N)`` rows
(``Dataset.select``; both parts keep the source order).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from mmbench.data.errors import DatasetError
from mmbench.data.spec import DatasetSpec

_OFFLINE_FIX = (
    "Fix: point `source` at local files instead — a folder of parquet/csv/json files (optionally with a "
    "README.md dataset card), or a folder written by `datasets.load_dataset(...).save_to_disk(DIR)` on a "
    "machine with network access; or run where https://huggingface.co is reachable (unset HF_HUB_OFFLINE)."
)


def hub_offline() -> bool:
    """Whether the user asked ``datasets``/``huggingface_hub`` to stay offline (``HF_HUB_OFFLINE=1``)."""
    import datasets

    flags = (os.environ.get(var, "").strip().upper() for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))
    return any(f in ("1", "ON", "YES", "TRUE") for f in flags) or bool(datasets.config.HF_HUB_OFFLINE)


def is_save_to_disk_folder(path: Path) -> bool:
    """A folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``."""
    return path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file())


def _load_local_or_hub(spec: DatasetSpec) -> Any:
    import datasets

    source = str(spec.source)
    path = Path(source).expanduser()
    if is_save_to_disk_folder(path):
        try:
            return datasets.load_from_disk(str(path))
        except IndexError as exc:  # datasets cannot read back a split that was saved empty
            raise _empty(spec, _unreadable_splits(path) or "(one of them)", None) from exc
    if path.is_file():
        raise DatasetError(
            f"dataset {spec.name!r}: source {source!r} is a file; point `source` at the folder that holds the "
            "data files (one file per split, e.g. train.parquet and test.parquet, or a README.md card naming them)."
        )
    if not path.exists() and source.startswith(("/", ".", "~")):  # a path, never a hub name
        raise DatasetError(
            f"dataset {spec.name!r}: no such folder {source!r} (relative to {os.getcwd()}). Fix the path in `source`."
        )
    try:
        return datasets.load_dataset(str(path) if path.is_dir() else source, name=spec.config)
    except ConnectionError as exc:
        why = "HF_HUB_OFFLINE=1 is set" if hub_offline() else f"the connection failed ({exc})"
        raise DatasetError(
            f"dataset {spec.name!r}: {source!r} is not a local folder, and the Hugging Face Hub cannot be reached "
            f"to fetch it ({why}). {_OFFLINE_FIX}"
        ) from exc
    except FileNotFoundError as exc:
        raise DatasetError(
            f"dataset {spec.name!r}: found no local folder {source!r} (relative to {os.getcwd()}) and no hub "
            f"dataset of that name ({exc}). Fix the path or the hub name in `source`."
        ) from exc
    except ValueError as exc:  # e.g. an unknown config name, or an empty split
        empty = re.search(r'Instruction "(.+?)" corresponds to no data', str(exc))
        if empty:
            raise _empty(spec, empty.group(1), None) from exc
        raise DatasetError(f"dataset {spec.name!r}: datasets could not load {source!r} (config {spec.config!r}): {exc}") from exc


def _as_dict(spec: DatasetSpec, loaded: Any) -> dict[str, Any]:
    import datasets

    if isinstance(loaded, datasets.Dataset):
        return {str(loaded.split or "train"): loaded}
    if isinstance(loaded, (datasets.DatasetDict, dict)):
        return {str(k): v for k, v in loaded.items()}
    raise DatasetError(
        f"dataset {spec.name!r}: expected a datasets.DatasetDict from the source/builder, got {type(loaded).__name__}"
    )


def open_splits(spec: DatasetSpec) -> tuple[dict[str, Any], list[str]]:
    """The ``train``/``validation``/``test`` splits of ``spec`` as ``datasets.Dataset``s, and notes for the results."""
    loaded = spec.builder() if spec.builder is not None else _load_local_or_hub(spec)
    available = _as_dict(spec, loaded)
    where = spec.source or "its builder"
    names = ", ".join(sorted(available)) or "(none)"
    out: dict[str, Any] = {}
    notes: list[str] = []
    for role in ("train", "test"):
        split = spec.splits.get(role)
        if split not in available:
            raise DatasetError(
                f"dataset {spec.name!r}: no split {split!r} (for {role}) in {where}; its splits are: {names}. "
                f"Fix: set `splits: {{{role}: <one of those>}}` in the spec."
            )
        out[role] = available[split]
        if len(out[role]) == 0:
            raise _empty(spec, split, role)
    val = spec.splits.get("validation")
    if val is not None and val in available:
        out["validation"] = available[val]
    elif val is not None and val != "validation":
        raise DatasetError(
            f"dataset {spec.name!r}: no split {val!r} (for validation) in {where}; its splits are: {names}. "
            "Fix: name one of those, or set `splits: {validation: null}` to carve validation from train."
        )
    else:
        train = out["train"]
        n_val = math.ceil(len(train) * spec.validation_fraction)
        if not 0 < n_val < len(train):
            raise DatasetError(
                f"dataset {spec.name!r}: cannot carve {spec.validation_fraction:.0%} of split {spec.splits['train']!r} "
                f"({len(train)} rows) as validation. Fix: add training rows, change validation_fraction, "
                "or provide a validation split."
            )
        chosen = np.zeros(len(train), dtype=bool)
        chosen[np.random.default_rng(spec.split_seed).choice(len(train), size=n_val, replace=False)] = True
        out["train"], out["validation"] = train.select(np.flatnonzero(~chosen)), train.select(np.flatnonzero(chosen))
        notes.append(
            f"no validation split in {where}: carved {spec.validation_fraction:.0%} of {spec.splits['train']!r} "
            f"({n_val} of {len(train)} rows, kept in source order) as validation with seed {spec.split_seed}"
        )
    if len(out["validation"]) == 0:
        raise _empty(spec, val, "validation")
    return out, notes


def _empty(spec: DatasetSpec, split: Any, role: str | None) -> DatasetError:
    which = f"the {role} split {split!r}" if role else f"split {split!r} of {spec.source!r}"
    return DatasetError(
        f"dataset {spec.name!r}: {which} is empty (0 rows); every split needs examples. "
        "Fix: add data to it, or point `splits` at another split."
    )


def _unreadable_splits(path: Path) -> str:
    """The splits of a save_to_disk folder that ``load_from_disk`` cannot read (saved empty)."""
    import datasets

    bad = []
    for sub in sorted(p for p in path.iterdir() if (p / "state.json").is_file()):
        try:
            datasets.load_from_disk(str(sub))
        except IndexError:
            bad.append(sub.name)
    return ", ".join(bad)
