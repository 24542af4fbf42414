"""Stratified train/validation/test splits for the built-in datasets.

A split is stratified by the *joint* label of the dataset's classification tasks (every combination of
labels keeps its share in each split), falling back to the first task alone, then to a plain seeded
permutation, when a combination is too rare to stratify (fewer than 3 examples). Sizes are 70/15/15
(:func:`split_sizes`). scikit-learn's ``train_test_split`` does the stratified draws.

**Redrawn splits keep one test split.** A grid with ``split_seeds: true`` redraws the split per seed; the
test split stays the one drawn with the dataset's own seed (``test_seed``) and only train/validation are
redrawn, within the other 85%. Tuning selects on one split's validation rows: were the test split redrawn
too, those rows would sit in other seeds' test splits, and the test split would no longer be unseen before
the final evaluation. Intervals then cover training seeds and train/validation draws on a fixed test split.
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


def stratified_split(labels: Any, seed: int, test_seed: int | None = None) -> dict[str, Any]:
    """Index arrays ``{"train", "validation", "test"}`` of a seeded 70/15/15 split, stratified by ``labels``
    (``[N]`` or ``[N, K]``, one column per classification task).

    ``test_seed`` (the dataset's own seed) fixes the test split: it is the test split of the split drawn with
    ``test_seed``, and ``seed`` redraws train and validation among the other rows, stratified as before and
    with the same sizes. ``None`` or ``seed``: the plain split drawn with ``seed``."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    base = _split(labels, seed if test_seed is None else test_seed)
    if test_seed is None or test_seed == seed:
        return base
    rest = np.sort(np.concatenate([base["train"], base["validation"]]))
    n_train = len(base["train"])
    strata = _strata(np.asarray(labels)[rest])
    if strata is None:
        perm = np.random.default_rng(seed).permutation(rest)
        train, val = perm[:n_train], perm[n_train:]
    else:
        train, val = train_test_split(rest, train_size=n_train, stratify=strata, random_state=seed)
    return {"train": np.sort(train), "validation": np.sort(val), "test": base["test"]}


def _split(labels: Any, seed: int) -> dict[str, Any]:
    """The plain seeded 70/15/15 split (train drawn first, then validation and test from the rest)."""
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
