"""Export a store as a flat table (pandas): JSON, JSONL, CSV or Parquet, one row per cell, each row with the
results schema's ``schema_version`` (:mod:`mmbench.store.schema`; a JSON export is ``{"schema": "export",
"schema_version", "rows"}``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from mmbench.store.schema import SCHEMA_VERSION
from mmbench.store.sqlite import ResultStore

FORMATS = ("json", "jsonl", "csv", "parquet")


def _component(value: dict[str, Any] | None) -> str | None:
    if value is None:
        return None
    opts = ",".join(f"{k}={v}" for k, v in sorted(value.items()) if k != "name")
    return value["name"] + (f"({opts})" if opts else "")


def flat_rows(store: ResultStore) -> list[dict[str, Any]]:
    """One flat dict per cell: ``cell_id``, ``status``, ``seed``, config fields, metrics and cost."""
    out = []
    for row in store.rows():
        cfg = row.config
        flat: dict[str, Any] = {
            "cell_id": row.cell_id, "status": row.status, "family": row.family, "seed": row.seed,
            "dataset": dataset_label(cfg["dataset"]),
            "modalities": "+".join(cfg["modalities"]), "tasks": "+".join(cfg["tasks"]),
            "encoders": "+".join(f"{m}={_component(c)}" for m, c in sorted(cfg["encoders"].items())),
            "aligner": _component(cfg["aligner"]), "fuser": _component(cfg["fuser"]),
            "architecture": _component(cfg.get("architecture")) or "hps",
            "weighting": _component(cfg["weighting"]), "split_seed": cfg.get("split_seed"),
            "tuned": "tuning" in cfg, "error": row.error,
        }
        for key, value in sorted(cfg["training"].items()):
            flat[f"training.{key}"] = value
        res = row.result or {}
        flat["converged"] = res.get("converged")
        for key, value in sorted((cfg.get("hparams") or {}).items()):
            flat[f"hparams.{key}"] = value
        tuning = res.get("tuning") or {}
        for key in ("trial", "budget", "value", "pruned"):
            if key in tuning:
                flat[f"tuning.{key}"] = tuning[key]
        for split, per_task in (res.get("chance") or {}).items():
            for task, value in per_task.items():
                flat[f"{split}.{task}.chance"] = value
        for split, per_task in res.get("metrics", {}).items():
            for task, metrics in per_task.items():
                for metric, value in metrics.items():
                    flat[f"{split}.{task}.{metric}"] = value
        robust = res.get("robustness") or {}
        for task, value in (robust.get("relative_mean") or {}).items():
            flat[f"robust.{task}.relative"] = value
        for task, per_modality in (robust.get("missing_drop") or {}).items():
            for modality, value in per_modality.items():
                flat[f"robust.{task}.missing_drop.{modality}"] = value
        for task, w in res.get("weights", {}).items():
            flat[f"weight.{task}"] = w
        for key in ("train_seconds", "params", "trainable_params", "peak_memory_mb", "epochs_run", "best_epoch", "stopped_by",
                    "device"):
            flat[key] = res.get(key)
        out.append(flat)
    return out


def dataset_label(value: Any) -> str:
    """A registered dataset's name, or an embedded spec's ``name`` — else its source's last path part."""
    if isinstance(value, str):
        return value
    if value.get("name"):
        return str(value["name"])
    return Path(str(value["source"])).name if value.get("source") else "custom"


def _frame(directory: str | Path) -> pd.DataFrame:
    with ResultStore(directory, create=False) as store:
        return pd.DataFrame([{"schema_version": SCHEMA_VERSION} | row for row in flat_rows(store)])


def _json(frame: pd.DataFrame) -> str:
    rows = json.loads(frame.to_json(orient="records", double_precision=15)) if len(frame) else []
    return json.dumps({"schema": "export", "schema_version": SCHEMA_VERSION, "rows": rows}, indent=1)


def export_bytes(directory: str | Path, fmt: str) -> bytes:
    """The export of ``directory`` as bytes (``mmbench export -o -`` writes them to standard output)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    frame = _frame(directory)
    if fmt == "json":
        return _json(frame).encode()
    if fmt == "jsonl":
        return frame.to_json(orient="records", lines=True).encode()
    if fmt == "csv":
        return frame.to_csv(index=False).encode()
    import io

    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def export(directory: str | Path, fmt: str, output: str | Path | None = None) -> Path:
    """Write the store of ``directory`` as ``fmt``; returns the file written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    frame = _frame(directory)
    path = Path(output) if output else Path(directory) / f"results.{fmt}"
    if fmt == "json":
        path.write_text(_json(frame), encoding="utf-8")
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path
