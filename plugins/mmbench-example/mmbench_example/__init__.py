"""mmbench-example: a third-party mmbench plugin, written the way any plugin is.

The entry point ``example = "mmbench_example"`` (group ``mmbench``, see ``pyproject.toml``) makes mmbench
import this module and call the hooks below. They register *lazy* factories, so ``mmbench --help`` and
``mmbench list`` never import torch; the classes load when a run builds them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmbench import Register, hookimpl, lazy

if TYPE_CHECKING:
    import click

__version__ = "0.1.0"


@hookimpl
def mmbench_register_fusers(register: Register) -> None:
    register("max", lazy("mmbench_example.fusers:MaxFusion"),
             description="element-wise max over per-modality linear projections (view pooling)",
             reference="Su et al. 2015, ICCV")


@hookimpl
def mmbench_register_weightings(register: Register) -> None:  # its need is declared on the class
    register("lbtw", lazy("mmbench_example.weightings:LossBalancedTaskWeighting"),
             description="loss-balanced task weighting: weights (L / L at the epoch's start) ** alpha",
             reference="Liu, Liang & Gitter 2019, AAAI",
             search_space={"alpha": {"low": 0.0, "high": 1.0}})


@hookimpl
def mmbench_register_datasets(register: Register) -> None:  # its files are package data (datasets.py)
    register("example-sensors", lazy("mmbench_example.datasets:sensors_spec"),
             description="two tabular modalities of three readings; a classification task needing both, a regression",
             reference="generated for mmbench-example", modalities=["a", "b"], tasks=["label", "level"],
             size="300: 240 train (validation carved) / 60 test", license="Apache-2.0 (generated)")


@hookimpl
def mmbench_register_commands(cli: click.Group) -> None:
    from mmbench_example.commands import example_hello

    cli.add_command(example_hello)
