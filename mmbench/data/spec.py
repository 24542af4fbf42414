"""Dataset specs (what the user or a plugin declares) and loaded datasets (what the harness trains on)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

MODALITY_KINDS = ("image", "text", "tabular", "audio")
TASK_TYPES = ("classification", "multilabel", "regression")

ModalityKind = Literal["image", "text", "tabular", "audio"]
TaskType = Literal["classification", "multilabel", "regression"]


@dataclass(frozen=True)
class ModalitySpec:
    """One modality: the column(s) that hold it and its kind."""

    columns: tuple[str, ...]
    kind: str


@dataclass(frozen=True)
class TaskSpec:
    """One task: its label column and type (``num_classes`` is inferred when ``None``)."""

    column: str
    type: str
    num_classes: int | None = None


@dataclass
class DatasetSpec:
    """Where a dataset comes from and which columns are which modality and task.

    ``source`` is a hub name or a local path (folder of parquet/csv/json files, or a ``save_to_disk``
    folder). Built-in datasets set ``builder`` instead: a function returning a ``datasets.DatasetDict``.
    ``splits`` maps the roles ``train``/``validation``/``test`` to split names; a missing validation
    split is carved from train (``validation_fraction``, ``split_seed``) and the results say so.
    ``metadata`` carries ``description``, ``reference`` and, for built-ins, ``ground_truth``.
    """

    name: str
    modalities: dict[str, ModalitySpec]
    tasks: dict[str, TaskSpec]
    source: str | None = None
    config: str | None = None
    splits: dict[str, str | None] = field(default_factory=lambda: {"train": "train", "validation": "validation", "test": "test"})
    builder: Callable[[], Any] | None = None
    validation_fraction: float = 0.1
    split_seed: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)


#: Metrics where lower is better (the sign flip in Δm%); torch-free so that reading results stays light.
LOWER_IS_BETTER = frozenset({"mae", "rmse", "loss"})


@dataclass(frozen=True)
class TaskInfo:
    """A task as the harness sees it after loading.

    ``out_dim``: classes (classification), labels (multilabel) or 1 (regression).
    """

    name: str
    type: str
    out_dim: int

    @property
    def main_metric(self) -> str:
        return {"classification": "accuracy", "multilabel": "micro_f1", "regression": "mae"}[self.type]


@dataclass
class Split:
    """One decoded split: per modality a tensor (image ``[N,C,H,W]`` float in [0,1], tabular ``[N,F]``
    float, audio ``[N,T]``) or a list of ``str`` (text); per task a target tensor (``long [N]`` for
    classification, ``float [N,L]`` for multilabel, ``float [N]`` for regression)."""

    modalities: dict[str, Any]
    targets: dict[str, Any]

    def __len__(self) -> int:
        return len(next(iter(self.targets.values())))


@dataclass
class LoadedDataset:
    """A dataset ready for training: decoded once, split into train/validation/test."""

    spec: DatasetSpec
    splits: dict[str, Split]
    modality_info: dict[str, Any]  # name -> mmbench.components.base.ModalityInfo
    task_info: dict[str, TaskInfo]
    fingerprint: str
    notes: list[str] = field(default_factory=list)
