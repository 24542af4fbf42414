"""Units of work an executor runs: a cell (its :class:`Outcome` is stored) or a tuning trial (its
:class:`TrialOutcome` goes to the configuration's Optuna study), the sources executors pull them from,
and the order in which parallel executors start cells. Jobs and outcomes are small and picklable;
:func:`mmbench.grid.execution.worker.execute` runs either kind of job."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from mmbench.train.cell import Cell


@dataclass
class Outcome:
    """A finished cell: ``status`` is ``ok`` (with ``result``) or ``failed`` (with ``error``)."""

    cell: Cell
    status: str
    result: dict[str, Any] | None
    error: str | None
    started_at: float


@dataclass(frozen=True)
class TrialJob:
    """One tuning trial: the configuration's cell with the trial's seed and hyperparameters (``cell.hparams``),
    the pruner to consult, and a snapshot of the study's finished trials for it."""

    study: str
    number: int
    cell: Cell
    pruner: dict[str, Any]
    #: finished trials of the study (``optuna.trial.FrozenTrial``), for the pruner's decisions
    history: tuple[Any, ...] = ()
    #: task → main metric name; task → the tuned single-task baseline's validation score (multitask)
    main: tuple[tuple[str, str], ...] = ()
    baselines: tuple[tuple[str, float], ...] = ()


@dataclass
class TrialOutcome:
    """A finished trial: ``state`` ``complete``, ``pruned`` or ``failed``; per-epoch objective values."""

    job: TrialJob
    state: str
    value: float | None
    intermediate: list[tuple[int, float]] = field(default_factory=list)
    system_attrs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    epochs_run: int = 0
    #: task → validation main metric at the selected epoch (a baseline for multitask objectives)
    val_scores: dict[str, float] = field(default_factory=dict)

    @property
    def cell(self) -> Cell:
        return self.job.cell


Job = Cell | TrialJob


def failed(job: Job, error: str) -> Outcome | TrialOutcome:
    """The outcome of a job that could not finish (its worker died, its result could not be sent)."""
    if isinstance(job, TrialJob):
        return TrialOutcome(job, "failed", None, error=error)
    return Outcome(job, "failed", None, error, 0.0)


class JobSource(Protocol):
    """What executors pull work from: ``next_job()`` gives a job ready now (or ``None``), ``done()`` says
    whether every job was handed out, and ``outstanding`` jobs block nothing else."""

    def next_job(self) -> Job | None: ...

    def done(self) -> bool: ...


class CellSource:
    """A fixed list of cells (an untuned grid), handed out in order."""

    def __init__(self, cells: Sequence[Cell]):
        self._cells = list(cells)

    def next_job(self) -> Job | None:
        return self._cells.pop(0) if self._cells else None

    def done(self) -> bool:
        return not self._cells

    def __len__(self) -> int:
        return len(self._cells)


def cost_estimate(cell: Cell) -> int:
    """A rough relative cost: tasks × modalities, more for multitask strategies (one pass per task)."""
    return len(cell.tasks) * len(cell.modalities) + (cell.weighting is not None) * len(cell.tasks)


def longest_first(cells: Sequence[Cell]) -> list[Cell]:
    """Cells in a rough longest-first order, so that parallel workers (local or Ray) do not end with one
    long cell running alone."""
    return sorted(cells, key=lambda c: -cost_estimate(c))
