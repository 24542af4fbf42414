"""Markdown sections beside the family tables: the header lines on splits, tuning and tests; the paired tests;
the rliable aggregates; the tuning table."""

from __future__ import annotations

import json
import math
from typing import Any

from tabulate import tabulate

from mmbench.leaderboard.aggregates import KindAggregate
from mmbench.leaderboard.comparisons import KINDS, Comparison
from mmbench.leaderboard.format import _num, escape, fmt_interval, fmt_p, too_few
from mmbench.leaderboard.multiplicity import METHODS
from mmbench.leaderboard.significance import ALPHA, min_p_value
from mmbench.leaderboard.table import Analysis

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
        return (f"- data split: redrawn per seed for {len(with_split)} of {len(analyses)} configurations (the others use "
                "one fixed split: their intervals cover training seeds only)")
    return "- data split: redrawn per seed (`split_seed`); intervals and tests cover training seeds and data splits"


def tests_line(comparisons: list[Comparison], method: str) -> str:
    tested = [c for c in comparisons if c.result is not None]
    line = (f"- tests: per comparison a paired two-sided sign-flip permutation test (and a paired t-test); the "
            f"{len(tested)} p-values on this page are adjusted together by {METHODS[method]}; a claim needs an "
            f"adjusted p ≤ {ALPHA}")
    if tested:
        n = max(c.n_pairs for c in tested)
        if min_p_value(n) > ALPHA:
            line += (f". With at most {n} paired seeds the smallest possible p is {fmt_p(min_p_value(n))}: too few "
                     "seeds to test — nothing on this page can be significant (6 seeds are the fewest that can reach "
                     "p < 0.05)")
    return line


def tests_section(comparisons: list[Comparison], level: str) -> list[str]:
    """Every comparison of one dataset: effect with its interval, raw and adjusted p, the t-test's p."""
    if not comparisons:
        return []
    rows = []
    order = {k: i for i, k in enumerate(KINDS)}
    for c in sorted(comparisons, key=lambda c: (order[c.kind], c.p_adjusted if math.isfinite(c.p_adjusted) else 2.0, c.label)):
        r = c.result
        if r is None:
            rows.append([SHORT_KIND[c.kind], escape(c.label), escape(c.reference), "0", "no paired seeds", "—", "—", "—", "—"])
            continue
        p = fmt_p(r.p_value) if c.testable else too_few(r.n_pairs, r.min_p)
        adj = fmt_p(c.p_adjusted) if c.testable else "—"
        if c.testable and c.significant():
            adj = f"**{adj}**"
        dz = f"{r.effect_size:+.2f}" if math.isfinite(r.effect_size) else "—"
        rows.append([SHORT_KIND[c.kind], escape(c.label), escape(c.reference), str(r.n_pairs),
                     fmt_interval(r.effect, True, 2), dz, p, adj, fmt_p(r.t_p_value)])
    headers = ["comparison", "configuration", "reference", "n", "effect (Δm% points)", "d_z", "p (sign-flip)",
               "p adjusted", "p (t-test)"]
    significant = sum(1 for c in comparisons if c.significant())
    tested = sum(1 for c in comparisons if c.result is not None)
    return [f"{level} Paired tests", "",
            f"{len(comparisons)} comparisons ({tested} with paired seeds), {significant} significant after adjustment "
            "(bold).", "",
            tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), "",
            "effect: the mean over paired seeds of the per-seed score (Δm% vs 0: the row's Δm% against its baselines' "
            "same seed; gain vs 0: the same against the single-modal reference; vs EW: the row's Δm% minus the EW "
            "row's) ± its 95% t interval; d_z = mean / standard deviation of the per-seed scores. p (sign-flip): exact "
            "two-sided permutation p; p adjusted: over every comparison on the page; p (t-test): the paired t-test, "
            "which assumes normally distributed per-seed scores — shown for reference, claims use the adjusted "
            "sign-flip p.", ""]


def _estimate(e: Any, decimals: int = 2, signed: bool = True) -> str:
    if e is None or not math.isfinite(e.value):
        return "—"
    text = _num(e.value, signed, decimals)
    if math.isfinite(e.low) and math.isfinite(e.high):
        text += f" [{_num(e.low, signed, decimals)}, {_num(e.high, signed, decimals)}]"
    return text


def aggregates_section(aggs: list[KindAggregate], level: str) -> list[str]:
    """One table per component kind: IQM of normalised scores and P(X > reference), with 95% intervals."""
    aggs = [g for g in aggs if g.values]
    if not aggs:
        return []
    out = [f"{level} Aggregates per component (rliable)", ""]
    for g in aggs:
        ref = escape(g.reference) if g.reference else "—"
        rows = [[escape(v.value) + (" (reference)" if v.value == g.reference else ""), str(v.configurations),
                 str(v.scores), _estimate(v.iqm), _estimate(v.poi, 2, False) if v.poi else "—"] for v in g.values]
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
                     _num(float(value)) if isinstance(value, (int, float)) else "—"])
    return ["## Tuning", "", tabulate(rows, headers=["configuration", "chosen hyperparameters", "best trial",
                                                      "pruned trials", "objective (validation)"],
                                      tablefmt="github", disable_numparse=True), "",
            "Hyperparameters chosen on validation by the tuning protocol in the header, then trained with fresh "
            "seeds; \"a / b\" when the seeds of a configuration were given different values.", ""]
