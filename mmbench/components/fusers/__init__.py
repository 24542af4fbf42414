"""Built-in fusers, registered through ``mmbench_register_fusers`` like any plugin's."""

from __future__ import annotations

from typing import Any

from mmbench import hookimpl


@hookimpl
def mmbench_register_fusers(register: Any) -> None:
    pass
