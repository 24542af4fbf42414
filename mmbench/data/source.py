"""Open a spec's source as Hugging Face ``datasets`` splits: one code path for hub names and local files.

- a built-in (``spec.builder``): the ``DatasetDict`` it returns;
- a ``save_to_disk`` folder (it holds ``dataset_dict.json`` or ``state.json``): ``datasets.load_from_disk``;
- anything else, hub name or local folder of parquet/csv/json files (with or without a README.md
  dataset card): ``datasets.load_dataset(source, config, revision=revision)``, which also does the caching.
  The revision goes to the hub only; a local copy is what it is (a note says the revision was not checked).

A missing test split (``test: null``) is carved from train first (``test_fraction``), then a missing
validation split: each a seeded random choice of ``ceil(fraction * N)`` rows (``Dataset.select``; both
parts keep the source order).
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


def predownload_hint(spec: DatasetSpec) -> str:
    """How to fetch ``spec``'s hub dataset once on a machine with network access, and point ``source`` at it."""
    args = ", ".join([repr(spec.source)] + ([repr(spec.config)] if spec.config else [])
                     + ([f"revision={spec.revision!r}"] if spec.revision else []))
    catalogue = spec.metadata.get("catalogue")
    use = (f"`dataset: {{name: {catalogue}, options: {{source: DIR}}}}` in the grid" if catalogue
           else "`source: DIR` in the spec")
    return (f"Fix: on a machine that reaches https://huggingface.co run `python -c \"import datasets; "
            f"datasets.load_dataset({args}).save_to_disk('DIR')\"`, copy DIR here and use {use}; or run where the "
            "hub is reachable (unset HF_HUB_OFFLINE). Any local folder of parquet/csv/json files works as `source` too.")


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
        where = repr(str(path)) if path.is_absolute() else f"{source!r} ({str(path.resolve())!r}: relative to {os.getcwd()})"
        raise DatasetError(f"dataset {spec.name!r}: no such folder {where}. Fix the path in `source`.")
    try:
        if path.is_dir():
            return datasets.load_dataset(str(path), name=spec.config)
        return datasets.load_dataset(source, name=spec.config, revision=spec.revision)
    except ConnectionError as exc:
        why = "HF_HUB_OFFLINE=1 is set" if hub_offline() else f"the connection failed ({exc})"
        fix = predownload_hint(spec) if spec.metadata.get("catalogue") or spec.revision else _OFFLINE_FIX
        raise DatasetError(
            f"dataset {spec.name!r}: {source!r} is not a local folder, and the Hugging Face Hub cannot be reached "
            f"to fetch it ({why}). {fix}"
        ) from exc
    except FileNotFoundError as exc:
        if re.search(r"Revision '.*' doesn't exist", str(exc)):
            raise DatasetError(
                f"dataset {spec.name!r}: revision {spec.revision!r} does not exist for hub dataset {source!r} ({exc}). "
                f"Fix: pin an existing commit, branch or tag (https://huggingface.co/datasets/{source}/commits/main), "
                "or remove `revision` to take the newest."
            ) from exc
        if "gated dataset" in str(exc):
            access = spec.metadata.get("access")
            raise DatasetError(
                f"dataset {spec.name!r}: {exc}{f' ({access})' if access else ''}. Fix: accept its terms on "
                f"https://huggingface.co/datasets/{source} and log in (`hf auth login` or HF_TOKEN)."
            ) from exc
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
        if role == "test" and split is None:
            continue  # carved from train below
        if split not in available:
            raise DatasetError(
                f"dataset {spec.name!r}: no split {split!r} (for {role}) in {where}; its splits are: {names}. "
                f"Fix: set `splits: {{{role}: <one of those>}}` in the spec."
            )
        out[role] = available[split]
        if len(out[role]) == 0:
            raise _empty(spec, split, role)
    if spec.source is not None and spec.revision is not None and Path(spec.source).expanduser().exists():
        notes.append(f"revision {spec.revision!r} recorded, not checked: {spec.source!r} is a local copy")
    if spec.splits.get("test") is None:
        out["train"], out["test"], note = _carve(spec, out["train"], "test", spec.test_fraction,
                                                 [spec.test_split_seed, 1])
        notes.append(note)
    val = spec.splits.get("validation")
    if val is not None and val in available:
        out["validation"] = available[val]
    elif val is not None and val != "validation":
        raise DatasetError(
            f"dataset {spec.name!r}: no split {val!r} (for validation) in {where}; its splits are: {names}. "
            "Fix: name one of those, or set `splits: {validation: null}` to carve validation from train."
        )
    else:
        out["train"], out["validation"], note = _carve(spec, out["train"], "validation", spec.validation_fraction,
                                                       spec.split_seed)
        notes.append(note)
    if len(out["validation"]) == 0:
        raise _empty(spec, val, "validation")
    return out, notes


def _carve(spec: DatasetSpec, train: Any, role: str, fraction: float, seed: Any) -> tuple[Any, Any, str]:
    """Split ``ceil(fraction * N)`` seeded random rows off ``train`` as ``role``: (rest, carved, note)."""
    where = spec.source or "its builder"
    n_out = math.ceil(len(train) * fraction)
    if not 0 < n_out < len(train):
        raise DatasetError(
            f"dataset {spec.name!r}: cannot carve {fraction:.0%} of split {spec.splits['train']!r} "
            f"({len(train)} rows) as {role}. Fix: add training rows, change {role}_fraction, "
            f"or provide a {role} split."
        )
    chosen = np.zeros(len(train), dtype=bool)
    chosen[np.random.default_rng(seed).choice(len(train), size=n_out, replace=False)] = True
    note = (f"no {role} split in {where}: carved {fraction:.0%} of {spec.splits['train']!r} "
            f"({n_out} of {len(train)} rows, kept in source order) as {role} with seed {spec.split_seed}")
    return train.select(np.flatnonzero(~chosen)), train.select(np.flatnonzero(chosen)), note


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
