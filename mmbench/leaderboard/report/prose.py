""""What the results show": the findings a published page states, computed from a leaderboard.

Rules (docs/leaderboards.md, "Honest prose"):

- a configuration is *picked* on validation scores, never by its test maximum, and only among comparable values:
  a multitask configuration by the validation mean rank of the main metric within its table, a cross-modal one by
  its validation gain; rows whose reference is at chance are never picked; the test value is then reported with
  its interval;
- a claim states the comparison's verdict inside its declared family (better, worse, equivalent within ±margin,
  or inconclusive) with the adjusted p-value; each family's line gives its seeds, its MDE in Δm% points and what
  20 seeds would buy, so that "nothing established" is never read as "no difference";
- tasks whose single-task baseline is at chance are named, and Δm% is given without them too.

``board`` is anything with ``analyses``, ``comparisons``, ``adjust`` and ``claims`` (a
:class:`mmbench.leaderboard.board.Leaderboard`).
"""

from __future__ import annotations

import math
from typing import Any, Callable

from mmbench.grid.claims_spec import ClaimsSpec
from mmbench.leaderboard.analysis import Analysis
from mmbench.leaderboard.references import best, tied_with
from mmbench.leaderboard.report.format import fmt_interval, fmt_p, tally_text
from mmbench.leaderboard.stats.comparisons import Comparison
from mmbench.leaderboard.stats.delta import delta_m
from mmbench.leaderboard.stats.equivalence import mde
from mmbench.leaderboard.stats.families import EXPLORATORY, family_alpha, is_ew_clone
from mmbench.leaderboard.stats.intervals import Interval
from mmbench.leaderboard.stats.multiplicity import METHODS
from mmbench.leaderboard.stats.pooled import POOLED_AGAINST, pooled_page

FAMILY_NAMES = {"vs_ew": "weighting vs EW", "delta_m": "multitask vs single-task (Δm% vs 0)",
                "cross_modal_gain": "cross-modal vs single-modal (gain vs 0)", EXPLORATORY: "exploratory"}


def _ci(iv: Interval, unit: str = "") -> str:
    if not math.isfinite(iv.mean):
        return "n/a"
    text = f"{iv.mean:+.2f}{unit}"
    if iv.has_bounds:
        text += f" (95% CI {iv.low:+.2f} to {iv.high:+.2f})"
    else:
        text += f" (n={iv.n}: too few seeds for an interval)"
    return text


def claim(c: Comparison | None, better: str, worse: str, same: str) -> str:
    """The sentence a comparison supports: its verdict inside its family, with the adjusted p-value."""
    if c is None or c.result is None:
        return "not tested (no paired seeds)"
    if c.identical_to and is_ew_clone(c):
        return f"equivalent: identical to `{c.identical_to}` on every seed (the same model)"
    if c.identical_to:
        return (f"not counted: identical to `{c.identical_to}` on every seed (the same model; that row's comparisons "
                "stand for it)")
    if c.excluded:
        return f"not claimed ({c.excluded})"
    if not c.testable:
        return f"{same} cannot be tested with {c.n_pairs} seed"
    if c.verdict in ("better", "worse"):
        return f"{better if c.verdict == 'better' else worse} (adjusted p = {fmt_p(c.p_adjusted)})"
    if c.verdict == "equivalent":
        return (f"equivalent within ±{c.margin:g} Δm% points (adjusted TOST p = {fmt_p(c.p_equivalence_adjusted)})")
    mde_text = f"; effects below its MDE of {c.mde:.2f} points may go undetected" if math.isfinite(c.mde) else ""
    return (f"inconclusive — {same} is not established (adjusted p = {fmt_p(c.p_adjusted)}), nor is equivalence "
            f"within ±{c.margin:g} (adjusted TOST p = {fmt_p(c.p_equivalence_adjusted)}){mde_text}")


def validation_delta(a: Analysis) -> float:
    """Δm% of the row's validation mean against its baselines' validation means (what picks a configuration)."""
    if a.baseline is None or a.config.validation.empty:
        return math.nan
    return float(delta_m(a.config.validation, a.baseline.mean("validation")).mean())


def validation_gain(a: Analysis) -> float:
    if a.single_modal is None or a.config.validation.empty:
        return math.nan
    return float(delta_m(a.config.validation, a.single_modal.mean("validation")).mean())


def pick(rows: list[Analysis], score: Callable[[Analysis], float]) -> Analysis | None:
    """The row with the highest finite validation ``score`` (ties: the first label)."""
    scored = [(score(a), a.config.label, a) for a in rows]
    scored = [s for s in scored if math.isfinite(s[0])]
    return min(scored, key=lambda s: (-s[0], s[1]))[2] if scored else None


def _family_line(name: str, comps: list[Comparison], claims: ClaimsSpec) -> str:
    tested = [c for c in comps if c.testable and not c.excluded and not c.identical_to]  # the family's m
    title = FAMILY_NAMES.get(name, name)
    kind = "exploratory, adjusted separately" if name == EXPLORATORY else f"primary, margin ±{claims.margins[name]:g}"
    text = (f"Family {title} ({kind}; {len(tested)} tested comparisons"
            + (f" at {max(c.n_pairs for c in tested)} seeds" if tested else "") + "): " + tally_text(comps) + ".")
    if tested and math.isfinite(tested[0].pooled_sd):
        n = max(c.n_pairs for c in tested)
        level = family_alpha(len(tested), claims.alpha)
        now, later = mde(n, tested[0].pooled_sd, level), mde(20, tested[0].pooled_sd, level)
        text += (f" Power: with {n} seeds the paired t-test detects, with 80% power at the family's adjusted level "
                 f"{level:.2g} (α/m, m = {len(tested)}: BH's threshold for the smallest p, so conservative when several "
                 f"effects are real), a true effect of {now:.2f} Δm% points (its MDE; pooled "
                 f"per-seed SD {tested[0].pooled_sd:.2f}); 20 seeds would bring that to {later:.2f}. An inconclusive "
                 "comparison is not evidence of no difference: effects below the MDE are not ruled out unless "
                 "equivalence is shown.")
    return text


def _tests_lines(board: Any) -> list[str]:
    tested = [c for c in board.comparisons if c.result is not None]
    if not tested:
        return ["No paired comparison could be made (no configuration shares seeds with its reference)."]
    claims: ClaimsSpec = board.claims
    out = [f"Declared families (the grid's `claims:`, fixed before the run), each adjusted by "
           f"{METHODS[board.adjust]} inside itself; metric set: "
           + ("each task's main metric." if claims.metrics == "main" else "every stored metric.")]
    for name in dict.fromkeys([*claims.families, EXPLORATORY]):
        comps = [c for c in board.comparisons if c.family == name]
        if comps:
            out.append(_family_line(name, comps, claims))
    excluded = [c for c in board.comparisons if c.excluded and not c.identical_to]  # a twin is counted as one
    if excluded:
        out.append(f"{len(excluded)} comparisons against a reference at chance are shown in the tables but kept out "
                   "of the families, the picks and the verdicts.")
    twins = [c for c in board.comparisons if c.identical_to]
    if twins:
        pairs = sorted({(c.config.label, str(c.identical_to)) for c in twins})
        out.append(f"{len(pairs)} configuration{'s are' if len(pairs) > 1 else ' is'} the same model as another of "
                   "the same context — the same stored score on every seed, split and metric (a tuned LS whose "
                   "tuning kept the default weights is EW's twin; two gradient methods can coincide): "
                   + "; ".join(f"{a} = {b}" for a, b in pairs) + ". EW's twins are equivalent to EW by their own "
                   "TOST (every difference 0); every other comparison of a twin (verdict `identical`) is its twin's "
                   "again. None of them enters a family's adjustment, its power or the pooled lines — one model "
                   "counted twice would inflate the tallies and shrink the pooled SD.")
    return out


def _best_multitask(multi: list[Analysis]) -> list[str]:
    out = []
    for family in dict.fromkeys(a.config.family for a in multi):
        rows = [a for a in multi if a.config.family == family and a.delta_test is not None
                and not a.delta_test.excluded and not a.delta_test.identical_to and a.metrics]
        if not rows:
            continue
        chosen = best([a.config for a in rows])
        a = next(r for r in rows if r.config is chosen)
        rank, ties = tied_with(chosen, [r.config for r in rows])
        tie = (f" (validation mean rank {rank:.2f} among {len(rows)}" if math.isfinite(rank) else " (") + (
            f"; tied with {'; '.join(c.label for c in ties)}, the higher mean validation score broke the tie)"
            if ties else ")")
        out.append(f"Picked on validation (lowest mean rank of the main metric among the `{family}` configurations): "
                   f"**{a.config.label}**{tie}; on test Δm% = {_ci(a.delta_m)}: "
                   + claim(a.delta_test, "better than its single-task baselines", "worse than its single-task baselines",
                           "a difference from its single-task baselines") + ".")
        if a.chance_tasks:
            out[-1] += (f" Its baseline is at chance on {', '.join(f'`{t}`' for t in a.chance_tasks)} (⚠); without "
                        f"{'that task' if len(a.chance_tasks) == 1 else 'those tasks'}: Δm% = "
                        f"{_ci(a.delta_excl_chance.interval)}.")
    return out


def _ew_line(multi: list[Analysis]) -> str | None:
    comps = [a.vs_ew for a in multi if a.vs_ew is not None and a.vs_ew.result is not None]
    if not comps:
        return None
    text = f"Weighting vs EW (same architecture, {len(comps)} comparisons): {tally_text(comps)}."
    decided = [c for c in comps if c.verdict in ("better", "worse")]
    if decided:
        text += " " + "; ".join(f"{c.label} {'beats' if c.verdict == 'better' else 'loses to'} EW by "
                                f"{c.result.effect.mean:+.2f} Δm% points (adjusted p = {fmt_p(c.p_adjusted)})"
                                for c in sorted(decided, key=lambda c: c.p_adjusted)) + "."
    equivalent = [c for c in comps if c.verdict == "equivalent"]
    if equivalent:
        text += (f" Equivalent to EW within ±{equivalent[0].margin:g} Δm% points: "
                 + "; ".join(c.label + (" (identical to EW: the same model)" if is_ew_clone(c) else "")
                             for c in equivalent) + ".")
    return text


def _gain_line(cross: list[Analysis]) -> str | None:
    comps = [a for a in cross if a.gain_test is not None and a.gain_test.result is not None]
    if not comps:
        return None
    line = (f"Cross-modal gain ({len(comps)} cross-modal configurations against their best single-modal reference): "
            f"{tally_text([a.gain_test for a in comps])}.")
    a = pick([r for r in comps if not r.gain_test.excluded and not r.gain_test.identical_to], validation_gain)
    if a is not None:
        line += (f" Picked on validation gain: **{a.config.label}**, test gain {_ci(a.cross_modal_gain, '%')}: "
                 + claim(a.gain_test, "better than the best single modality", "worse than the best single modality",
                         "a gain over the best single modality") + ".")
    return line


def _task_lines(analyses: list[Analysis], ground_truth: dict[str, str]) -> list[str]:
    out = []
    single = [a for a in analyses if a.config.single_task]
    for task in dict.fromkeys(a.config.tasks[0] for a in single):
        rows = [a for a in single if a.config.tasks == (task,)]
        parts = []
        for fam, name in (("st-sm", "single-modal"), ("st-cm", "cross-modal")):
            fam_rows = [a for a in rows if a.config.family == fam and a.metrics]
            if not fam_rows:
                continue
            chosen = next(a for a in fam_rows if a.config is best([r.config for r in fam_rows]))
            metric = chosen.config.main_metrics().get(task)
            if metric is None or (task, metric) not in chosen.metrics:
                continue
            iv = chosen.metrics[(task, metric)]
            where = ("+".join(chosen.config.modalities) if fam == "st-sm"
                     else f"{chosen.config.aligner or 'none'}|{chosen.config.fuser or ''}")
            value = fmt_interval(iv, decimals=3) if iv.has_bounds else f"{iv.mean:.3f}"  # clipped: [low, high]
            at_chance = [a for a in fam_rows if a.chance is not None and a.chance.flagged]
            if fam == "st-sm" and at_chance and len(at_chance) == len(fam_rows):
                parts.append(f"no single modality is above chance (all {len(fam_rows)} ⚠; the validation pick, "
                             f"{where}, reaches test {metric} {value})")
                continue
            flag = " ⚠ at chance" if chosen in at_chance else ""
            parts.append(f"{name} picked on validation: {where}{flag}, test {metric} {value}")
        flagged = [a for a in rows if a.chance is not None and a.chance.flagged]
        chance = next((a.chance for a in rows if a.chance is not None), None)
        text = f"Task `{task}` (single-task): " + "; ".join(parts) + "."
        if chance is not None:
            text += f" Chance level (majority class, {chance.split}): {chance.chance:.3f}."
        if flagged:
            how = ("not significantly above it on validation, one-sided exact binomial test at 0.05"
                   if flagged[0].chance.tested else "not 2 accuracy points above it on validation")
            text += (f" ⚠ At chance ({how}): "
                     + ", ".join(f"{'+'.join(a.config.modalities)}"
                                 + (f" {a.config.aligner or 'none'}|{a.config.fuser}" if a.config.fuser else "")
                                 + f" ({a.chance.accuracy:.3f})" for a in flagged) + ".")
        if task in ground_truth:
            text += f" Ground truth: {ground_truth[task]}."
        out.append(text)
    return out


def findings(board: Any, ground_truth: dict[str, str] | None = None) -> list[str]:
    """The page's findings, one sentence group per list item (markdown)."""
    analyses: list[Analysis] = board.analyses
    if not analyses:
        return ["No cells stored yet."]
    out = _tests_lines(board)
    multi = [a for a in analyses if not a.config.single_task]
    out += _best_multitask(multi)
    for line in (_ew_line(multi), _gain_line([a for a in analyses if a.config.cross_modal])):
        if line:
            out.append(line)
    pooled = [r for r in pooled_page(board.comparisons, board.adjust) if math.isfinite(r.p_value)]
    if pooled:
        out.append("Pooled over the contexts of this page (exploratory, BH over these): "
                   + "; ".join(_pooled_phrase(r) for r in pooled) + ".")
    out += _task_lines(analyses, ground_truth or {})
    stuck = [a for a in analyses if a.config.nonconverged_seeds]
    if stuck:
        out.append(f"{len(stuck)} of {len(analyses)} configurations had seeds still improving when training stopped "
                   "(⚠ in the tables): their scores may understate what the method reaches.")
    return out


def _pooled_phrase(r: Any) -> str:
    """``fuser late, cross-modal gain vs …: worse (mean …)``, saying when a difference is also within the margin."""
    evidence = (f"adjusted TOST p = {fmt_p(r.p_equivalence_adjusted)} within ±{r.margin:g}" if r.verdict == "equivalent"
                else f"adjusted p = {fmt_p(r.p_adjusted)}")  # an equivalence rests on TOST, not on a large difference p
    text = (f"{r.kind} {r.value}, {POOLED_AGAINST.get(r.kind, 'vs its reference')}: {r.verdict} (mean {r.mean:+.2f} "
            f"Δm% points over {r.contexts} context{'s' if r.contexts != 1 else ''}, {evidence})")
    if r.verdict in ("better", "worse") and math.isfinite(r.p_equivalence_adjusted) and r.p_equivalence_adjusted < 0.05:
        text += f", a small difference: also within ±{r.margin:g} (TOST adjusted p = {fmt_p(r.p_equivalence_adjusted)})"
    return text


def headline(board: Any) -> str:
    """One line for the index of published pages: verdicts per declared family and their MDE."""
    tested = [c for c in board.comparisons if c.result is not None]
    if not tested:
        return "no paired comparison"
    parts = []
    for name in board.claims.families:
        comps = [c for c in tested if c.family == name]
        if not comps:
            continue
        mdes = [c.mde for c in comps if math.isfinite(c.mde)]
        counted, _, twins = tally_text(comps).partition("; twins")  # the MDE belongs to the counted comparisons
        parts.append(f"{FAMILY_NAMES.get(name, name)}: {counted}" + (f" (MDE {max(mdes):.2f})" if mdes else "")
                     + (f"; twins{twins}" if twins else ""))
    return "; ".join(parts) or f"{len(tested)} exploratory comparisons"
