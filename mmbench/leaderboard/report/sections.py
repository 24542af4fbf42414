"""Markdown sections beside the family tables: the header lines on splits, tuning and tests; the paired tests;
the rliable aggregates; the tuning table; retrieval scores; failed cells."""

from __future__ import annotations

import json
import math
from typing import Any

from tabulate import tabulate

from mmbench import scoring
from mmbench.grid.claims_spec import ClaimsSpec
from mmbench.leaderboard.analysis import Analysis
from mmbench.leaderboard.load import FailedCell
from mmbench.leaderboard.report.format import escape, fmt_estimate, fmt_interval, fmt_p, number, tally_text
from mmbench.leaderboard.stats.aggregates import KindAggregate
from mmbench.leaderboard.stats.comparisons import KINDS, Comparison
from mmbench.leaderboard.stats.multiplicity import METHODS
from mmbench.leaderboard.stats.pooled import PooledVerdict

SHORT_KIND = {"vs_ew": "vs EW", "delta_m": "Δm% vs 0", "cross_modal_gain": "gain vs 0"}


def _space(space: Any) -> str:
    if not isinstance(space, dict) or not space:
        return "—"
    parts = []
    for name, spec in sorted(space.items()):
        if spec is None:
            parts.append(f"{name}: not tuned")
        elif isinstance(spec, dict) and "low" in spec and "high" in spec:
            parts.append(f"{name} ∈ [{spec['low']:g}, {spec['high']:g}]" + (" (log)" if spec.get("log") else ""))
        elif isinstance(spec, dict) and "choices" in spec:
            parts.append(f"{name} ∈ {{{', '.join(map(str, spec['choices']))}}}")
        else:
            parts.append(f"{name}: {json.dumps(spec, default=str)}")
    return "; ".join(parts)


def tuning_lines(analyses: list[Analysis]) -> list[str]:
    protocols = list(dict.fromkeys(a.config.tuning_key for a in analyses if a.config.tuning is not None))
    untuned = sum(1 for a in analyses if a.config.tuning is None)
    if not protocols:
        return ["- tuning: none — every configuration trained with the grid's settings"]
    out = []
    for key in protocols:
        t = json.loads(key)
        n = sum(1 for a in analyses if a.config.tuning_key == key)
        out.append(f"- tuning ({n} configurations): budget {t.get('trials', '?')} trials per configuration, sampler "
                   f"{escape(t.get('sampler', '?'))}, pruner {escape(t.get('pruner', '?'))}, seed {t.get('seed', '?')}; "
                   f"search space: {escape(_space(t.get('space')))}"
                   + ("; component search spaces declared by the plugins" if t.get("components") else "")
                   + ("; first trial: the untuned settings" if t.get("first_trial") == "untuned"
                      else "; first trial: sampled (a study begun before the untuned first trial)")
                   + (f"; objective: {escape(t['objective'])}" if t.get("objective") else ""))
    if untuned:
        out.append(f"- untuned: {untuned} configurations trained with the grid's settings (shown beside their tuned runs)")
    return out


def split_line(analyses: list[Analysis]) -> str:
    with_split = [a for a in analyses if a.config.split_seeds]
    if not with_split:
        return ("- data split: one fixed split (train/validation/test); intervals and tests cover training seeds only, "
                "not the variation between splits")
    if len(with_split) < len(analyses):
        return (f"- data split: train/validation redrawn per seed for {len(with_split)} of {len(analyses)} configurations, "
                "around one fixed test split (the others use one fixed split: their intervals cover training seeds only)")
    return ("- data split: train/validation redrawn per seed (`split_seed`) around one fixed test split, so no validation "
            "row used for tuning or selection reaches a test split; intervals and tests cover training seeds and "
            "train/validation draws, on that test split")


def tests_line(comparisons: list[Comparison], method: str, claims: ClaimsSpec) -> str:
    """The header line on the tests: the declared families, their margins, the adjustment and the metric set."""
    primary = ", ".join(f"{SHORT_KIND[k]} (±{claims.margins[k]:g} Δm% points)" for k in claims.families) or "none"
    line = (f"- tests: paired t-test per comparison (difference) and TOST (equivalence within ±margin), p-values "
            f"adjusted by {METHODS[method]} inside each declared family — primary families (declared in the grid's "
            f"`claims:` before the run): {primary}; anything else is exploratory, adjusted separately; α = "
            f"{claims.alpha:g}; exact sign-flip p kept as a robustness column")
    metric_text = ("each task's main metric" if claims.metrics == "main" else "every stored metric per task")
    return line + f"\n- metric set (Δm%, gains, picks): {metric_text} (`claims: {{metrics: {claims.metrics}}}`)"


def _verdict_cell(c: Comparison) -> str:
    if c.identical_to:
        return f"{c.verdict} (the same model as {escape(c.identical_to)}; not in the family's adjustment)"
    if c.excluded:
        return f"excluded ({escape(c.excluded)})"
    return f"**{c.verdict}**" if c.verdict in ("better", "worse", "equivalent") else c.verdict


def tests_section(comparisons: list[Comparison], level: str) -> list[str]:
    """Every comparison of one dataset: family, effect with its interval, t-test p raw and adjusted, TOST p
    adjusted, the sign-flip p, MDE and verdict."""
    if not comparisons:
        return []
    rows = []
    order = {k: i for i, k in enumerate(KINDS)}
    for c in sorted(comparisons, key=lambda c: (order[c.kind], c.p_adjusted if math.isfinite(c.p_adjusted) else 2.0, c.label)):
        r = c.result
        if r is None:
            rows.append([SHORT_KIND[c.kind], escape(c.family), escape(c.label), escape(c.reference), "0",
                         "no paired seeds", "—", "—", "—", "—", "—", "—", "not tested"])
            continue
        rows.append([SHORT_KIND[c.kind], escape(c.family), escape(c.label), escape(c.reference), str(r.n_pairs),
                     fmt_interval(r.effect, True, 2), fmt_p(r.p_value), fmt_p(c.p_adjusted),
                     f"±{c.margin:g}" if math.isfinite(c.margin) else "—", fmt_p(c.p_equivalence_adjusted),
                     fmt_p(r.p_signflip), number(c.mde, False, 2) if math.isfinite(c.mde) else "—", _verdict_cell(c)])
    headers = ["comparison", "family", "configuration", "reference", "n", "effect (Δm% points)", "p (t-test)",
               "p adjusted", "margin", "p equivalence adjusted", "p (sign-flip)", "MDE", "verdict"]
    summary = tally_text(comparisons)
    return [f"{level} Paired tests", "",
            f"{len(comparisons)} comparisons: {summary}.", "",
            tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), "",
            "effect: the mean over paired seeds of the per-seed score (Δm% vs 0: the row's Δm% against its baselines' "
            "same seed; gain vs 0: the same against the single-modal reference; vs EW: the row's Δm% minus the EW "
            "row's) ± its 95% t interval. p (t-test): the two-sided paired t-test of the per-seed scores (it assumes "
            "them independent and, under H0, symmetric about 0 and close to normal); p adjusted: inside the "
            "comparison's family; p equivalence adjusted: TOST (two one-sided t-tests) against ±margin, adjusted "
            "inside the family; p (sign-flip): the exact permutation p (no normality assumed; robustness check, not "
            "adjusted). MDE: the smallest true effect the t-test detects with 80% power at the family's adjusted "
            "level α/m, from the family's pooled per-seed SD. verdict: better/worse when the adjusted difference p ≤ "
            "α, else equivalent when the adjusted TOST p ≤ α, else inconclusive; excluded: the reference is at "
            "chance (shown, not claimed); identical: the configuration has the same per-seed scores as another of "
            "its context, whose comparisons stand for it (shown, not counted; EW's twin is equivalent to EW).", ""]


def pooled_section(rows: list[PooledVerdict], level: str) -> list[str]:
    """Per weighting (vs EW) and per fuser (gain vs 0): the pooled verdict over the page's contexts (exploratory)."""
    if not rows:
        return []
    table = [[r.kind, escape(r.value), str(r.contexts), str(r.n), number(r.mean, True, 2), fmt_p(r.p_value),
              fmt_p(r.p_adjusted), fmt_p(r.p_equivalence_adjusted), r.verdict] for r in rows]
    headers = ["kind", "value", "contexts", "seeds", "mean per-seed score (Δm% points)", "p (t-test)", "p adjusted",
               "p equivalence adjusted", "verdict"]
    return [f"{level} Pooled verdicts (exploratory)", "",
            tabulate(table, headers=headers, tablefmt="github", disable_numparse=True), "",
            "Per weighting: its vs-EW per-seed scores averaged over the contexts (architecture, modalities, encoders, "
            "aligner, fuser) where it ran, seed by seed; per fuser: its cross-modal gains likewise. Paired t-test of "
            "those per-seed means against 0 and TOST against the kind's margin, adjusted together by "
            "Benjamini–Hochberg over this table — exploratory: not a declared family.", ""]


def aggregates_section(aggs: list[KindAggregate], level: str) -> list[str]:
    """One table per component kind: IQM of normalised scores and P(X > reference), with 95% intervals."""
    aggs = [g for g in aggs if g.values]
    if not aggs:
        return []
    out = [f"{level} Aggregates per component (rliable)", ""]
    for g in aggs:
        ref = escape(g.reference) if g.reference else "—"
        rows = [[escape(v.value) + (" (reference)" if v.value == g.reference else ""), str(v.configurations),
                 str(v.scores), fmt_estimate(v.iqm), fmt_estimate(v.poi, False)] for v in g.values]
        headers = [g.kind, "configurations", "scores", "IQM normalised score % ↑", f"P(X > {ref}) ↑"]
        dropped = f" ({g.dropped_columns} columns left out: not every {g.kind} ran there)" if g.dropped_columns else ""
        out += [f"{level}# By {g.kind}", "", f"{len(g.columns)} columns (context × task) shared by every {g.kind}{dropped}.",
                "", tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), ""]
    out += ["Normalised score per task and seed: 100 · (−1)^l (N − B) / B of the main metric, B = the mean of the "
            "reference every value of the kind shares (weighting, architecture: the single-task baseline; fuser, "
            "aligner: the best single-task single-modal configuration on the task). IQM: 25% trimmed mean; "
            "P(X > Y): per column P(score_X > score_Y) (Mann–Whitney U / n_X n_Y), averaged over columns; 95% "
            "percentile intervals from a stratified bootstrap (runs resampled within each column, 2,000 resamples). "
            "After Agarwal et al., NeurIPS 2021 (rliable); performance profiles in the plots.", ""]
    return out


def _compact(hparams: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(hparams.items()))


def tuning_section(analyses: list[Analysis]) -> list[str]:
    tuned = [a for a in analyses if a.config.tuning is not None or a.config.hparams]
    if not tuned:
        return []
    rows = []
    for a in tuned:
        c = a.config
        sets = list(dict.fromkeys(_compact(h) for h in c.hparams.values()))
        chosen = " / ".join(sets) if sets else "—"
        runs = list(c.tuning_result.values())
        first = runs[0] if runs else {}
        pruned = str(first.get("pruned", "—")) + (f" ({first['failed']} failed)" if first.get("failed") else "")
        trial = f"{first.get('trial', '?')} of {first.get('budget', (c.tuning or {}).get('trials', '?'))}" if first else "—"
        value = first.get("value")
        rows.append([escape(c.label), escape(chosen), trial, pruned,
                     number(float(value)) if isinstance(value, (int, float)) else "—"])
    return ["## Tuning", "", tabulate(rows, headers=["configuration", "chosen hyperparameters", "best trial",
                                                      "pruned trials", "objective (validation)"],
                                      tablefmt="github", disable_numparse=True), "",
            "Hyperparameters chosen on validation by the tuning protocol in the header, then trained with fresh "
            "seeds; \"a / b\" when the seeds of a configuration were given different values.", ""]


def retrieval_table(group: list[Analysis]) -> str:
    """Recall@1/5 both ways and MRR of every configuration with retrieval scores, per modality pair."""
    metrics = ("a2b_recall@1", "b2a_recall@1", "a2b_recall@5", "b2a_recall@5", "mrr")
    rows = []
    for a in group:
        for pair in dict.fromkeys(p for p, _ in a.retrieval):
            rows.append([escape(a.config.label), escape(pair)] + [fmt_interval(a.retrieval[(pair, m)]) if (pair, m) in a.retrieval else "—" for m in metrics])
    sizes = sorted({n for a in group for n in (s.get("test") for s in a.config.sizes.values()) if n})
    if sizes:  # a random ranking of the test split: what collapsed embeddings score
        chance = scoring.retrieval_chance(sizes[0])
        label = f"chance (random ranking of {sizes[0]:,} test items)" + (" (smallest split)" if len(sizes) > 1 else "")
        rows.append([label, "—"] + [f"{chance[m]:.3f}" for m in metrics])
    headers = ["configuration", "pair (a-b)"] + [escape(m) + " ↑" for m in metrics]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def failed_table(failed: list[FailedCell]) -> str:
    """Every failed cell with (the start of) its error."""
    if not failed:
        return "None: every stored cell finished ok."
    rows = [[escape(f.label), escape(f.error[:500])] for f in failed]
    return tabulate(rows, headers=["cell", "error"], tablefmt="github", disable_numparse=True)
