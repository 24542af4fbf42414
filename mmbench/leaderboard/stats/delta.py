"""Δm% (LibMTL's convention) of per-seed scores against a reference.

Δm% follows Maninis et al. (2019), "Attentive Single-Tasking of Multiple Tasks", CVPR, as implemented
by LibMTL (``LibMTL/utils.py::count_improvement``; Lin & Zhang, 2023, JMLR):

    Δm = 100 · (1/T) Σ_t (1/M_t) Σ_m (−1)^{l_{t,m}} (N_{t,m} − B_{t,m}) / B_{t,m},   l = 1 if lower is better,

over every metric stored for each task (positive = better than the reference B). Each term is the kernel
:func:`mmbench.scoring.relative_change`; :func:`delta_coefficients` are the signed weights in front of it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mmbench import scoring


def delta_coefficients(columns: pd.Index, usable: np.ndarray) -> np.ndarray | None:
    """The weights c_k = 100 · (−1)^{l_k} / (T · M_t) of Δm% over ``columns`` (``(task, metric)``), zero where
    ``usable`` is False; ``None`` when a task is left with no usable metric (Δm% is then undefined)."""
    tasks = np.array([t for t, _ in columns], dtype=object)
    names = list(dict.fromkeys(tasks))
    coef = np.zeros(len(columns))
    for t in names:
        group = usable & (tasks == t)
        if not group.any():
            return None
        coef[group] = 1.0 / group.sum()
    sign = np.array([float(scoring.direction(m)) for _, m in columns])
    return 100.0 * sign * coef / len(names)


def delta_m(values: pd.DataFrame, reference: pd.Series | pd.DataFrame) -> pd.Series:
    """Δm% of every row of ``values`` (index: seed; columns ``(task, metric)``) against ``reference``: a Series
    (one B for every row) or a frame indexed by seed (each row against the reference's *same seed*; a seed the
    reference lacks gives ``nan``).

    Metrics the reference lacks, or where it is 0 (the ratio is undefined), are left out of M_t; a task
    left with no metric makes Δm undefined (``nan``) rather than silently averaging fewer tasks.
    """
    if values.empty:
        return pd.Series(dtype=float)
    if isinstance(reference, pd.DataFrame):
        base = reference.reindex(index=values.index, columns=values.columns).to_numpy(dtype=float)
    else:
        base = np.broadcast_to(reference.reindex(values.columns).to_numpy(dtype=float), values.shape)
    known = np.isfinite(base).any(axis=0)  # metrics the reference has (on some seed)
    complete = np.isfinite(base[:, known]).all(axis=1)  # rows whose reference has every one of them
    usable = known & (base[complete] != 0).all(axis=0) if complete.any() else np.zeros(values.shape[1], bool)
    coef = delta_coefficients(values.columns, usable)
    if coef is None:
        return pd.Series(math.nan, index=values.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = scoring.relative_change(values.to_numpy(dtype=float)[:, usable], base[:, usable])
    out = relative @ coef[usable]
    out[~complete] = math.nan
    return pd.Series(out, index=values.index)
