"""Robustness statistics per configuration: relative robustness, missing-modality drop and effective
robustness, each as mean ± 95% t interval over seeds (formulas: :mod:`mmbench.robustness.scores`).

**Effective robustness** needs a second configuration: the *late-fusion reference* trained in the same run
— fuser ``late``, the same dataset, training settings, robustness settings, modalities, tasks and encoders.
Among those, the aligner and weighting are matched in this order: both equal (``matched``); the same
aligner with weighting ``ew``; aligner ``none`` with the same weighting; aligner ``none`` with ``ew``
(``fallback``). Per seed, ``R − R_ref`` on the curves both have, using the reference's same seed where it
ran, else its mean over seeds. (MultiBench, Liang et al. 2021, measures against late fusion too, but as a
curve difference; Taori et al. 2020 fit robustness against clean accuracy instead — we use the same-run
late-fusion reference.) Single-modal configurations have no late-fusion reference.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmbench.leaderboard.load import Configuration
from mmbench.leaderboard.stats.intervals import Interval, t_interval

LATE = "late"


@dataclass
class RobustnessSummary:
    """One configuration's robustness scores over its seeds (keys: task, or ``(task, modality)``)."""

    levels: list[float]
    settings: dict[str, Any]
    clean: dict[str, Interval] = field(default_factory=dict)
    relative: dict[str, Interval] = field(default_factory=dict)
    relative_curves: dict[tuple[str, str], float] = field(default_factory=dict)
    effective: dict[str, Interval] = field(default_factory=dict)
    missing_drop: dict[tuple[str, str], Interval] = field(default_factory=dict)
    #: ``(modality, perturbation, task) → [seeds, levels]`` of the main metric
    curves: dict[tuple[str, str, str], np.ndarray] = field(default_factory=dict)
    main_metric: dict[str, str] = field(default_factory=dict)
    reference: Configuration | None = None
    reference_match: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = math.nan

    @property
    def is_reference(self) -> bool:
        return self.reference_match == "itself"


def settings_of(cfg: Configuration) -> Any:
    """The robustness settings a configuration was run with (``None``: not run)."""
    return json.loads(cfg.key).get("robustness")


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def late_reference(cfg: Configuration, pool: list[Configuration]) -> tuple[Configuration, str] | None:
    """The late-fusion configuration effective robustness is taken against, and how it matched."""
    if len(cfg.modalities) < 2 or not cfg.robustness:
        return None
    same = [c for c in pool if c.robustness and (c.fuser or "").split("(")[0] == LATE and c.setting == cfg.setting
            and c.modalities == cfg.modalities and c.tasks == cfg.tasks and c.encoders == cfg.encoders
            and settings_of(c) == settings_of(cfg)]
    ew = None if cfg.weighting is None else "ew"
    for aligner, weighting, how in ((cfg.aligner, cfg.weighting, "matched"), (cfg.aligner, ew, "fallback"),
                                    ("none", cfg.weighting, "fallback"), ("none", ew, "fallback")):
        for c in same:
            if (c.aligner, c.weighting) == (aligner, weighting):
                return c, ("itself" if c is cfg else how)
    return None


def _relative_per_seed(cfg: Configuration, task: str) -> dict[int, dict[str, float]]:
    return {s: {k: _num(v) for k, v in (r.get("relative", {}).get(task) or {}).items()} for s, r in cfg.robustness.items()}


def _effective(cfg: Configuration, ref: Configuration, task: str) -> Interval:
    from mmbench.robustness.scores import effective_robustness

    mine, theirs = _relative_per_seed(cfg, task), _relative_per_seed(ref, task)
    if not theirs:
        return t_interval([])
    curves = {k for per in theirs.values() for k in per}
    ref_mean = {k: float(np.nanmean([per.get(k, math.nan) for per in theirs.values()])) for k in curves}
    return t_interval([effective_robustness(per, theirs.get(seed, ref_mean)) for seed, per in sorted(mine.items())])


def summarise(cfg: Configuration, pool: list[Configuration]) -> RobustnessSummary | None:
    """Robustness statistics of ``cfg`` (``None`` when none of its cells was scored for robustness)."""
    if not cfg.robustness:
        return None
    runs = [cfg.robustness[s] for s in sorted(cfg.robustness)]
    first = runs[0]
    out = RobustnessSummary(levels=[float(v) for v in first.get("settings", {}).get("levels", [])],
                            settings=first.get("settings", {}), main_metric=dict(first.get("main_metric", {})))
    tasks = [t for t in cfg.tasks if t in out.main_metric]
    for t in tasks:
        out.clean[t] = t_interval([_num(r.get("clean", {}).get(t)) for r in runs])
        out.relative[t] = t_interval([_num(r.get("relative_mean", {}).get(t)) for r in runs])
        for name in dict.fromkeys(k for r in runs for k in (r.get("relative", {}).get(t) or {})):
            out.relative_curves[(t, name)] = float(np.nanmean([_num((r.get("relative", {}).get(t) or {}).get(name)) for r in runs]))
        for m in cfg.modalities:
            values = [_num((r.get("missing_drop", {}).get(t) or {}).get(m)) for r in runs]
            if any(math.isfinite(v) for v in values):
                out.missing_drop[(t, m)] = t_interval(values)
    for m, per_pert in first.get("curves", {}).items():
        for pert, per_task in per_pert.items():
            for t in per_task:
                rows = [r.get("curves", {}).get(m, {}).get(pert, {}).get(t) for r in runs]
                rows = [row for row in rows if isinstance(row, list) and len(row) == len(out.levels)]
                if rows:
                    out.curves[(m, pert, t)] = np.array([[_num(v) for v in row] for row in rows])
    for r in runs:
        out.errors.update(r.get("errors", {}) or {})
    out.seconds = float(np.nanmean([_num(r.get("seconds")) for r in runs]))
    ref = late_reference(cfg, pool)
    if ref is not None:
        out.reference, out.reference_match = ref
        out.effective = {t: _effective(cfg, out.reference, t) for t in tasks}
    return out
