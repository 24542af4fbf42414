"""Formatting shared by every leaderboard section: escaping, numbers with intervals, bold-best tables."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from tabulate import tabulate

from mmbench.leaderboard.stats import Interval

_SPECIAL = set("\\`*_[]<>|~&!#")


def escape(text: Any) -> str:
    """Escape markdown-significant characters (``|`` included) and fold whitespace, for a table cell."""
    return "".join("\\" + ch if ch in _SPECIAL else ch for ch in " ".join(str(text).split()))


def _num(value: float, signed: bool = False, decimals: int | None = None) -> str:
    if decimals is None:
        decimals = 3 if abs(value) < 10 else 2 if abs(value) < 1000 else 0
    return f"{value:+,.{decimals}f}" if signed else f"{value:,.{decimals}f}"


def _decimals(value: float) -> int:
    return 3 if abs(value) < 10 else 2 if abs(value) < 1000 else 0


def fmt_interval(iv: Interval, signed: bool = False, decimals: int | None = None) -> str:
    """``mean ± half-width``; ``mean [low, high]`` when a bound was clipped to the metric's range; ``mean (n=2)``
    when there are too few values for an interval; ``—`` when there is no value."""
    if iv.n == 0 or not math.isfinite(iv.mean):
        return "—"
    decimals = _decimals(iv.mean) if decimals is None else decimals
    text = _num(iv.mean, signed, decimals)
    if not iv.has_bounds:
        return f"{text} (n={iv.n})"
    if iv.clipped:
        return f"{text} [{_num(iv.low, signed, decimals)}, {_num(iv.high, signed, decimals)}]"
    return f"{text} ± {_num(iv.half_width, False, decimals)}"


def fmt_p(p: float) -> str:
    """A p-value: three decimals, ``<0.001`` below that, ``—`` when there is none."""
    if not math.isfinite(p):
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def too_few(n: int, min_p: float) -> str:
    return f"too few seeds to test (n={n}, min p={fmt_p(min_p)})"


@dataclass
class Column:
    """A table column: header, direction (1 higher better, −1 lower better, 0 none), value for bold, text."""

    header: str
    direction: int
    value: Callable[[Any], float]
    text: Callable[[Any], str]


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
        for i, v in enumerate(values):
            if np.isfinite(v) and np.isclose(v, top, rtol=1e-12, atol=0.0):
                cells[i][j] = f"**{cells[i][j]}**"
    return tabulate(cells, headers=[c.header for c in cols], tablefmt="github", disable_numparse=True)


