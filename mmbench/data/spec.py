"""Dataset specs (what the user or a plugin declares) and loaded datasets (what the harness trains on)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from mmbench.scoring import MAIN_METRIC


@dataclass(frozen=True)
class ModalitySpec:
    """One modality: the column(s) that hold it and its kind (:data:`mmbench.vocabulary.MODALITY_KINDS`)."""

    columns: tuple[str, ...]
    kind: str


@dataclass(frozen=True)
class TaskSpec:
    """One task: its label column and type (:data:`mmbench.vocabulary.TASK_TYPES`; ``num_classes`` is inferred
    when ``None``)."""

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
    ``test: None`` carves a test split from train too (``test_fraction``), before validation, with
    ``test_seed`` (``None``: ``split_seed``) — so a grid redrawing splits per seed keeps one test split.
    ``revision`` pins a hub dataset's version (a commit, branch or tag, as ``datasets.load_dataset``
    takes it); it is recorded with every result. ``missing_labels`` (``error`` | ``drop`` | ``mask``) and
    ``missing_features`` (``error`` | ``drop`` | ``impute``) say what to do with missing values
    (:mod:`mmbench.data.missing`). ``metadata`` carries ``description``, ``reference`` and, for built-ins,
    ``ground_truth``; catalogue entries add ``license``, ``citation``, ``size`` and ``access``.
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
    revision: str | None = None
    test_fraction: float = 0.1
    missing_labels: str = "error"
    missing_features: str = "error"
    test_seed: int | None = None

    @property
    def test_split_seed(self) -> int:
        """The seed a carved test split is drawn with: ``test_seed``, else ``split_seed``."""
        return self.split_seed if self.test_seed is None else self.test_seed


@dataclass(frozen=True)
class TaskInfo:
    """A task as the harness sees it after loading.

    ``out_dim``: classes (classification), labels (multilabel) or 1 (regression). ``masked``: some rows
    have no label (``missing_labels: mask``); their targets hold the sentinel of
    :mod:`mmbench.data.missing`, and they count in no loss and no metric.
    """

    name: str
    type: str
    out_dim: int
    masked: bool = False

    @property
    def main_metric(self) -> str:
        return MAIN_METRIC[self.type]


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

    @property
    def provenance(self) -> dict[str, Any]:
        """Where the data came from (recorded with every result): source, config, revision, fingerprint."""
        return {"name": self.spec.name, "source": self.spec.source if self.spec.builder is None else "built-in",
                "config": self.spec.config, "revision": self.spec.revision, "fingerprint": self.fingerprint}
