"""``example-sensors``: a small dataset shipped inside the package, the way a packaged dataset ships its files.

The files are package data (``mmbench_example/data/sensors/{train,test}.csv``, declared under
``[tool.setuptools.package-data]`` in ``pyproject.toml`` so a wheel carries them), found with
:func:`importlib.resources.files` — never with a path relative to the current directory — and read through
the spec's ``source`` like any local folder of CSV files. Two tabular modalities of three readings each,
``a`` and ``b``; ``label`` needs both (the sign of ``a0 + b0``), ``level`` is a noisy ``a1 - b1 / 2``. 240
training rows (a validation split is carved from them) and 60 test rows, generated once with a seed.

A cell's provenance records this dataset by its data fingerprint, not by this package's version: editing a
CSV makes the cells on it stale; releasing a new version of the package does not.
"""

from __future__ import annotations

from importlib.resources import files

from mmbench import DatasetSpec, ModalitySpec, TaskSpec


def sensors_spec() -> DatasetSpec:
    """The spec of ``example-sensors``, pointing at the package's own copy of the files."""
    folder = files("mmbench_example") / "data" / "sensors"  # a real folder for a regular or editable install
    return DatasetSpec(
        name="example-sensors",
        source=str(folder),
        modalities={"a": ModalitySpec(("a0", "a1", "a2"), "tabular"), "b": ModalitySpec(("b0", "b1", "b2"), "tabular")},
        tasks={"label": TaskSpec("label", "classification"), "level": TaskSpec("level", "regression")},
        splits={"train": "train", "validation": None, "test": "test"},
        metadata={"description": "two tabular modalities, a classification task needing both and a regression task",
                  "reference": "generated for mmbench-example (seed 7)"},
    )
