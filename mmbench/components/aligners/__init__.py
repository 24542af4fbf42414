"""Built-in aligners, registered through ``mmbench_register_aligners`` like any plugin's."""

from __future__ import annotations

from typing import Any

from mmbench import hookimpl


@hookimpl
def mmbench_register_aligners(register: Any) -> None:
    pass
