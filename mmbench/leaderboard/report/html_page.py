"""The HTML pages of a leaderboard site: a page per dataset (provenance, links, the configurations table with a
test/validation toggle, verdict badges and the tied tier shaded, the interactive plots of :mod:`.html_plots`, the
paired comparisons, the failed cells) and the index (every page, and every configuration with a dataset filter).

Pages render the same :class:`~mmbench.leaderboard.analysis.Analysis` objects and flat frames
(:mod:`.frames`) as the markdown report. The verdicts are the frames' ``<comparison>.verdict`` columns
(``delta_m``, ``cross_modal_gain``, ``vs_ew``; the comparisons frame's ``verdict``) and the tier the ``tier``
column (:func:`~mmbench.leaderboard.stats.tiers.tiers`), shown when the statistics provide them: rows in the best tier of their (dataset, family) are
shaded. Every string from a run or a plugin goes through :func:`~.format.escape_html`."""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from mmbench import scoring
from mmbench.leaderboard.analysis import Analysis
from mmbench.leaderboard.load import FailedCell
from mmbench.leaderboard.report.format import arrow, escape_html, fmt_interval, fmt_p, number
from mmbench.leaderboard.report.html_assets import CSS, JS
from mmbench.leaderboard.report.texts import COST_COLUMNS, COSTS
from mmbench.leaderboard.stats.intervals import Interval, bounded_interval
from mmbench.vocabulary import FAMILIES, FAMILY_TITLES

#: the comparisons whose verdict a configuration row shows, by the column they annotate
VERDICT_COLUMNS = ("delta_m", "cross_modal_gain", "vs_ew")


def _num(value: float) -> str:
    return f"{value:.10g}" if isinstance(value, (int, float)) and math.isfinite(value) else ""


def _td(text: str, value: float | None = None, cls: str = "", **data: str) -> str:
    attrs = f' class="{cls}"' if cls else ""
    if value is not None:
        attrs += f' data-v="{_num(value)}"'
    attrs += "".join(f' data-{k}="{v}"' for k, v in data.items())
    return f"<td{attrs}>{text}</td>"


def badge(verdict: Any) -> str:
    """A verdict (better / worse / equivalent / inconclusive / others) as a coloured badge; nothing when absent."""
    if verdict is None or (isinstance(verdict, float) and math.isnan(verdict)) or verdict == "":
        return ""
    slug = "".join(ch if ch.isalnum() else "-" for ch in str(verdict).lower())
    return f'<span class="badge v-{slug}">{escape_html(verdict)}</span>'


def _main_metrics(group: list[Analysis]) -> list[tuple[str, str]]:
    tasks: dict[str, set[str]] = {}
    for a in group:
        for t in a.config.tasks:
            tasks.setdefault(t, set()).update(m for (tt, m) in a.config.test.columns if tt == t)
    return [(t, scoring.main_metric(ms)) for t, ms in tasks.items() if ms]


def _validation(a: Analysis, key: tuple[str, str]) -> Interval | None:
    frame = a.config.validation
    return bounded_interval(frame[key].to_numpy(), key[1]) if key in frame.columns else None


def _score_cell(a: Analysis, key: tuple[str, str]) -> str:
    test, val = a.metrics.get(key), _validation(a, key)
    t_text = fmt_interval(test) if test else "—"
    v_text = fmt_interval(val) if val else "—"
    return _td(f'<span class="s-test">{t_text}</span><span class="s-val">{v_text}</span>', cls="num",
               test=_num(test.mean) if test else "", val=_num(val.mean) if val else "")


def _tier_column(frame: pd.DataFrame) -> str | None:
    return "tier" if "tier" in frame.columns else None


def _top_tier(analyses: list[Analysis], frame: pd.DataFrame, column: str | None) -> set[int]:
    """Rows in the best (lowest) tier of their (dataset, family)."""
    if column is None:
        return set()
    tiers = pd.to_numeric(frame[column], errors="coerce")
    best: dict[tuple[str, str], float] = {}
    for a, t in zip(analyses, tiers):
        if math.isfinite(t):
            k = (a.config.dataset, a.config.family)
            best[k] = min(best.get(k, math.inf), t)
    return {i for i, (a, t) in enumerate(zip(analyses, tiers))
            if math.isfinite(t) and t == best.get((a.config.dataset, a.config.family))}


def configurations_table(analyses: list[Analysis], frame: pd.DataFrame, table_id: str, with_dataset: bool = False) -> str:
    """Every configuration in one sortable table (``frame``: :func:`.frames.frame` of ``analyses``, row by row)."""
    metrics = _main_metrics(analyses)
    tier = _tier_column(frame)
    top = _top_tier(analyses, frame, tier)
    head = (["dataset"] if with_dataset else []) + ["family", "configuration", "seeds"]
    head += [f"{t} {m}{arrow(scoring.direction(m))}" for t, m in metrics]
    head += ["Δm%" + arrow(1), "cross-modal gain%" + arrow(1), "vs EW (Δm% points)"] + (["tier"] if tier else [])
    head += ["mean rank" + arrow(-1)] + [header + arrow(-1) for _, header, _ in COST_COLUMNS]
    rows = []
    for i, a in enumerate(analyses):
        c, rec = a.config, frame.iloc[i].to_dict() if i < len(frame) else {}
        comps = " ".join(str(x) for x in ("+".join(c.modalities), c.encoders_label, c.aligner, c.fuser, c.architecture,
                                          c.weighting) if x).lower()
        cells = [_td(escape_html(c.dataset)) for _ in range(with_dataset)]
        cells += [_td(escape_html(c.family)), _td(escape_html(c.label.split("] ", 1)[-1])),
                  _td(str(len(c.seeds)) + (f" (+{len(c.failed_seeds)} failed)" if c.failed_seeds else ""), len(c.seeds))]
        cells += [_score_cell(a, key) for key in metrics]
        for name, iv in (("delta_m", a.delta_m), ("cross_modal_gain", a.cross_modal_gain)):
            cells.append(_td(fmt_interval(iv, True, 2) + badge(rec.get(f"{name}.verdict")), iv.mean, "num"))
        ew = a.vs_ew.result.effect if a.vs_ew is not None and a.vs_ew.result is not None else None
        ew_text = "(EW)" if c.weighting == "ew" else fmt_interval(ew, True, 2) if ew else "—"
        cells.append(_td(ew_text + badge(rec.get("vs_ew.verdict")), ew.mean if ew else math.nan, "num"))
        if tier:
            t = pd.to_numeric(rec.get(tier), errors="coerce")
            cells.append(_td(escape_html(rec.get(tier)) if math.isfinite(t) else "—", t, "num"))
        cells.append(_td(number(a.mean_rank, decimals=2) if math.isfinite(a.mean_rank) else "—", a.mean_rank, "num"))
        for key, _, dec in COST_COLUMNS:
            v = a.cost.get(key, math.nan)
            cells.append(_td(number(v, decimals=dec) if math.isfinite(v) else "—", v, "num"))
        cls = ' class="top-tier"' if i in top else ""
        rows.append(f'<tr{cls} data-family="{escape_html(c.family)}" data-dataset="{escape_html(c.dataset)}" '
                    f'data-components="{escape_html(comps)}">' + "".join(cells) + "</tr>")
    header = "".join(f"<th>{escape_html(h)}</th>" for h in head)
    return (f'<div class="scroll"><table class="lb" id="{table_id}"><thead><tr>{header}</tr></thead>'
            f'<tbody>\n' + "\n".join(rows) + "\n</tbody></table></div>")


def comparisons_table(cframe: pd.DataFrame, table_id: str) -> str:
    """One row per paired comparison: effect with its interval, p, adjusted p and the verdict badge."""
    head = ["kind", "family", "configuration", "reference", "effect", "n pairs", "p", "p adjusted", "verdict"]
    rows = []
    for rec in cframe.to_dict(orient="records"):
        eff, low, high = (rec.get(k, math.nan) for k in ("effect", "effect.ci_low", "effect.ci_high"))
        eff_text = "—" if not isinstance(eff, float) or not math.isfinite(eff) else (
            number(eff, True, 2) + (f" [{number(low, True, 2)}, {number(high, True, 2)}]" if math.isfinite(low) else ""))
        p, padj = (rec.get(k, math.nan) for k in ("p_value", "p_adjusted"))
        cells = [_td(escape_html(rec.get("kind"))), _td(escape_html(rec.get("family"))),
                 _td(escape_html(str(rec.get("label")).split("] ", 1)[-1])), _td(escape_html(rec.get("reference"))),
                 _td(eff_text, eff, "num"), _td(str(rec.get("n_pairs", "")), rec.get("n_pairs"), "num"),
                 _td(fmt_p(p), p, "num"), _td(fmt_p(padj), padj, "num"),
                 _td(badge(rec.get("verdict")) or "—", **{"v": escape_html(rec.get("verdict") or "")})]
        comps = escape_html(str(rec.get("label")).lower())
        rows.append(f'<tr data-family="{escape_html(rec.get("family"))}" data-dataset="{escape_html(rec.get("dataset"))}" '
                    f'data-components="{comps}">' + "".join(cells) + "</tr>")
    header = "".join(f"<th>{h}</th>" for h in head)
    return (f'<div class="scroll"><table class="lb" id="{table_id}"><thead><tr>{header}</tr></thead><tbody>\n'
            + "\n".join(rows) + "\n</tbody></table></div>")


def failed_table(failed: list[FailedCell]) -> str:
    if not failed:
        return "<p>None.</p>"
    rows = "".join(f"<tr><td>{escape_html(f.family)}</td><td>{f.seed}</td><td>{escape_html(f.label)}</td>"
                   f"<td>{escape_html(f.error)}</td></tr>" for f in failed)
    return ('<div class="scroll"><table class="lb" id="failed"><thead><tr><th>family</th><th>seed</th><th>cell</th>'
            f"<th>error</th></tr></thead><tbody>{rows}</tbody></table></div>")


def controls(table_id: str, families: list[str], datasets: list[str] | None = None, split: bool = True) -> str:
    """The filter box of a table: family (and dataset) selects, a component search, the split toggle."""
    def select(name: str, values: list[str], title: str) -> str:
        opts = "".join(f'<option value="{escape_html(v.lower())}">{escape_html(v)}</option>' for v in values)
        return f'<label>{title} <select data-filter="{name}"><option value="">all</option>{opts}</select></label>'

    parts = [select("family", [f for f in FAMILIES if f in families], "family")]
    if datasets:
        parts.append(select("dataset", datasets, "dataset"))
    parts.append('<label>component <input type="search" data-filter="component" placeholder="e.g. concat, uw"></label>')
    if split:
        parts.append('<span>scores: <label><input type="radio" name="split" value="test" checked> test</label> '
                     '<label><input type="radio" name="split" value="val"> validation</label></span>')
    parts.append('<span class="count"></span>')
    return f'<div class="controls" data-for="{table_id}">' + "".join(parts) + "</div>"


def provenance(facts: dict[str, str], links: dict[str, str]) -> str:
    """A definition list of ``facts`` (already final text, escaped here) and the links (label → relative URL)."""
    items = "".join(f"<dt>{escape_html(k)}</dt><dd>{escape_html(v)}</dd>" for k, v in facts.items())
    if links:
        items += "<dt>files</dt><dd>" + " · ".join(f'<a href="{escape_html(url)}">{escape_html(label)}</a>'
                                                   for label, url in links.items()) + "</dd>"
    return f'<dl class="prov">{items}</dl>'


def document(title: str, body: str, plotly: bool = True) -> str:
    """A whole page: the style sheet and the table script inline, Plotly (when it has plots) from
    ``assets/plotly.min.js``."""
    script = '<script src="assets/plotly.min.js"></script>' if plotly else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape_html(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
            f'<style>{CSS}</style>{script}</head>\n'
            f"<body>\n{body}\n<script>{JS}</script>\n</body></html>\n")


def dataset_page(dataset: str, analyses: list[Analysis], frame: pd.DataFrame, cframe: pd.DataFrame,
                 failed: list[FailedCell], plots: list[str], facts: dict[str, str], links: dict[str, str]) -> str:
    """The page of one dataset (``frame``/``cframe``: its rows of the configurations and comparisons frames)."""
    families = list(dict.fromkeys(a.config.family for a in analyses))
    legend = ", ".join(f"<code>{f}</code> {escape_html(FAMILY_TITLES[f])}" for f in FAMILIES if f in families)
    body = [f'<p><a href="index.html">← all leaderboards</a></p><h1>Leaderboard: {escape_html(dataset)}</h1>',
            provenance(facts, links), "<h2>Configurations</h2>",
            f'<p class="note">Families: {legend}. Mean ± 95% Student-t half-width over seeds (bracketed where a bound '
            "was clipped to the metric's range); Δm% and the cross-modal gain against the single-task and single-modal "
            "references; badges are the verdicts of the adjusted paired tests, and shaded rows are the statistically "
            "tied top tier of their family where the statistics give tiers. Click a header to sort.</p>",
            '<p class="note">' + re.sub(r"`([^`]+)`", r"<code>\1</code>", escape_html(COSTS)) + "</p>",
            controls("configs", families), configurations_table(analyses, frame, "configs")]
    if plots:
        body += ["<h2>Plots</h2>"] + [f'<div class="plot">{p}</div>' for p in plots]
    if len(cframe):
        body += ["<h2>Paired comparisons</h2>", '<p class="note">Effect with its 95% interval; p-values adjusted by '
                 "Benjamini–Hochberg inside each family (the families the grid declared before the run; every other "
                 "comparison is exploratory and adjusted on its own; the markdown page gives the procedure).</p>",
                 controls("comparisons", list(dict.fromkeys(cframe["family"])), split=False),
                 comparisons_table(cframe, "comparisons")]
    body += [f"<h2>Failed cells ({len(failed)})</h2>", failed_table(failed)]
    return document(f"mmbench leaderboard: {dataset}", "\n".join(body), plotly=bool(plots))


def index_page(pages: list[tuple[str, str, str]], analyses: list[Analysis], frame: pd.DataFrame, note: str = "") -> str:
    """The index: ``pages`` (dataset, relative URL, one-line summary) and every configuration of every page."""
    items = "".join(f'<li><a href="{escape_html(url)}">{escape_html(name)}</a> — {escape_html(summary)}</li>'
                    for name, url, summary in pages)
    datasets = list(dict.fromkeys(a.config.dataset for a in analyses))
    body = ["<h1>mmbench leaderboards</h1>", f'<p class="note">{escape_html(note)}</p>' if note else "",
            f"<ul>{items}</ul>", "<h2>Every configuration</h2>",
            controls("all", list(dict.fromkeys(a.config.family for a in analyses)), datasets),
            configurations_table(analyses, frame, "all", with_dataset=True)]
    return document("mmbench leaderboards", "\n".join(body), plotly=False)
