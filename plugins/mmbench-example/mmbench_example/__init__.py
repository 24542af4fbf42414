"""mmbench-example: a third-party mmbench plugin, written the way any plugin is.

The entry point ``example = "mmbench_example"`` (group ``mmbench``, see ``pyproject.toml``) makes mmbench
import this module and call the hooks below. They register *lazy* factories, so ``mmbench --help`` and
``mmbench list`` never import torch; the classes load when a run builds them.
"""

from __future__ import annotations

from typing import Any

from mmbench import hookimpl
from mmbench.plugins import lazy

__version__ = "0.1.0"


@hookimpl
def mmbench_register_fusers(register: Any) -> None:
    register("max", lazy("mmbench_example.fusers:MaxFusion"),
             description="element-wise max over per-modality linear projections (view pooling)",
             reference="Su et al. 2015, ICCV")


@hookimpl
def mmbench_register_weightings(register: Any) -> None:
    register("stch", lazy("mmbench_example.weightings:SmoothTchebycheff"), need="losses",
             description="smooth Tchebycheff scalarization: a soft maximum of the task losses (torchjd)",
             reference="Lin et al. 2024, ICML",
             search_space={"mu": {"low": 0.01, "high": 1.0, "log": True}})


@hookimpl
def mmbench_register_commands(cli: Any) -> None:
    from mmbench_example.commands import example_hello

    cli.add_command(example_hello)
