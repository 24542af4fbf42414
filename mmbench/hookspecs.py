"""The hooks a plugin may implement. Every hook is documented in ``docs/plugins.md`` (a test checks).

Each ``mmbench_register_*`` hook receives a :class:`Register`: ``register(name, factory, **metadata)``.
``factory`` builds the component (the call the harness makes, per kind, is in each base class's
docstring, :mod:`mmbench.components.base`); ``metadata`` holds at least a one-line ``description`` and,
where it applies, ``reference`` (the paper the method comes from). The metadata is checked at
registration by :func:`mmbench.plugins.metadata.check_metadata`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence

import pluggy

if TYPE_CHECKING:  # click loads with the CLI; the hook only names its type
    import click

hookspec = pluggy.HookspecMarker("mmbench")


class Register(Protocol):
    """What every ``mmbench_register_*`` hook receives: ``register(name, factory, **metadata)``.

    - ``name``: non-empty, without ``:``; global per kind.
    - ``factory``: the class (or ``mmbench.lazy("module:Class")``), called as its kind's base class says.
    - ``description``: one line for ``mmbench list`` (default: the first line of the factory's docstring).
    - ``reference``: the paper the method comes from.
    - ``modality`` (encoders, perturbations): the modality kind(s) accepted — ``"image"``, ``"text"``,
      ``"tabular"``, ``"audio"`` (encoders may give several; a perturbation exactly one).
    - ``need`` (weightings, optional): ``"losses"``, ``"param_jacobian"`` or ``"repr_jacobian"``; the class
      attribute ``need`` is the declaration, this only restates it and must agree when given.
    - ``search_space``: ``{option: {"low": a, "high": b[, "log": True][, "int": True]} | {"choices": [...]}}``,
      what tuning may vary.

    Any other keyword is kept and shown by ``mmbench list --json``.
    """

    def __call__(self, name: str, factory: Callable[..., Any], *, description: str = "", reference: str = ...,
                 modality: str | Sequence[str] = ..., need: str = ...,
                 search_space: Mapping[str, Mapping[str, Any]] = ..., **metadata: Any) -> None: ...


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
def mmbench_register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``mmbench`` click group ``cli`` (``cli.add_command(...)`` or ``@cli.command()``)."""
