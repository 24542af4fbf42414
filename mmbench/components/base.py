"""The component contracts: encoders, aligners, fusers, multitask architectures and loss-weighting strategies.

Every component is a :class:`torch.nn.Module` (so parameters register, move with ``.to(device)`` and
appear in ``state_dict``). Each base class's docstring gives its kind's one constructor convention (the
factory call the harness makes and the ``super().__init__`` a subclass makes). Plugins import them from
:mod:`mmbench` (``from mmbench import Fuser``); ``mmbench.testing`` checks the contracts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Mapping, Sequence, Union

import torch
from torch import Tensor, nn

#: What an encoder's ``preprocess`` returns: one tensor, or a dict of tensors (e.g. token ids and masks).
EncoderInputs = Union[Tensor, dict[str, Tensor]]


def _refuse_old_attribute(cls: type, name: str, advice: str) -> None:
    """A plugin class still declaring an attribute mmbench no longer reads fails when defined, saying what to do."""
    if name in vars(cls):
        raise TypeError(f"{cls.__qualname__} declares {name}, which mmbench no longer reads: {advice}")


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

    Built by ``factory(info: ModalityInfo, **options)``; a subclass's ``__init__(info, <options>)`` calls
    ``super().__init__()``.
    Life cycle: ``preprocess`` turns a whole decoded split into tensors once (tokenising text, say);
    ``fit`` sees the preprocessed training split once (statistics such as standardisation);
    ``forward`` runs per batch. ``frozen`` encoders get no gradient, so their features may be cached:
    ``fingerprint()`` names the weights and preprocessing for that cache (``None``: never cache).
    """

    out_dim: int
    frozen: bool = False

    def preprocess(self, values: Sequence[Any] | Tensor) -> EncoderInputs:
        """Convert one whole decoded split into model inputs with ``N`` rows, once per split (train,
        validation, test, perturbed test splits): ``float [N, C, H, W]`` in [0, 1] (image), ``float [N, F]``
        with NaN where missing (tabular), ``list[str]`` (text), ``float [N, T]`` (audio). Tokenise here."""
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
    """Aligned per-modality features ``{every modality: [B, out_dims[m]]}`` and the alignment loss (a 0-dim
    tensor, or ``None`` if the aligner has none). The loss enters the objective with weight
    ``training.align_weight`` × the mean of the weighting's ``last_weights`` (1 in single-task cells and
    for methods that record none), so its weight relative to the average task is the same under every
    strategy."""

    features: dict[str, Tensor]
    loss: Tensor | None = None


class Aligner(nn.Module):
    """Takes per-modality features ``{name: [B, D_m]}`` and returns aligned features plus a loss.

    Built by ``factory(in_dims: dict[str, int], **options)`` (each modality's encoder ``out_dim``); a
    subclass's ``__init__(in_dims, <options>)`` calls ``super().__init__()``. ``out_dims`` gives each
    modality's aligned width. ``scores_retrieval``: test-time retrieval (Recall@k, MRR) is scored between
    every pair of modalities of equal aligned width (the pass-through ``none`` says ``False``). Features
    are visited in sorted name order.
    """

    out_dims: dict[str, int]
    scores_retrieval: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _refuse_old_attribute(cls, "min_modalities", "set scores_retrieval = False for an aligner whose outputs "
                                                     "should not be scored by retrieval (it meant that), or drop it")

    def forward(self, features: Mapping[str, Tensor]) -> AlignerOutput:  # pragma: no cover - abstract
        raise NotImplementedError


class Fuser(nn.Module):
    """Takes aligned features ``{name: [B, D_m]}`` (sorted by name, 2 or more) and returns ``[B, out_dim]``.

    Built by ``factory(in_dims: dict[str, int], **options)`` (each modality's aligned width); a subclass's
    ``__init__(in_dims, <options>)`` calls ``super().__init__()``.
    Late fusion sets ``late = True``: the model then puts one head per modality and task on the
    features and calls ``combine({modality: predictions})`` instead of ``forward``.
    Missing modalities at test time (robustness) arrive as zero features; ``combine`` receives only the
    modalities that are present and must renormalise over them.
    """

    out_dim: int
    late: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _refuse_old_attribute(cls, "min_modalities", "drop it: a fuser always gets two or more modalities")

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

    Built by ``factory(in_dim: int, tasks: Sequence[str], width: int, **options)``; a subclass's
    ``__init__(in_dim, tasks, width, <options>)`` calls ``super().__init__(tasks)`` first (it sets
    ``task_names``). ``width`` is the grid's ``training.trunk_dim`` (the representation width; 0 asks for
    none, which only hard sharing accepts). Declares:

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


#: which Jacobian a gradient strategy asks for: w.r.t. the shared parameters, or the shared representation
Wrt = Literal["params", "representation"]

_WRT_NEEDS: dict[str, Need] = {"params": Need.PARAM_JACOBIAN, "representation": Need.REPR_JACOBIAN}


def need_for(wrt: str) -> Need:
    """The :class:`Need` for ``wrt="params"`` (Jacobian w.r.t. shared parameters) or ``"representation"``."""
    try:
        return _WRT_NEEDS[wrt]
    except KeyError:
        raise ValueError(f"wrt must be 'params' or 'representation', not {wrt!r}") from None


class Weighting(nn.Module):
    """A multitask loss-weighting strategy; this base class is the loss-only kind (``Need.LOSSES``).

    Built by ``factory(n_tasks, seed=seed, **options)`` (plus ``task_types=[...]`` when the factory has
    that parameter); a subclass's ``__init__(n_tasks, seed=0, <options>)`` calls
    ``super().__init__(n_tasks, seed)``. The trainer builds a fresh instance per cell.

    - ``need`` is declared once, on the class (registration's ``need=`` is optional and must agree when
      given); the instance's value is what the trainer serves (a ``wrt`` option may change it).
    - Loss-only: the trainer back-propagates ``combine(losses)`` and its learnable parameters (UW's
      log-variances) are optimised with the model. ``last_weights`` ``[T]`` must hold the factors the
      objective applied to each loss, ``∂objective/∂L_t`` (the plain sum's ones are the default).
    - Gradient strategies subclass :class:`JacobianWeighting` (task weights from the Jacobian) or
      :class:`JacobianAggregator` (an update that is not a weighting).
    - ``end_epoch(mean_losses)`` is called after every epoch (DWA); when ``wants_post_step_losses`` is
      true the trainer calls ``after_step(new_losses)`` with the same batch's losses after the
      optimiser step (FAMO).
    - ``last_weights`` is averaged into the results and scales the alignment loss (``None``: not a
      weighted method, see :class:`JacobianAggregator`).
    - Randomised strategies draw from ``self.generator``, seeded by ``reset(seed)``; ``reset`` also
      clears any state, so a strategy can be reused from scratch.
    """

    #: may be set per instance (e.g. a ``wrt`` option choosing parameters or representation)
    need: Need = Need.LOSSES
    wants_post_step_losses: ClassVar[bool] = False

    def __init__(self, n_tasks: int, seed: int = 0):
        super().__init__()
        if n_tasks < 1:
            raise ValueError("a weighting needs at least one task")
        self.n_tasks = n_tasks
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        self.last_weights: Tensor | None = torch.full((n_tasks,), 1.0)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # JacobianAggregator itself is created before its name is bound: the default makes it pass
        if "aggregate" in vars(cls) and not issubclass(cls, globals().get("JacobianAggregator", cls)):
            raise TypeError(
                f"{cls.__qualname__} defines aggregate(jacobian, losses) -> direction, which mmbench no longer calls on "
                f"a {cls.__mro__[1].__name__}: a gradient strategy returns task weights. Subclass mmbench.JacobianWeighting "
                "and implement jacobian_weights(jacobian, losses) -> [T] (or mmbench.GramianWeighting and gramian_weights(gramian, "
                "losses) -> [T]); the trainer applies w @ J and records last_weights. If the update is not a weighting of "
                "the task gradients, subclass mmbench.JacobianAggregator and keep aggregate (docs/plugins.md).")

    def reset(self, seed: int | None = None) -> None:
        """Clear state and reseed the generator (subclasses with state extend this)."""
        if seed is not None:
            self.seed = seed
        self.generator = torch.Generator().manual_seed(self.seed)
        self.last_weights = torch.full((self.n_tasks,), 1.0)

    def combine(self, losses: Tensor) -> Tensor:
        """Loss-only strategies: scalar objective from the loss vector ``[T]``."""
        raise NotImplementedError(f"{type(self).__name__} needs {self.need.value}, not losses only")

    def task_parameter_weights(self, losses: Tensor) -> Tensor | None:
        """Gradient strategies: the factor on each task's gradient for its *own* parameters (heads,
        per-task layers), ``[T]``; ``None`` (default) means 1. DB-MTL returns ``1 / (L_t + ε)`` so the
        heads get the log-loss gradient, as the method (and LibMTL) does."""
        return None

    def end_epoch(self, mean_losses: Tensor) -> None:
        """Called with the epoch's mean training loss per task."""

    def after_step(self, new_losses: Tensor) -> None:
        """Called after the optimiser step when ``wants_post_step_losses`` is true."""


class JacobianWeighting(Weighting):
    """A gradient strategy whose update is a weighting of the task gradients, as torchjd's weighted aggregators.

    Implement ``jacobian_weights(jacobian, losses) -> [T]`` (``jacobian`` ``[T, N]``, one row per task; both
    detached). The trainer calls :meth:`weigh`, which records the weights in ``last_weights``, and applies
    ``w @ J`` to the shared part — so the recorded weights are exactly the ones applied.

    Built by ``factory(n_tasks, seed=seed, **options)``; a subclass's ``__init__(n_tasks, seed=0,
    wrt="params", <options>)`` calls ``super().__init__(n_tasks, seed, wrt)``. ``wrt="params"`` asks for
    the Jacobian w.r.t. the shared parameters; ``"representation"`` for the cheaper one w.r.t. the shared
    representation (the "upper bound" of Sener & Koltun 2018, NeurIPS), which sets ``need`` on the instance.
    """

    need = Need.PARAM_JACOBIAN

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params"):
        super().__init__(n_tasks, seed)
        self.wrt = wrt
        self.need = need_for(wrt)  # per-instance override of the class default

    def jacobian_weights(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        """The task weights ``[T]`` for this step (state such as moving averages may be updated here)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement jacobian_weights(jacobian, losses)")

    def weigh(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        """What the trainer calls: :meth:`jacobian_weights`, checked to be ``[T]`` and recorded in ``last_weights``."""
        return self._recorded(self.jacobian_weights(jacobian.detach(), losses.detach()), "jacobian_weights")

    def _recorded(self, weights: Tensor, method: str) -> Tensor:
        if tuple(weights.shape) != (self.n_tasks,):
            raise ValueError(f"{type(self).__name__}.{method} returned shape {tuple(weights.shape)}; "
                             f"expected [{self.n_tasks}], one weight per task")
        self.last_weights = weights.detach()
        return self.last_weights


class GramianWeighting(JacobianWeighting):
    """A :class:`JacobianWeighting` whose weights depend on the Jacobian only through its Gramian ``G = J Jᵀ``
    ``[T, T]`` — torchjd's ``GramianWeightedAggregator`` (UPGrad, MGDA, CAGrad, IMTL-G, Aligned-MTL,
    PCGrad, GradVac, ...). Implement ``gramian_weights(gramian, losses) -> [T]`` (and not ``jacobian_weights``);
    the trainer may then compute ``G`` without materialising ``J`` (torchjd's autogram engine,
    :mod:`mmbench.train.gramian_engine`) and call :meth:`weigh_gramian`."""

    def jacobian_weights(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        return self.gramian_weights(jacobian @ jacobian.T, losses)

    def gramian_weights(self, gramian: Tensor, losses: Tensor) -> Tensor:
        """The task weights ``[T]`` from the Gramian ``[T, T]``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement gramian_weights(gramian, losses)")

    def weigh_gramian(self, gramian: Tensor, losses: Tensor) -> Tensor:
        """What the trainer calls when it computed ``G`` without ``J`` (the Gramian engine): :meth:`gramian_weights`,
        checked to be ``[T]`` and recorded in ``last_weights``, as :meth:`weigh`."""
        return self._recorded(self.gramian_weights(gramian.detach(), losses.detach()), "gramian_weights")


class JacobianAggregator(Weighting):
    """A gradient strategy whose update is *not* a weighting of this step's task gradients (GradDrop masks
    per coordinate; DB-MTL combines moving averages of past gradients).

    Implement ``aggregate(jacobian, losses) -> [N]``: the update of the shared part itself. ``last_weights``
    is ``None`` (results record no task weights: not a weighted method, and the alignment loss keeps weight
    ``align_weight``) unless the method defines its own per-task factors and sets them (DB-MTL's ``α``).
    Construction and ``wrt`` as :class:`JacobianWeighting`.
    """

    need = Need.PARAM_JACOBIAN

    def __init__(self, n_tasks: int, seed: int = 0, wrt: Wrt = "params"):
        super().__init__(n_tasks, seed)
        self.wrt = wrt
        self.need = need_for(wrt)
        self.last_weights = None

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        self.last_weights = None

    def aggregate(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        """The update ``[N]`` from the Jacobian ``[T, N]`` and the detached losses ``[T]``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement aggregate(jacobian, losses)")


__all__ = [
    "Aligner",
    "AlignerOutput",
    "Architecture",
    "ArchitectureOutput",
    "Encoder",
    "EncoderInputs",
    "Fuser",
    "GramianWeighting",
    "JacobianAggregator",
    "JacobianWeighting",
    "ModalityInfo",
    "Need",
    "Weighting",
    "Wrt",
    "need_for",
]
