"""Declared families of comparisons, their adjustment and one verdict per comparison.

A grid's ``claims:`` block (:mod:`mmbench.grid.claims_spec`) declares, before the run, the *primary* families —
by default each comparison kind on its own: ``vs_ew``, ``delta_m``, ``cross_modal_gain`` — and an equivalence
margin per kind. Every comparison of an undeclared kind is *exploratory*: one family of its own, adjusted
separately and labelled so. Inside each family (Benjamini & Hochberg 1995 by default):

- the difference test's p (paired t-test) and the equivalence test's p (TOST against the kind's margin) are each
  adjusted over the family's comparisons;
- the **verdict** is ``better`` / ``worse`` when the adjusted difference p ≤ α (the sign of the mean effect),
  else ``equivalent`` when the adjusted TOST p ≤ α, else ``inconclusive``; ``not tested`` without two paired
  seeds; ``excluded`` when the reference is at chance (shown, never adjusted or claimed);
- a configuration **identical** to another of its context (``identical_to``: the same per-seed scores, e.g. a
  tuned LS that kept the default weights, twin of EW) stays out of every family's adjustment and pooled SD (one
  model counted twice would inflate the tallies and shrink the SD): EW's twin is ``equivalent`` to EW by its own
  TOST (all differences 0); every other comparison of a twin gets the verdict ``identical`` (its twin's stand
  for it) and no adjusted p;
- the **MDE** of a comparison is the effect its t-test detects with 80% power at the family's adjusted level
  α/m (Benjamini–Hochberg's threshold for a family's smallest p, what a lone true effect among m must reach),
  from the family's pooled per-seed SD (:mod:`~mmbench.leaderboard.stats.equivalence`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from mmbench.grid.claims_spec import ClaimsSpec
from mmbench.leaderboard.stats.equivalence import mde, pooled_sd, tost_p
from mmbench.leaderboard.stats.multiplicity import DEFAULT, adjust

if TYPE_CHECKING:
    from mmbench.leaderboard.stats.comparisons import Comparison

EXPLORATORY = "exploratory"
VERDICTS = ("better", "worse", "equivalent", "inconclusive", "not tested", "excluded", "identical")


def family_of(kind: str, claims: ClaimsSpec) -> str:
    """A comparison kind's family: the kind itself when declared primary, else :data:`EXPLORATORY`."""
    return kind if kind in claims.families else EXPLORATORY


def family_alpha(m: int, alpha: float) -> float:
    """The level a family's MDE is computed at: α/m (BH's threshold for the smallest of m p-values)."""
    return alpha / m if m else alpha


def is_ew_clone(c: "Comparison") -> bool:
    """A vs-EW comparison of EW's own twin: every per-seed difference is 0, and TOST decides it alone."""
    return c.kind == "vs_ew" and c.identical_to is not None and c.identical_to == c.reference


def verdict(c: "Comparison", alpha: float) -> str:
    """One word for a comparison whose adjusted p-values are set (see the module docstring)."""
    if c.identical_to and not is_ew_clone(c):
        return "identical"  # its twin's own comparison stands for it
    if c.excluded:
        return "excluded"
    if c.result is None or not c.result.testable:
        return "not tested"
    if math.isfinite(c.p_adjusted) and c.p_adjusted <= alpha:
        return "better" if c.result.effect.mean > 0 else "worse"
    if math.isfinite(c.p_equivalence_adjusted) and c.p_equivalence_adjusted <= alpha:
        return "equivalent"
    return "inconclusive"


def apply_claims(comparisons: list["Comparison"], claims: ClaimsSpec, method: str = DEFAULT) -> None:
    """Set each comparison's family, margin, TOST p, adjusted p-values (``method`` inside each family), MDE and
    verdict."""
    groups: dict[str, list[Comparison]] = {}
    for c in comparisons:
        c.family = family_of(c.kind, claims)
        c.margin = claims.margins.get(c.kind, math.nan)
        r = c.result
        c.p_equivalence = tost_p(np.asarray(r.per_pair), c.margin) if r is not None else math.nan
        if not c.excluded and not c.identical_to:
            groups.setdefault(c.family, []).append(c)
    power: dict[str, tuple[float, float]] = {}
    for name, family in groups.items():
        tested = [c for c in family if c.result is not None and c.result.testable]
        p_adj = adjust([c.p_value for c in tested], method)
        eq_adj = adjust([c.p_equivalence for c in tested], method)
        sd = pooled_sd(np.asarray(c.result.per_pair) for c in tested)
        level = family_alpha(len(tested), claims.alpha)
        power[name] = (sd, level)
        for c, p, e in zip(tested, p_adj, eq_adj):
            c.p_adjusted, c.p_equivalence_adjusted = float(p), float(e)
            c.mde = mde(c.n_pairs, sd, level)
            c.pooled_sd = sd
    for c in comparisons:  # an EW clone: its all-zero differences decide alone (nothing random to adjust for)
        if is_ew_clone(c) and c.result is not None and c.result.testable:
            c.p_adjusted, c.p_equivalence_adjusted = c.p_value, c.p_equivalence
            sd, level = power.get(c.family, (math.nan, claims.alpha))
            c.mde, c.pooled_sd = mde(c.n_pairs, sd, level), sd
    for c in comparisons:
        c.verdict = verdict(c, claims.alpha)


def counts(comparisons: list["Comparison"]) -> dict[str, int]:
    """How many comparisons got each verdict."""
    out = {v: 0 for v in VERDICTS}
    for c in comparisons:
        out[c.verdict] = out.get(c.verdict, 0) + 1
    return out

