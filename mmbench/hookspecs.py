"""The hooks a plugin may implement. Every hook is documented in ``docs/plugins.md`` (a test checks).

Each ``mmbench_register_*`` hook receives ``register(name, factory, **metadata)``. ``factory`` builds the
component (its call signature per kind is in ``docs/plugins.md``); ``metadata`` holds at least a one-line
``description`` and, where it applies, ``reference`` (the paper the method comes from).
"""

from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("mmbench")

Register = Callable[..., None]


@hookspec
def mmbench_register_encoders(register: Register) -> None:
    """Register encoders: ``register(name, factory, modality=..., description=...)``.

    ``factory(info: ModalityInfo, **options) -> Encoder`` builds an encoder for one modality.
    """


@hookspec
def mmbench_register_aligners(register: Register) -> None:
    """Register aligners: ``factory(in_dims: dict[str, int], **options) -> Aligner``."""


@hookspec
def mmbench_register_fusers(register: Register) -> None:
    """Register fusers: ``factory(in_dims: dict[str, int], **options) -> Fuser``."""


@hookspec
def mmbench_register_architectures(register: Register) -> None:
    """Register multitask architectures (how tasks share parameters after fusion):
    ``factory(in_dim: int, tasks: Sequence[str], width: int, **options) -> Architecture``."""


@hookspec
def mmbench_register_weightings(register: Register) -> None:
    """Register loss-weighting strategies: ``factory(n_tasks: int, seed: int = 0, **options) -> Weighting``."""


@hookspec
def mmbench_register_datasets(register: Register) -> None:
    """Register datasets: ``factory(**options) -> DatasetSpec``."""


@hookspec
def mmbench_register_perturbations(register: Register) -> None:
    """Register test-time perturbations: ``factory(**options) -> Perturbation`` (see robustness docs)."""


@hookspec
def mmbench_register_commands(cli: Any) -> None:
    """Add subcommands to the ``mmbench`` click group ``cli`` (``@cli.command()``)."""
