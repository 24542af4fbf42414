"""Datasets: specs, loading through Hugging Face datasets, validation and built-in benchmarks.

Import-light: the spec classes and :class:`DatasetError` load at once; ``load``, ``resolve``,
``spec_from_dict`` and ``spec_from_yaml`` are imported on first use (``datasets``/``torch`` stay unloaded
until a dataset is actually loaded).
"""

from __future__ import annotations

import importlib
from typing import Any

from mmbench.data.errors import DatasetError
from mmbench.data.spec import DatasetSpec, LoadedDataset, ModalitySpec, Split, TaskInfo, TaskSpec

_LAZY = {
    "load": "mmbench.data.loading",
    "resolve": "mmbench.data.loading",
    "fingerprint": "mmbench.data.loading",
    "spec_from_dict": "mmbench.data.yaml_spec",
    "spec_from_yaml": "mmbench.data.yaml_spec",
    "spec_to_dict": "mmbench.data.yaml_spec",
}

__all__ = ["DatasetError", "DatasetSpec", "LoadedDataset", "ModalitySpec", "Split", "TaskInfo", "TaskSpec", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mmbench.data' has no attribute {name!r}")
