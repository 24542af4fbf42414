"""Intervals for Δm% and cross-modal gain that include the reference's own uncertainty.

A reference (the single-task baseline, or the single-modal configuration) is itself a mean over seeds; treating
it as exact gives intervals that are too narrow (``+120.33 ± 0.00`` when the row's seeds all agree). Two cases:

- **paired** — every seed of the row has a same-seed score in every part of the reference (same data split):
  Δm%_s of the row's seed s against the reference's seed s, then the Student-t interval of those n values
  (:func:`~mmbench.leaderboard.stats.intervals.bounded_interval`: none below three seeds). The reference's seed-to-seed
  variation enters through the pairs; what the two share (the seed's split and initialisation) cancels.
- **welch** — otherwise (the row has seeds the reference lacks): the point estimate is Δm% of the row's mean
  against the reference's mean, and its variance is propagated from both sides by the delta method (first-
  order Taylor expansion of Δm in the means N̄ and B̄, the sides independent):

      Var(Δm) ≈ Var(u)/n_N + Σ_p Var(v_p)/n_p,   u_s = Σ_k c_k N_{s,k} / B̄_k,   v_{p,s} = −Σ_{k∈p} c_k N̄_k B_{s,k} / B̄_k²

  (c_k Δm%'s weights; u and v weight the scores by the kernel's derivatives in N̄ and B̄,
  :func:`mmbench.scoring.relative_change_slopes`; p runs over the reference's parts — one configuration per task for Δm%, each with its
  own seeds), with a Welch–Satterthwaite number of degrees of freedom
  df = Var² / (Σ_i (Var_i/n_i)² / (n_i − 1)). The interval needs three seeds on every side. A reference with zero
  variance reproduces the interval that ignores it exactly (df = n_N − 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from mmbench import scoring
from mmbench.leaderboard.load import Configuration
from mmbench.leaderboard.references import Reference
from mmbench.leaderboard.stats.delta import delta_coefficients, delta_m
from mmbench.leaderboard.stats.intervals import CONFIDENCE, MIN_N, NO_INTERVAL, Interval, bounded_interval


@dataclass
class RelativeScore:
    """Δm% (or cross-modal gain) of one configuration against a reference, with its interval."""

    interval: Interval = NO_INTERVAL
    #: ``paired`` (same-seed reference scores) or ``welch`` (delta method, both sides), ``""`` when undefined
    method: str = ""
    #: per seed: against the same-seed reference (paired) or the reference's mean (welch)
    per_seed: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))


def welch_interval(values: pd.DataFrame, reference: Reference, confidence: float = CONFIDENCE) -> Interval:
    """Δm% of ``values``' mean against ``reference``'s mean, with the delta-method Welch interval (module doc)."""
    cols = values.columns
    nbar = values.mean(axis=0).to_numpy(dtype=float)
    bbar = reference.values.reindex(cols).to_numpy(dtype=float)
    usable = np.isfinite(bbar) & (bbar != 0)
    coef = delta_coefficients(cols, usable)
    if coef is None or values.empty:
        return NO_INTERVAL
    with np.errstate(divide="ignore", invalid="ignore"):
        point = float(np.nansum(np.where(usable, scoring.relative_change(nbar, bbar, coef), 0.0)))
        by_mean, by_base = scoring.relative_change_slopes(nbar, bbar, coef)
        rows = values.loc[:, usable].dropna()
        u = rows.to_numpy(dtype=float) @ by_mean[usable]
        sides = [(float(np.var(u, ddof=1)) / len(u) if len(u) > 1 else math.nan, len(u))]
        for tasks, cfg in reference.parts:
            mask = usable & np.isin([t for t, _ in cols], tasks)
            if not mask.any():
                continue
            picked = [c for c, m in zip(cols, mask) if m]
            frame = cfg.test.reindex(columns=pd.MultiIndex.from_tuples(picked)).dropna()
            v = frame.to_numpy(dtype=float) @ by_base[mask]
            sides.append((float(np.var(v, ddof=1)) / len(v) if len(v) > 1 else math.nan, len(v)))
    n = len(u)
    if not math.isfinite(point) or any(k < MIN_N for _, k in sides):
        return Interval(point, math.nan, math.nan, n)
    var = sum(s for s, _ in sides)
    if var == 0:
        return Interval(point, point, point, n)
    df = var ** 2 / sum(s ** 2 / (k - 1) for s, k in sides if s > 0)
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * math.sqrt(var)
    return Interval(point, point - half, point + half, n)


def relative_score(values: pd.DataFrame, row: Configuration, reference: Reference | None) -> RelativeScore:
    """Δm% of ``values`` (``row``'s per-seed scores, possibly a subset of its columns) against ``reference``:
    paired by seed when every seed of the row has a same-seed reference score, else the Welch interval."""
    if reference is None or values.empty:
        return RelativeScore()
    seeds = list(values.index)
    paired = set(seeds) <= set(row.paired_seeds(*[cfg for _, cfg in reference.parts]))
    if paired:
        per_seed = delta_m(values, reference.frame("test"))
        if per_seed.notna().all():
            return RelativeScore(bounded_interval(per_seed.to_numpy()), "paired", per_seed)
    per_seed = delta_m(values, reference.values)
    iv = welch_interval(values, reference)
    return RelativeScore(iv, "welch" if math.isfinite(iv.mean) else "", per_seed)
