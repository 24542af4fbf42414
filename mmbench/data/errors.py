"""The one error type of the data layer: bad input, caught before any training."""

from __future__ import annotations


class DatasetError(ValueError):
    """A dataset spec or its data cannot be used as given.

    Every message names the culprit (dataset, split, column, task or modality) and says how to fix it.
    """
