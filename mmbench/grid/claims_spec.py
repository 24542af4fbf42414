"""A grid's ``claims:`` block: the families of comparisons its leaderboard claims about, declared before the run.

    claims:
      families: [vs_ew, delta_m, cross_modal_gain]   # primary families, each adjusted by BH inside itself
      margins: {vs_ew: 1.0, delta_m: 1.0, gain: 1.0}  # equivalence margins (±, Δm% points)
      metrics: main                                   # main | all: the metrics Δm%, gains, aggregates and picks use
      alpha: 0.05

Every comparison of a kind not listed in ``families`` is *exploratory*: adjusted separately, labelled so on the
page. The runner stores :meth:`ClaimsSpec.as_dict` in the run's ``grid`` meta, so the leaderboard reads the families
declared before the run (docs/leaderboards.md, "Declared families"; the default margins are justified there).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

#: the comparison kinds a page makes, and the margin key of each (the ``margins:`` block's names)
FAMILIES = ("vs_ew", "delta_m", "cross_modal_gain")
MARGIN_KEYS = {"vs_ew": "vs_ew", "delta_m": "delta_m", "gain": "cross_modal_gain"}
#: ± equivalence margins in Δm% points (every comparison's per-seed score is a Δm%-style relative change × 100):
#: 1 point of Δm% for a weighting vs EW and for multitask vs single-task; 1 point of gain = a relative change of
#: 0.01 of the single-modal reference's score
DEFAULT_MARGINS = {"vs_ew": 1.0, "delta_m": 1.0, "cross_modal_gain": 1.0}
METRIC_SETS = ("main", "all")
KEYS = ("families", "margins", "metrics", "alpha")


class ClaimsSpecError(ValueError):
    """A ``claims:`` block that cannot be used; the message names the key and the fix."""


@dataclass(frozen=True)
class ClaimsSpec:
    """Declared families, their margins, the metric set and α (defaults: every family, 1 point, main, 0.05)."""

    families: tuple[str, ...] = FAMILIES
    margins: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MARGINS))
    metrics: str = "main"
    alpha: float = 0.05

    def as_dict(self) -> dict[str, Any]:
        """What the run's meta stores (and :func:`parse_claims` reads back)."""
        back = {v: k for k, v in MARGIN_KEYS.items()}
        return {"families": list(self.families), "margins": {back[k]: v for k, v in self.margins.items()},
                "metrics": self.metrics, "alpha": self.alpha}


def _close(word: str, options: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; valid: {', '.join(options)}"


def parse_claims(raw: Any) -> ClaimsSpec:
    """Validate a ``claims:`` mapping (``None``: the defaults)."""
    if raw is None or raw is True:
        return ClaimsSpec()
    if not isinstance(raw, dict):
        raise ClaimsSpecError(f"claims must be a mapping of {', '.join(KEYS)}, got {raw!r}")
    for key in raw:
        if key not in KEYS:
            raise ClaimsSpecError(f"claims: unknown key {key!r}{_close(str(key), KEYS)}")
    fams = raw.get("families", list(FAMILIES))
    fams = [fams] if isinstance(fams, str) else list(fams or [])
    for f in fams:
        if f not in FAMILIES:
            raise ClaimsSpecError(f"claims.families: unknown family {f!r}{_close(str(f), FAMILIES)}")
    margins = dict(DEFAULT_MARGINS)
    given = raw.get("margins") or {}
    if not isinstance(given, dict):
        raise ClaimsSpecError(f"claims.margins must map {', '.join(MARGIN_KEYS)} to a positive number, got {given!r}")
    for key, value in given.items():
        if key not in MARGIN_KEYS:
            raise ClaimsSpecError(f"claims.margins: unknown margin {key!r}{_close(str(key), tuple(MARGIN_KEYS))}")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ClaimsSpecError(f"claims.margins.{key} must be a positive number (Δm% points), got {value!r}")
        margins[MARGIN_KEYS[key]] = float(value)
    metrics = raw.get("metrics", "main")
    if metrics not in METRIC_SETS:
        raise ClaimsSpecError(f"claims.metrics: unknown metric set {metrics!r}{_close(str(metrics), METRIC_SETS)}")
    alpha = raw.get("alpha", 0.05)
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not 0 < alpha < 1:
        raise ClaimsSpecError(f"claims.alpha must be a number in (0, 1), got {alpha!r}")
    return ClaimsSpec(tuple(dict.fromkeys(fams)), margins, str(metrics), float(alpha))
