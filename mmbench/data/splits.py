"""Stratified train/validation/test splits for the built-in datasets.

A split is stratified by the *joint* label of the dataset's classification tasks (every combination of
labels keeps its share in each split), falling back to the first task alone, then to a plain seeded
permutation, when a combination is too rare to stratify (fewer than 3 examples). Sizes are 70/15/15
(:func:`split_sizes`). scikit-learn's ``train_test_split`` does the stratified draws.
"""

from __future__ import annotations

from typing import Any

FRACTIONS = (0.70, 0.15, 0.15)


def split_sizes(n: int) -> tuple[int, int, int]:
    """(train, validation, test) sizes of a 70/15/15 split of ``n`` examples."""
    val = int(n * FRACTIONS[1] + 0.5)
    test = int(n * FRACTIONS[2] + 0.5)
    return n - val - test, val, test


def _strata(labels: Any) -> Any | None:
    """Joint-label strata (ints), the first column's, or ``None`` when neither can be stratified."""
    import numpy as np

    y = np.asarray(labels)
    if y.ndim == 1:
        y = y[:, None]
    for columns in (y, y[:, :1]):
        _, joint = np.unique(columns, axis=0, return_inverse=True)
        joint = joint.reshape(-1)
        if np.bincount(joint).min() >= 3:
            return joint
    return None


def stratified_split(labels: Any, seed: int) -> dict[str, Any]:
    """Index arrays ``{"train", "validation", "test"}`` of a seeded 70/15/15 split, stratified by ``labels``
    (``[N]`` or ``[N, K]``, one column per classification task)."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    n = len(labels)
    n_train, n_val, n_test = split_sizes(n)
    index = np.arange(n)
    strata = _strata(labels)
    if strata is None:
        perm = np.random.default_rng(seed).permutation(n)
        return {"train": perm[:n_train], "validation": perm[n_train:n_train + n_val], "test": perm[n_train + n_val:]}
    train, rest = train_test_split(index, train_size=n_train, stratify=strata, random_state=seed)
    rest_strata = strata[rest]
    if np.bincount(rest_strata).min() < 2 or len(np.unique(rest_strata)) > min(n_val, n_test):
        rest_strata = None  # too few of a stratum left to split it two ways: split the rest plainly
    val, test = train_test_split(rest, train_size=n_val, stratify=rest_strata, random_state=seed + 1)
    return {"train": np.sort(train), "validation": np.sort(val), "test": np.sort(test)}
