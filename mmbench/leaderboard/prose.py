""""What the results show": the findings a published page states, computed from a leaderboard.

Rules (docs/leaderboards.md, "Honest prose"):

- a configuration is *picked* on validation scores (validation Δm%, validation cross-modal gain, the validation
  main metric), never by its test maximum; its test value is then reported with its interval;
- a difference is *claimed* only when its paired test passes after the page's adjustment, and the sentence
  cites the adjusted p-value; otherwise it says plainly that the difference is not established (or that the
  seeds are too few to test at all);
- tasks whose single-task baseline is at chance are named, and Δm% is given without them too.

``board`` is anything with ``analyses``, ``comparisons`` and ``adjust`` (a :class:`mmbench.leaderboard.Leaderboard`).
"""

from __future__ import annotations

import math
from typing import Any, Callable

from mmbench.leaderboard.comparisons import Comparison
from mmbench.leaderboard.delta import best, delta_m
from mmbench.leaderboard.format import fmt_interval, fmt_p
from mmbench.leaderboard.multiplicity import METHODS
from mmbench.leaderboard.significance import ALPHA, min_p_value
from mmbench.leaderboard.stats import Interval
from mmbench.leaderboard.table import Analysis


def _ci(iv: Interval, unit: str = "") -> str:
    if not math.isfinite(iv.mean):
        return "n/a"
    text = f"{iv.mean:+.2f}{unit}"
    if iv.has_bounds:
        text += f" (95% CI {iv.low:+.2f} to {iv.high:+.2f})"
    else:
        text += f" (n={iv.n}: too few seeds for an interval)"
    return text


def claim(c: Comparison | None, better: str, worse: str, same: str, alpha: float = ALPHA) -> str:
    """The sentence a comparison supports: ``better``/``worse`` only when significant after adjustment."""
    if c is None or c.result is None:
        return "not tested (no paired seeds)"
    if not c.testable:
        return f"{same} cannot be tested with {c.n_pairs} seeds (smallest possible p = {fmt_p(c.result.min_p)})"
    if c.significant(alpha):
        return f"{better if c.result.effect.mean > 0 else worse} (adjusted p = {fmt_p(c.p_adjusted)})"
    return f"{same} is not established (adjusted p = {fmt_p(c.p_adjusted)})"


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


def _tests_line(board: Any, alpha: float) -> str:
    tested = [c for c in board.comparisons if c.result is not None]
    if not tested:
        return "No paired comparison could be made (no configuration shares seeds with its reference)."
    method = METHODS[board.adjust]
    n, m = max(c.n_pairs for c in tested), len(tested)
    floor = min_p_value(n)  # the exact test's smallest possible p at n pairs
    if floor > alpha:
        return (f"With at most {n} seeds per configuration no paired test can reach p < {alpha} (the smallest "
                f"possible two-sided p is {fmt_p(floor)}): this page establishes no difference; the "
                "intervals below are descriptive. Six seeds are the fewest that can.")
    sig = [c for c in tested if c.significant(alpha)]
    text = (f"{m} paired comparisons on this page, p-values adjusted together by {method}: {len(sig)} "
            f"significant at adjusted p ≤ {alpha}." + ("" if sig else " Nothing on this page is significant."))
    if not sig and m * floor > alpha:  # what one comparison at the exact test's floor would be adjusted to (BH and Holm alike)
        text += (f" With {n} paired seeds the exact test's smallest possible p is {fmt_p(floor)}; one comparison at that "
                 f"floor, adjusted over {m}, would get p = {fmt_p(min(1.0, m * floor))} if it were alone there (Benjamini–"
                 "Hochberg lowers it when many comparisons sit at the floor together): an interval that excludes 0 is "
                 "not by itself a significant difference here, and detecting one needs more seeds or fewer comparisons.")
    return text


def _best_multitask(multi: list[Analysis]) -> str | None:
    a = pick(multi, validation_delta)
    if a is None:
        return None
    text = (f"Picked on validation Δm%: **{a.config.label}** (validation {validation_delta(a):+.2f}); on test "
            f"Δm% = {_ci(a.delta_m)}: " + claim(a.delta_test, "better than its single-task baselines",
                                                    "worse than its single-task baselines",
                                                    "a difference from its single-task baselines") + ".")
    if a.chance_tasks:
        text += (f" Its baseline is at chance on {', '.join(f'`{t}`' for t in a.chance_tasks)} (⚠); without "
                 f"{'that task' if len(a.chance_tasks) == 1 else 'those tasks'}: Δm% = {_ci(a.delta_excl_chance.interval)}.")
    return text


def _ew_line(multi: list[Analysis], alpha: float) -> str | None:
    comps = [a.vs_ew for a in multi if a.vs_ew is not None and a.vs_ew.result is not None]
    if not comps:
        return None
    sig = [c for c in comps if c.significant(alpha)]
    if not sig:
        ps = [c.p_adjusted for c in comps if c.testable and math.isfinite(c.p_adjusted)]
        tail = f" (smallest adjusted p = {fmt_p(min(ps))})" if ps else " (too few seeds to test any)"
        return f"Weighting vs EW (same architecture, {len(comps)} comparisons): no weighting differs significantly from EW{tail}."
    parts = [f"{c.config.weighting} on {c.label.split(' | ')[0]} "
             f"{'beats' if c.result.effect.mean > 0 else 'loses to'} EW by {c.result.effect.mean:+.2f} Δm% points "
             f"(adjusted p = {fmt_p(c.p_adjusted)})" for c in sorted(sig, key=lambda c: c.p_adjusted)]
    return (f"Weighting vs EW (same architecture, {len(comps)} comparisons): {len(sig)} significant after adjustment — "
            + "; ".join(parts) + ".")


def _gain_line(cross: list[Analysis], alpha: float) -> str | None:
    comps = [a for a in cross if a.gain_test is not None and a.gain_test.result is not None]
    if not comps:
        return None
    up = sum(1 for a in comps if a.gain_test.significant(alpha) and a.gain_test.result.effect.mean > 0)
    down = sum(1 for a in comps if a.gain_test.significant(alpha) and a.gain_test.result.effect.mean < 0)
    if not any(a.gain_test.testable for a in comps):
        line = f"Cross-modal gain ({len(comps)} cross-modal configurations): too few seeds to test any."
    else:
        line = (f"Cross-modal gain: {up} of {len(comps)} cross-modal configurations beat their single-modal reference "
                f"and {down} lose to it, significantly after adjustment.")
    a = pick(comps, validation_gain)
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
            where = "+".join(chosen.config.modalities) if fam == "st-sm" else (chosen.config.fuser or "")
            value = fmt_interval(iv, decimals=3) if iv.has_bounds else f"{iv.mean:.3f}"  # clipped: [low, high]
            parts.append(f"{name} picked on validation: {where}, test {metric} {value}")
        flagged = [a for a in rows if a.chance is not None and a.chance.flagged]
        chance = next((a.chance for a in rows if a.chance is not None), None)
        text = f"Task `{task}` (single-task): " + "; ".join(parts) + "."
        if chance is not None:
            text += f" Chance level (majority class, {chance.split}): {chance.chance:.3f}."
        if flagged:
            text += (" ⚠ At chance (not 2 accuracy points above it on validation): "
                     + ", ".join(f"{'+'.join(a.config.modalities)}"
                                 + (f" {a.config.fuser}" if a.config.fuser else "")
                                 + f" ({a.chance.accuracy:.3f})" for a in flagged) + ".")
        if task in ground_truth:
            text += f" Ground truth: {ground_truth[task]}."
        out.append(text)
    return out


def findings(board: Any, ground_truth: dict[str, str] | None = None, alpha: float = ALPHA) -> list[str]:
    """The page's findings, one sentence group per list item (markdown)."""
    analyses: list[Analysis] = board.analyses
    if not analyses:
        return ["No cells stored yet."]
    out = [_tests_line(board, alpha)]
    multi = [a for a in analyses if not a.config.single_task]
    for line in (_best_multitask(multi), _ew_line(multi, alpha),
                 _gain_line([a for a in analyses if a.config.cross_modal], alpha)):
        if line:
            out.append(line)
    out += _task_lines(analyses, ground_truth or {})
    stuck = [a for a in analyses if a.config.nonconverged_seeds]
    if stuck:
        out.append(f"{len(stuck)} of {len(analyses)} configurations had seeds still improving when training stopped "
                   "(⚠ in the tables): their scores may understate what the method reaches.")
    return out


def headline(board: Any, alpha: float = ALPHA) -> str:
    """One line for the index of published pages."""
    tested = [c for c in board.comparisons if c.result is not None]
    if not tested:
        return "no paired comparison"
    n = max(c.n_pairs for c in tested)
    if min_p_value(n) > alpha:
        return f"{len(tested)} paired comparisons; too few seeds to test (n={n}, smallest possible p {fmt_p(min_p_value(n))})"
    sig = sum(1 for c in tested if c.significant(alpha))
    return f"{sig} of {len(tested)} paired comparisons significant after {METHODS[board.adjust].split(' (')[0]} adjustment"
