"""The modalities a grid uses out of a dataset's: the spec restricted to them (:func:`select_modalities`, what
:func:`mmbench.data.loading.load` decodes) and the error for a name the dataset lacks (:func:`unknown_modality`,
also what the grid's expansion reports)."""

from __future__ import annotations

import dataclasses
import difflib
from typing import Iterable, Sequence

from mmbench.data.errors import DatasetError
from mmbench.data.spec import DatasetSpec


def unknown_modality(name: str, known: Iterable[str], dataset: str) -> str:
    """The problem of a modality ``name`` that dataset ``dataset`` (with modalities ``known``) lacks."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"modality {name!r} is not in dataset {dataset!r}; {hint}it has: {', '.join(known)}"


def select_modalities(spec: DatasetSpec, names: Sequence[str] | None) -> DatasetSpec:
    """``spec`` with only the modalities ``names`` (kept in the spec's own order, so the order of ``names``
    does not matter). ``None``, or every modality of ``spec`` in any order, gives ``spec`` itself: loading
    it decodes and fingerprints exactly what a plain load does. Unknown names raise :class:`DatasetError`."""
    if names is None:
        return spec
    names = [names] if isinstance(names, str) else list(names)
    bad = [unknown_modality(n, spec.modalities, spec.name) for n in dict.fromkeys(names) if n not in spec.modalities]
    if len(bad) > 1:
        raise DatasetError(f"{len(bad)} problems:\n  - " + "\n  - ".join(bad))
    if bad:
        raise DatasetError(bad[0])
    if not names:
        raise DatasetError(f"dataset {spec.name!r}: no modality chosen; it has: {', '.join(sorted(spec.modalities))}")
    if set(names) == set(spec.modalities):
        return spec
    return dataclasses.replace(spec, modalities={n: m for n, m in spec.modalities.items() if n in names})
