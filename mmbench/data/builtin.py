"""Built-in datasets (no network), registered through ``mmbench_register_datasets``."""

from __future__ import annotations

from typing import Any

from mmbench import hookimpl


@hookimpl
def mmbench_register_datasets(register: Any) -> None:
    pass
