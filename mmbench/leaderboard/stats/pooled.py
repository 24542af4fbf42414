"""Pooled verdicts: one per weighting (and per fuser) over the contexts of a page, and over the datasets of the index.

- **On a page** (:func:`pooled_page`): a weighting's ``vs_ew`` comparisons (or a fuser's ``cross_modal_gain``
  comparisons) in every context where it ran; per seed, the mean of the per-seed scores over the contexts that
  share that seed; then the paired t-test of those per-seed means against 0 and TOST against the kind's margin
  (:mod:`~mmbench.leaderboard.stats.paired`, :mod:`~mmbench.leaderboard.stats.equivalence`). The pooled tests of a
  page are exploratory (not declared before the run): adjusted together by BH, separately from the families.
- **Across datasets** (:func:`stratified_signflip`): per dataset k and seed s the pooled per-seed score v_ks;
  the statistic Σ_k (Σ_s v_ks / √Σ_s v_ks²) weights each dataset by its own scale (valid when datasets differ
  in scale; each dataset contributes at most √n_k), and the sign of every v_ks is flipped independently under H0
  (symmetric per-seed scores; Fisher 1935; Good 2005): exact when 2^N ≤ 9,999 sign patterns, else 9,999
  seeded random flips, p = (1 + #{|T*| ≥ |T|}) / (R + 1).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from mmbench.leaderboard.stats.comparisons import Comparison
from mmbench.leaderboard.stats.equivalence import tost_p
from mmbench.leaderboard.stats.multiplicity import DEFAULT, adjust
from mmbench.leaderboard.stats.paired import ALPHA, t_test_p

N_FLIPS = 9_999
FLIP_SEED = 0


#: what a pooled verdict compares, per component kind (:func:`pooled_page`)
POOLED_AGAINST = {"weighting": "vs EW", "fuser": "cross-modal gain vs the best single-modal reference"}


@dataclass
class PooledVerdict:
    """A component value's pooled comparison: per-seed scores (per dataset), p, adjusted p, verdict."""

    kind: str
    value: str
    contexts: int
    per_seed: dict[str, np.ndarray] = field(default_factory=dict)
    margin: float = math.nan
    p_value: float = math.nan
    p_equivalence: float = math.nan
    p_adjusted: float = math.nan
    p_equivalence_adjusted: float = math.nan
    verdict: str = "not tested"

    @property
    def mean(self) -> float:
        values = np.concatenate(list(self.per_seed.values())) if self.per_seed else np.array([])
        return float(values.mean()) if len(values) else math.nan

    @property
    def n(self) -> int:
        return int(sum(len(v) for v in self.per_seed.values()))


def per_seed_means(comparisons: Sequence[Comparison]) -> np.ndarray:
    """Per seed, the mean over ``comparisons`` of their per-seed scores (seeds in at least one of them)."""
    by_seed: dict[int, list[float]] = {}
    for c in comparisons:
        if c.result is None:
            continue
        for s, v in zip(c.seeds, c.result.per_pair):
            by_seed.setdefault(s, []).append(v)
    return np.array([np.mean(by_seed[s]) for s in sorted(by_seed)])


def _verdicts(rows: list[PooledVerdict], method: str) -> None:
    tested = [r for r in rows if math.isfinite(r.p_value)]
    for r, p, e in zip(tested, adjust([r.p_value for r in tested], method),
                       adjust([r.p_equivalence for r in tested], method)):
        r.p_adjusted, r.p_equivalence_adjusted = float(p), float(e)
        if r.p_adjusted <= ALPHA:
            r.verdict = "better" if r.mean > 0 else "worse"
        elif math.isfinite(r.p_equivalence_adjusted) and r.p_equivalence_adjusted <= ALPHA:
            r.verdict = "equivalent"
        else:
            r.verdict = "inconclusive"


def pooled_page(comparisons: Sequence[Comparison], method: str = DEFAULT) -> list[PooledVerdict]:
    """Pooled verdicts per weighting (``vs_ew``) and per fuser (``cross_modal_gain``) over a page's contexts, per
    dataset; comparisons kept out of their family (reference at chance, identical to EW) are left out."""
    groups: dict[tuple[str, str, str], list[Comparison]] = {}
    keys: dict[str, Callable[[Comparison], str | None]] = {"vs_ew": lambda c: c.config.weighting,
                                                           "cross_modal_gain": lambda c: c.config.fuser}
    for c in comparisons:
        if (c.kind in keys and c.result is not None and not c.excluded and not c.identical_to
                and keys[c.kind](c)):
            groups.setdefault((c.config.dataset, c.kind, str(keys[c.kind](c))), []).append(c)
    rows = []
    for (dataset, kind, value), comps in groups.items():
        v = per_seed_means(comps)
        row = PooledVerdict("weighting" if kind == "vs_ew" else "fuser", value, len(comps), {dataset: v},
                            comps[0].margin)
        if len(v) >= 2:
            row.p_value = float(t_test_p(v))
            row.p_equivalence = float(tost_p(v, row.margin)) if math.isfinite(row.margin) else math.nan
        rows.append(row)
    _verdicts(rows, method)
    return sorted(rows, key=lambda r: (r.kind, r.value))


def stratified_signflip(per_dataset: Sequence[np.ndarray], n_flips: int = N_FLIPS, seed: int = FLIP_SEED) -> float:
    """Two-sided p of the stratified sign-flip test of Σ_k Σ_s v_ks / √Σ_s v_ks² (see the module docstring)."""
    blocks = [np.asarray(v, dtype=float) for v in per_dataset if len(v)]
    blocks = [v for v in blocks if np.any(v != 0)]
    if not blocks:
        return 1.0
    scale = np.concatenate([np.full(len(v), 1.0 / math.sqrt(float(np.sum(v ** 2)))) for v in blocks])
    values = np.concatenate(blocks) * scale
    observed = abs(values.sum())
    n = len(values)
    if 2 ** n <= n_flips + 1:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        null = np.abs(signs @ values)
        return float(np.mean(null >= observed - 1e-12))
    rng = np.random.default_rng(seed)
    signs = rng.choice((-1.0, 1.0), size=(n_flips, n))
    null = np.abs(signs @ values)
    return float((1 + np.sum(null >= observed - 1e-12)) / (n_flips + 1))


def pooled_datasets(pages: Sequence[list[PooledVerdict]], method: str = DEFAULT) -> list[PooledVerdict]:
    """Per (kind, value), the pages' pooled per-seed scores over datasets, tested by :func:`stratified_signflip`
    and adjusted together (BH) per kind; no equivalence test (the statistic has no margin scale)."""
    merged: dict[tuple[str, str], PooledVerdict] = {}
    for page in pages:
        for r in page:
            row = merged.setdefault((r.kind, r.value), PooledVerdict(r.kind, r.value, 0, {}, r.margin))
            row.contexts += r.contexts
            row.per_seed.update(r.per_seed)
    rows = list(merged.values())
    for r in rows:
        r.p_value = stratified_signflip(list(r.per_seed.values())) if r.n else math.nan
    for kind in {r.kind for r in rows}:
        _verdicts([r for r in rows if r.kind == kind], method)
    return sorted(rows, key=lambda r: (r.kind, r.value))
