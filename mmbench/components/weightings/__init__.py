"""Built-in weightings, registered through ``mmbench_register_weightings`` like any plugin's."""

from __future__ import annotations

from typing import Any

from mmbench import hookimpl


@hookimpl
def mmbench_register_weightings(register: Any) -> None:
    pass
