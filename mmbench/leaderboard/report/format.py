"""Formatting shared by every leaderboard section and rendering: escaping (markdown and HTML), numbers, intervals
and estimates, p-values, ↑/↓, bold-best tables."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from tabulate import tabulate

from mmbench.leaderboard.stats.families import VERDICTS, counts, is_ew_clone
from mmbench.leaderboard.stats.intervals import Interval
from mmbench.leaderboard.stats.tiers import tied_with_best

_SPECIAL = set("\\`*_[]<>|~&!#")


def escape(text: Any) -> str:
    """Escape markdown-significant characters (``|`` included) and fold whitespace, for a table cell."""
    return "".join("\\" + ch if ch in _SPECIAL else ch for ch in " ".join(str(text).split()))


def escape_html(text: Any) -> str:
    """Text from a run or a plugin made safe inside HTML element text and quoted attributes (``html.escape``)."""
    return html.escape(str(text), quote=True)


def _decimals(value: float) -> int:
    return 3 if abs(value) < 10 else 2 if abs(value) < 1000 else 0


def number(value: float, signed: bool = False, decimals: int | None = None) -> str:
    """``value`` with thousands separators; ``decimals`` defaults to 3 below 10, 2 below 1,000, else 0."""
    if decimals is None:
        decimals = _decimals(value)
    return f"{value:+,.{decimals}f}" if signed else f"{value:,.{decimals}f}"


def arrow(direction: int) -> str:
    """A column header's direction: `` ↑`` (higher is better, 1), `` ↓`` (lower, −1), nothing for 0."""
    return {1: " ↑", -1: " ↓"}.get(direction, "")


def fmt_interval(iv: Interval, signed: bool = False, decimals: int | None = None) -> str:
    """``mean ± half-width``; ``mean [low, high]`` when a bound was clipped to the metric's range; ``mean (n=2)``
    when there are too few values for an interval; ``—`` when there is no value."""
    if iv.n == 0 or not math.isfinite(iv.mean):
        return "—"
    decimals = _decimals(iv.mean) if decimals is None else decimals
    text = number(iv.mean, signed, decimals)
    if not iv.has_bounds:
        return f"{text} (n={iv.n})"
    if iv.clipped:
        return f"{text} [{number(iv.low, signed, decimals)}, {number(iv.high, signed, decimals)}]"
    return f"{text} ± {number(iv.half_width, False, decimals)}"


def fmt_estimate(e: Any, signed: bool = True, decimals: int = 2) -> str:
    """A bootstrap estimate (``value``, ``low``, ``high``): ``value [low, high]``, ``value`` without bounds,
    ``—`` when there is none."""
    if e is None or not math.isfinite(e.value):
        return "—"
    text = number(e.value, signed, decimals)
    if math.isfinite(e.low) and math.isfinite(e.high):
        text += f" [{number(e.low, signed, decimals)}, {number(e.high, signed, decimals)}]"
    return text


def fmt_p(p: float) -> str:
    """A p-value: three decimals, ``<0.001`` below that, ``—`` when there is none."""
    if not math.isfinite(p):
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def too_few(n: int) -> str:
    return f"too few seeds to test (n={n}; the t-test needs 2)"


@dataclass
class Column:
    """A table column: header, direction (1 higher better, −1 lower better, 0 none), value for bold, text."""

    header: str
    direction: int
    value: Callable[[Any], float]
    text: Callable[[Any], str]
    #: per-seed values (a Series indexed by seed) for the tied-tier test, or ``None``: no tiers in this column
    samples: Callable[[Any], Any] | None = None


#: appended to a cell whose difference from its column's best is not established (:mod:`..stats.tiers`)
TIED_MARK = "≈"


def bold_table(cols: list[Column], group: list[Any]) -> str:
    """A GitHub table of ``cols`` over ``group``, the best value of each directed column in bold."""
    cells = [[col.text(a) for col in cols] for a in group]
    for j, col in enumerate(cols):
        if not col.direction:
            continue
        values = np.array([col.value(a) for a in group], dtype=float)
        finite = values[np.isfinite(values)]
        if len(finite) < 2 or np.ptp(finite) == 0:  # nothing to single out
            continue
        top = finite.max() if col.direction > 0 else finite.min()
        best = [i for i, v in enumerate(values) if np.isfinite(v) and np.isclose(v, top, rtol=1e-12, atol=0.0)]
        for i in best:
            cells[i][j] = f"**{cells[i][j]}**"
        if col.samples is not None:
            for i, tied in enumerate(tied_with_best([col.samples(a) for a in group], best[0])):
                if tied and i not in best:
                    cells[i][j] += f" {TIED_MARK}"
    return tabulate(cells, headers=[c.header for c in cols], tablefmt="github", disable_numparse=True)


def tally_text(comps: list[Any]) -> str:
    """``2 worse, 17 inconclusive; twins not counted: 4 = EW (equivalent), 1 identical``: the verdict counts of the
    comparisons that count, then those of configurations identical to another (EW's twins are equivalent to it
    by construction; the others' verdict is ``identical``)."""
    tally = counts([c for c in comps if not c.identical_to])
    text = ", ".join(f"{tally[v]} {v}" for v in VERDICTS if tally[v]) or "none"
    twins = [c for c in comps if c.identical_to]
    if twins:
        clones = sum(1 for c in twins if is_ew_clone(c))
        parts = ([f"{clones} = EW (equivalent)"] if clones else []) + (
            [f"{len(twins) - clones} identical"] if len(twins) > clones else [])
        text += "; twins not counted: " + ", ".join(parts)
    return text
