"""A named benchmark on the Hugging Face Hub as data: where it lives (pinned), what each column is, and
what a page citing it must say — in the spirit of MTEB's ``TaskMetadata`` (Muennighoff et al. 2023,
"MTEB: Massive Text Embedding Benchmark", EACL).

A :class:`BenchmarkCard` is callable: ``card(**options)`` is the dataset factory the datasets hook
registers, returning a :class:`~mmbench.data.spec.DatasetSpec` built by the same YAML reader as any
user's spec (:func:`mmbench.data.yaml_spec.spec_from_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from mmbench.data.spec import DatasetSpec

#: what ``mmbench list datasets`` shows besides name, plugin, description and reference
LIST_COLUMNS = ("license", "size", "modalities", "tasks", "revision")


@dataclass(frozen=True)
class BenchmarkCard:
    """One catalogue entry.

    ``modalities`` and ``tasks`` are YAML spec entries (``{column:, kind:}``, ``{column:, type:}``) naming the
    hub's columns exactly; ``splits`` maps roles to the hub's split names (``None``: carved from train).
    ``revision`` is the pinned commit (or, where no commit could be checked, the branch named in
    ``revision_note``). ``access`` says who may use the data (research-only, gated, ...).
    """

    name: str
    source: str
    revision: str
    description: str
    license: str
    reference: str
    citation: str
    size: str
    modalities: Mapping[str, Mapping[str, Any]]
    tasks: Mapping[str, Mapping[str, Any]]
    config: str | None = None
    splits: Mapping[str, str | None] = field(default_factory=lambda: {"train": "train", "validation": "validation", "test": "test"})
    access: str = "open"
    homepage: str = ""
    revision_note: str = ""
    validation_fraction: float = 0.1
    test_fraction: float = 0.1

    @property
    def task_types(self) -> list[str]:
        """The task types present, in order of first appearance."""
        return list(dict.fromkeys(str(t["type"]) for t in self.tasks.values()))

    def listing(self) -> dict[str, Any]:
        """The registration metadata (what ``mmbench list datasets`` shows and ``--json`` prints)."""
        return {
            "description": self.description,
            "reference": self.reference,
            "license": self.license,
            "size": self.size,
            "modalities": sorted({str(m["kind"]) for m in self.modalities.values()}),
            "tasks": list(self.tasks),
            "task_types": self.task_types,
            "revision": self.revision,
            "source": self.source,
            "config": self.config,
            "access": self.access,
            "citation": self.citation,
        }

    def __call__(self, source: str | None = None, revision: str | None = None, missing_labels: str = "error",
                 missing_features: str = "error", image_size: int | list[int] | None = None) -> DatasetSpec:
        """The spec. ``source``: a local copy (``save_to_disk`` folder, or the hub repo's files) instead of the
        hub name; ``revision``: another pin; ``missing_labels``/``missing_features``: see
        :mod:`mmbench.data.missing`; ``image_size``: resize images to this (int or ``[H, W]``) instead."""
        from mmbench.data.yaml_spec import spec_from_dict

        modalities = {name: dict(entry) for name, entry in self.modalities.items()}
        if image_size is not None:
            for entry in modalities.values():
                if entry["kind"] == "image":
                    entry["size"] = image_size
        metadata = {k: v for k, v in self.listing().items() if k not in ("modalities", "tasks", "task_types")}
        metadata |= {"catalogue": self.name, "homepage": self.homepage, "revision_note": self.revision_note}
        return spec_from_dict({
            "name": self.name,
            "source": source or self.source,
            "config": self.config,
            "revision": revision or self.revision,
            "splits": dict(self.splits),
            "validation_fraction": self.validation_fraction,
            "test_fraction": self.test_fraction,
            "missing_labels": missing_labels,
            "missing_features": missing_features,
            "modalities": modalities,
            "tasks": {name: dict(entry) for name, entry in self.tasks.items()},
            "metadata": metadata,
        })
