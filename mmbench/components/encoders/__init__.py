"""Built-in encoders, registered through ``mmbench_register_encoders`` like any plugin's."""

from __future__ import annotations

from typing import Any

from mmbench import hookimpl


@hookimpl
def mmbench_register_encoders(register: Any) -> None:
    pass
