"""The component contracts: encoders, aligners, fusers, multitask architectures and loss-weighting strategies.

Every component is a :class:`torch.nn.Module` (so parameters register, move with ``.to(device)`` and
appear in ``state_dict``). ``mmbench.testing`` checks these contracts; ``docs/plugins.md`` explains them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Sequence, Union

import torch
from torch import Tensor, nn

#: What an encoder's ``preprocess`` returns: one tensor, or a dict of tensors (e.g. token ids and masks).
EncoderInputs = Union[Tensor, dict[str, Tensor]]


@dataclass(frozen=True)
class ModalityInfo:
    """What an encoder factory is told about the modality it encodes.

    ``shape`` is one example's decoded shape: ``(C, H, W)`` for images, ``(F,)`` for tabular columns,
    ``()`` for text (a ``str``) and ``(T,)`` for audio waveforms.
    """

    name: str
    kind: str
    shape: tuple[int, ...] = ()
    columns: tuple[str, ...] = ()


class Encoder(nn.Module):
    """Maps one modality's batch to features ``[B, out_dim]``.

    Life cycle: ``preprocess`` turns a whole decoded split into tensors once (tokenising text, say);
    ``fit`` sees the preprocessed training split once (statistics such as standardisation);
    ``forward`` runs per batch. ``frozen`` encoders get no gradient, so their features may be cached:
    ``fingerprint()`` names the weights and preprocessing for that cache (``None``: never cache).
    """

    out_dim: int
    frozen: bool = False

    def preprocess(self, values: Sequence[Any] | Tensor) -> EncoderInputs:
        """Convert a decoded column (tensor, or list of ``str`` for text) into model inputs, once per split."""
        return values if isinstance(values, Tensor) else torch.as_tensor(values)

    def fit(self, train_inputs: EncoderInputs) -> None:
        """Learn statistics from the preprocessed training split (default: nothing)."""

    def fingerprint(self) -> str | None:
        """A stable identity of a frozen encoder's function (weights + preprocessing), for the feature cache."""
        return None

    def num_parameters(self) -> int:
        """Parameter count for the cost columns (an encoder that loads lazily may answer without loading)."""
        return sum(p.numel() for p in self.parameters())


@dataclass
class AlignerOutput:
    """Aligned per-modality features and the alignment loss (``None`` if the aligner has none)."""

    features: dict[str, Tensor]
    loss: Tensor | None = None


class Aligner(nn.Module):
    """Takes per-modality features ``{name: [B, D_m]}`` and returns aligned features plus a loss.

    ``out_dims`` gives each modality's aligned width. ``min_modalities`` says how many modalities the
    aligner needs (2 for every real aligner; "none" needs 1). Features are visited in sorted name order.
    """

    out_dims: dict[str, int]
    min_modalities: ClassVar[int] = 2

    def forward(self, features: Mapping[str, Tensor]) -> AlignerOutput:  # pragma: no cover - abstract
        raise NotImplementedError


class Fuser(nn.Module):
    """Takes aligned features ``{name: [B, D_m]}`` (sorted by name, 2 or more) and returns ``[B, out_dim]``.

    Late fusion sets ``late = True``: the model then puts one head per modality and task on the
    features and calls ``combine({modality: predictions})`` instead of ``forward``.
    Missing modalities at test time (robustness) arrive as zero features; ``combine`` receives only the
    modalities that are present and must renormalise over them.
    """

    out_dim: int
    late: ClassVar[bool] = False
    min_modalities: ClassVar[int] = 2

    def forward(self, features: Mapping[str, Tensor]) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def combine(self, predictions: Mapping[str, Tensor]) -> Tensor:
        """Late fusion only: combine per-modality predictions of one task."""
        raise NotImplementedError(f"{type(self).__name__} is not a late-fusion fuser")


@dataclass
class ArchitectureOutput:
    """One representation per task ``{task: [B, out_dim]}``, and the one representation every task's is
    computed from (``shared``, ``[B, D]``) when the architecture has one (``None`` otherwise)."""

    tasks: dict[str, Tensor]
    shared: Tensor | None = None


class Architecture(nn.Module):
    """How tasks share parameters after fusion: maps the fused representation ``[B, in_dim]`` to one
    representation per task ``{task: [B, out_dim]}``; the model puts one linear head per task on it.

    Built by ``factory(in_dim: int, tasks: Sequence[str], width: int, **options)``: ``width`` is the
    grid's ``training.trunk_dim`` (the representation width; 0 asks for none, which only hard sharing
    accepts). Declares:

    - ``out_dim``: the width of each task's representation;
    - ``shared_parameters()``: the parameters more than one task's loss reaches (what Jacobian strategies
      aggregate over); ``task_parameters(task)``: that task's own (only its loss reaches them). Together
      they are every parameter, each once;
    - ``has_shared_representation``: whether ``forward`` returns ``shared``, one tensor every task's
      representation is computed from by task-specific parameters only (hard sharing's trunk output).
      Strategies with ``wrt="representation"`` need it; the grid does not cross them with an
      architecture that has none, and says so.
    """

    out_dim: int
    has_shared_representation: ClassVar[bool] = False

    def __init__(self, tasks: Sequence[str]):
        super().__init__()
        if not tasks:
            raise ValueError("an architecture needs at least one task")
        self.task_names: list[str] = list(tasks)

    def forward(self, x: Tensor) -> ArchitectureOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    def shared_parameters(self) -> list[nn.Parameter]:
        """Parameters shared by tasks (default: every parameter not returned by ``task_parameters``)."""
        own = {id(p) for t in self.task_names for p in self.task_parameters(t)}
        return [p for p in self.parameters() if id(p) not in own]

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        """Parameters only ``task`` uses (default: none)."""
        return []


class Need(str, enum.Enum):
    """What a weighting strategy needs from the trainer each step."""

    #: the per-task loss vector ``[T]``; the strategy returns the scalar objective to back-propagate
    LOSSES = "losses"
    #: the Jacobian of the task losses w.r.t. the shared parameters, ``[T, P]``
    PARAM_JACOBIAN = "param_jacobian"
    #: the Jacobian of the task losses w.r.t. the shared representation (fused features), ``[T, B*D]``
    REPR_JACOBIAN = "repr_jacobian"


class Weighting(nn.Module):
    """Combines per-task losses (or their gradients) into one update.

    - ``need == Need.LOSSES``: the trainer calls ``combine(losses)`` and back-propagates the result.
      Learnable strategy parameters (UW's log-variances) are optimised with the model.
    - otherwise: the trainer builds the Jacobian ``J`` ``[T, N]`` the strategy asked for, calls
      ``aggregate(J, losses)`` and uses the returned ``[N]`` vector as the shared gradient; task-specific
      parameters get their own task's gradient (times ``task_parameter_weights``, default 1).
    - ``need`` on the instance is what the trainer uses (a ``wrt`` option may change it); the ``need``
      metadata given at registration must equal the class's default and is what ``mmbench list`` shows.
    - ``end_epoch(mean_losses)`` is called after every epoch (DWA); when ``wants_post_step_losses`` is
      true the trainer calls ``after_step(new_losses)`` with the same batch's losses after the
      optimiser step (FAMO).
    - ``last_weights`` (``[T]``) holds the task weights applied at the last step, for the results.
    - Randomised strategies draw from ``self.generator``, seeded by ``reset(seed)``; ``reset`` also
      clears any state, so a strategy can be reused from scratch.
    """

    #: may be set per instance (e.g. a ``wrt`` option choosing parameters or representation)
    need: Need = Need.LOSSES
    wants_post_step_losses: ClassVar[bool] = False
    #: backward passes per step, for cost accounting (``None``: one per task for Jacobian strategies)
    backward_passes: ClassVar[int | None] = None

    def __init__(self, n_tasks: int, seed: int = 0):
        super().__init__()
        if n_tasks < 1:
            raise ValueError("a weighting needs at least one task")
        self.n_tasks = n_tasks
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        self.last_weights: Tensor = torch.full((n_tasks,), 1.0)

    def reset(self, seed: int | None = None) -> None:
        """Clear state and reseed the generator (subclasses with state extend this)."""
        if seed is not None:
            self.seed = seed
        self.generator = torch.Generator().manual_seed(self.seed)
        self.last_weights = torch.full((self.n_tasks,), 1.0)

    def combine(self, losses: Tensor) -> Tensor:
        """Loss-only strategies: scalar objective from the loss vector ``[T]``."""
        raise NotImplementedError(f"{type(self).__name__} needs {self.need.value}, not losses only")

    def aggregate(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        """Gradient strategies: one update direction ``[N]`` from the Jacobian ``[T, N]``."""
        raise NotImplementedError(f"{type(self).__name__} is a loss-only strategy")

    def task_parameter_weights(self, losses: Tensor) -> Tensor | None:
        """Gradient strategies: the factor on each task's gradient for its *own* parameters (heads,
        per-task layers), ``[T]``; ``None`` (default) means 1. DB-MTL returns ``1 / (L_t + ε)`` so the
        heads get the log-loss gradient, as the method (and LibMTL) does."""
        return None

    def end_epoch(self, mean_losses: Tensor) -> None:
        """Called with the epoch's mean training loss per task."""

    def after_step(self, new_losses: Tensor) -> None:
        """Called after the optimiser step when ``wants_post_step_losses`` is true."""


def take(inputs: EncoderInputs, index: Tensor | slice) -> EncoderInputs:
    """Rows ``index`` of encoder inputs (a tensor or a dict of tensors)."""
    if isinstance(inputs, dict):
        return {k: v[index] for k, v in inputs.items()}
    return inputs[index]


def to_device(inputs: EncoderInputs, device: torch.device | str) -> EncoderInputs:
    """Move encoder inputs (a tensor or a dict of tensors) to ``device``."""
    if isinstance(inputs, dict):
        return {k: v.to(device) for k, v in inputs.items()}
    return inputs.to(device)


def num_rows(inputs: EncoderInputs) -> int:
    if isinstance(inputs, dict):
        return len(next(iter(inputs.values())))
    return len(inputs)


__all__ = [
    "Aligner",
    "AlignerOutput",
    "Architecture",
    "ArchitectureOutput",
    "Encoder",
    "EncoderInputs",
    "Fuser",
    "ModalityInfo",
    "Need",
    "Weighting",
    "num_rows",
    "take",
    "to_device",
]
