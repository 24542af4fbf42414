"""The comparisons a leaderboard makes, each a paired test on per-seed scores, adjusted inside its declared family.

Three kinds (the ``kind`` of a :class:`Comparison`):

- ``vs_ew`` — a weighting against EW with the same architecture (modalities, tasks, encoders, aligner, fuser,
  architecture, training and tuning). Per seed both rows get Δm% against the row's single-task baseline (its
  same-seed scores when the baseline ran every paired seed, else its mean); v_s is the difference. Without a
  baseline, v_s is Δm% of the row's seed s against EW's seed s. Tasks whose baseline is at chance are left out of
  both rows' Δm% (their chance-level denominators would weight them up).
- ``cross_modal_gain`` — a cross-modal configuration against its single-modal reference: v_s = Δm% of seed s
  against the reference's seed s; H0: gain 0.
- ``delta_m`` — a multitask configuration against its single-task baselines: v_s = Δm% of seed s against the
  baselines' seed s; H0: Δm% = 0.

Seeds are paired when both sides ran them on the same data split. Every comparison gets the paired t-test
(the difference test) and the exact sign-flip p as a robustness column (:mod:`~mmbench.leaderboard.stats.paired`);
its family (declared in the grid's ``claims:``), TOST, adjusted p-values, MDE and verdict are then set by
:func:`~mmbench.leaderboard.stats.families.apply_claims`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mmbench.leaderboard.load import Configuration
from mmbench.leaderboard.references import Reference
from mmbench.leaderboard.stats.delta import delta_coefficients
from mmbench.leaderboard.stats.paired import ALPHA, PairedTest, paired_test

KINDS = {"vs_ew": "weighting vs EW (same architecture)",
         "delta_m": "multitask vs its single-task baselines (Δm% vs 0)",
         "cross_modal_gain": "cross-modal vs its single-modal reference (gain vs 0)"}


@dataclass
class Comparison:
    """One paired comparison: a configuration, its reference, the test (``None``: no seed paired)."""

    kind: str
    config: Configuration
    reference: str
    score: str
    result: PairedTest | None
    #: the difference test's p adjusted inside the comparison's family
    p_adjusted: float = math.nan
    #: set by :func:`~mmbench.leaderboard.stats.families.apply_claims`
    family: str = ""
    margin: float = math.nan
    p_equivalence: float = math.nan
    p_equivalence_adjusted: float = math.nan
    mde: float = math.nan
    pooled_sd: float = math.nan
    verdict: str = "not tested"
    #: why the comparison is kept out of its family (its reference is at chance), else ``None``
    excluded: str | None = None
    #: the label of the configuration this one duplicates (the same scores on every seed: a tuned LS that kept the
    #: default weights is EW's twin; :func:`~mmbench.leaderboard.analysis.mark_twins`): shown, left out of its family
    identical_to: str | None = None
    #: the seeds of ``result.per_pair``, in order
    seeds: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.config.label

    @property
    def n_pairs(self) -> int:
        return self.result.n_pairs if self.result else 0

    @property
    def p_value(self) -> float:
        return self.result.p_value if self.result else math.nan

    @property
    def p_signflip(self) -> float:
        return self.result.p_signflip if self.result else math.nan

    @property
    def testable(self) -> bool:
        return bool(self.result and self.result.testable)

    @property
    def equivalent(self) -> bool:
        """Whether TOST establishes equivalence within ±margin after the family's adjustment."""
        return math.isfinite(self.p_equivalence_adjusted) and self.p_equivalence_adjusted <= ALPHA

    def significant(self, alpha: float = ALPHA) -> bool:
        """Whether the *adjusted* p-value is at most ``alpha``."""
        return math.isfinite(self.p_adjusted) and self.p_adjusted <= alpha

    def record(self) -> dict[str, object]:
        """The flat record (CSV/JSON ``comparisons``)."""
        r = self.result
        eff = r.effect if r else None
        return {"kind": self.kind, "dataset": self.config.dataset, "family": self.config.family, "label": self.label,
                "reference": self.reference, "score": self.score, "test": r.test if r else None,
                "n_pairs": self.n_pairs, "min_p": r.min_p if r else math.nan,
                "effect": eff.mean if eff else math.nan, "effect.ci_low": eff.low if eff else math.nan,
                "effect.ci_high": eff.high if eff else math.nan, "effect_size": r.effect_size if r else math.nan,
                "p_value": self.p_value, "p_adjusted": self.p_adjusted, "p_signflip": self.p_signflip,
                "p_equivalence": self.p_equivalence, "p_equivalence_adjusted": self.p_equivalence_adjusted,
                "equivalent": self.equivalent, "margin": self.margin, "verdict": self.verdict, "mde": self.mde,
                "comparison_family": self.family, "excluded": self.excluded, "identical_to": self.identical_to,
                "testable": self.testable}


def _columns(*frames: pd.DataFrame) -> pd.Index:
    cols = frames[0].columns
    for f in frames[1:]:
        cols = cols.intersection(f.columns, sort=False)
    return cols


def _run(x: pd.DataFrame, y: pd.DataFrame, den: pd.DataFrame | None) -> tuple[PairedTest | None, list[int]]:
    """The paired test of ``x`` against ``y`` (same index), Δm% weights over the columns both have, and the seeds
    it paired."""
    keep = x.notna().all(axis=1) & y.notna().all(axis=1) & (True if den is None else den.notna().all(axis=1))
    x, y = x[keep], y[keep]
    if den is not None:
        den = den[keep]
    if x.empty:
        return None, []
    bottom = [y, x] if den is None else [den]  # swapping puts x in the denominator too
    usable = np.logical_and.reduce([(f.to_numpy() != 0).all(axis=0) for f in bottom])
    coef = delta_coefficients(x.columns, usable)
    if coef is None:
        return None, []
    cols = x.columns[usable]
    return paired_test(x[cols].to_numpy(), y[cols].to_numpy(), coef[usable],
                       None if den is None else den[cols].to_numpy()), [int(s) for s in x.index]


def against_reference(kind: str, cfg: Configuration, ref: Reference | None) -> Comparison | None:
    """``delta_m`` or ``cross_modal_gain``: per-seed Δm% of ``cfg`` against ``ref``'s same seed, tested vs 0."""
    if ref is None or cfg.test.empty:
        return None
    seeds = cfg.paired_seeds(*[c for _, c in ref.parts])
    frame = ref.frame("test")
    cols = _columns(cfg.test, frame)
    result, paired = _run(cfg.test.loc[seeds, cols], frame.loc[seeds, cols], None) if seeds else (None, [])
    score = "Δm% vs the single-task baselines (same seed)" if kind == "delta_m" else "Δm% vs the single-modal reference (same seed)"
    return Comparison(kind, cfg, " ; ".join(ref.labels), score, result, seeds=paired)


def against_ew(cfg: Configuration, ew: Configuration, baseline: Reference | None,
               drop: tuple[str, ...] = ()) -> Comparison:
    """``vs_ew``: per-seed Δm% (against the single-task baseline) of ``cfg`` minus EW's, tested vs 0 — without the
    tasks in ``drop`` (those whose baseline is at chance: a chance-level denominator would weight them up to ~1/chance
    times the others). With every task dropped the comparison is made but excluded from its family."""
    seeds = cfg.paired_seeds(ew)
    cols = _columns(cfg.test, ew.test)
    kept = cols[~cols.get_level_values(0).isin(drop)] if drop else cols
    excluded = f"baseline at chance on every task ({', '.join(drop)})" if drop and not len(kept) else None
    cols = kept if len(kept) else cols
    x, y = cfg.test.loc[seeds, cols], ew.test.loc[seeds, cols]
    if baseline is None:
        den, score = None, "Δm% vs EW (same seed)"
    else:
        parts = [c for _, c in baseline.parts]
        if set(seeds) <= set(cfg.paired_seeds(*parts)):
            den, score = baseline.frame("test").reindex(index=seeds, columns=cols), "Δm% vs single-task baseline (same seed), minus EW's"
        else:
            mean = baseline.values.reindex(cols)
            den = pd.DataFrame([mean.to_numpy()] * len(seeds), index=seeds, columns=cols)
            score = "Δm% vs single-task baseline (its mean), minus EW's"
        x, y = x.loc[:, den.notna().any(axis=0)], y.loc[:, den.notna().any(axis=0)]
        den = den.loc[:, x.columns]
    if drop and not excluded:
        score += f" (w/o the tasks whose baseline is at chance: {', '.join(drop)})"
    result, paired = _run(x, y, den) if seeds else (None, [])
    return Comparison("vs_ew", cfg, ew.label, score, result, excluded=excluded, seeds=paired)
