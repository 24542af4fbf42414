"""PNG plots per dataset (matplotlib's object API with the Agg canvas: no global backend, no display):

- ``<dataset>-tradeoff.png``: main metric of the first task vs the second for every multitask configuration
  (95% intervals as error bars), the single-task points they are compared with, and their Pareto front;
- ``<dataset>-delta-m.png``: Δm% per multitask configuration, mean over seeds with its 95% interval;
- ``<dataset>-profiles.png``: performance profiles per component kind (rliable; :mod:`~mmbench.leaderboard.aggregates`):
  the fraction of normalised scores above τ, with its 95% stratified-bootstrap band;
- ``<dataset>-robustness.png``: the first task's main metric vs perturbation level per configuration
  (robustness runs only; :func:`mmbench.leaderboard.robustness_render.robustness_plot`).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mmbench.leaderboard.aggregate import lower_is_better, main_metric
from mmbench.leaderboard.aggregates import KindAggregate
from mmbench.leaderboard.robustness_render import robustness_plot
from mmbench.leaderboard.table import Analysis


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """``True`` for the rows of ``points`` (higher is better on every column) that no other row dominates."""
    pts = np.asarray(points, dtype=float)
    mask = np.ones(len(pts), dtype=bool)
    for i, p in enumerate(pts):
        dominated = np.all(pts >= p, axis=1) & np.any(pts > p, axis=1)
        mask[i] = not dominated.any()
    return mask


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "dataset"


def _short(a: Analysis) -> str:
    c = a.config
    parts = ["+".join(c.modalities)] + [x for x in (c.aligner, c.fuser, c.weighting) if x and x != "none"]
    return " ".join(parts)


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def tradeoff_plot(group: list[Analysis], path: Path) -> Path | None:
    """Task-vs-task plot of the multitask configurations of one dataset (first two tasks)."""
    multi = [a for a in group if not a.config.single_task and len(a.config.tasks) >= 2]
    if not multi:
        return None
    t1, t2 = multi[0].config.tasks[:2]
    points, labels, errs = [], [], []
    for a in multi:
        metrics = {t: main_metric(m for (tt, m) in a.metrics if tt == t) for t in (t1, t2) if any(tt == t for tt, _ in a.metrics)}
        if len(metrics) < 2:
            continue
        ivs = [a.metrics[(t, metrics[t])] for t in (t1, t2)]
        points.append([iv.mean for iv in ivs])
        errs.append([[iv.mean - iv.low, iv.high - iv.mean] if iv.has_bounds else [0.0, 0.0] for iv in ivs])
        labels.append(_short(a))
    if not points:
        return None
    m1, m2 = (main_metric(m for (tt, m) in multi[0].metrics if tt == t) for t in (t1, t2))
    sign = np.array([-1.0 if lower_is_better(m1) else 1.0, -1.0 if lower_is_better(m2) else 1.0])
    pts, err = np.array(points), np.array(errs)
    front = pareto_mask(pts * sign)
    fig = Figure(figsize=(7, 5.5))
    ax = fig.add_subplot()
    ax.errorbar(pts[:, 0], pts[:, 1], xerr=err[:, 0].T, yerr=err[:, 1].T, fmt="o", color="tab:blue", alpha=0.6,
                capsize=2, label="multitask configuration")
    order = np.argsort(pts[front, 0])
    ax.plot(pts[front, 0][order], pts[front, 1][order], "-", color="tab:red", marker="o", label="Pareto front")
    for (x, y), text, on_front in zip(pts, labels, front):
        if on_front or len(pts) <= 12:  # label everything while it stays readable
            ax.annotate(text, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    singles = {}
    for a in multi:
        if a.baseline is not None:
            v = a.baseline.values
            singles[tuple(a.baseline.labels)] = (v.get((t1, m1), math.nan), v.get((t2, m2), math.nan), "+".join(a.config.modalities))
    for x, y, mods in singles.values():
        if math.isfinite(x) and math.isfinite(y):
            ax.plot([x], [y], marker="*", markersize=13, linestyle="none", color="black")
            ax.annotate(f"single-task ({mods})", (x, y), fontsize=7, xytext=(3, -10), textcoords="offset points")
    if singles:
        ax.plot([], [], marker="*", markersize=13, linestyle="none", color="black", label="single-task baselines")
    ax.set_xlabel(f"{t1} {m1} ({'lower' if sign[0] < 0 else 'higher'} is better)")
    ax.set_ylabel(f"{t2} {m2} ({'lower' if sign[1] < 0 else 'higher'} is better)")
    ax.set_title(f"{group[0].config.dataset}: task trade-off (test, mean ± 95% CI)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def delta_plot(group: list[Analysis], path: Path) -> Path | None:
    """Δm% per multitask configuration with its 95% interval over seeds."""
    rows = [a for a in group if math.isfinite(a.delta_m.mean)]
    if not rows:
        return None
    rows.sort(key=lambda a: a.delta_m.mean)
    y = np.arange(len(rows))
    means = np.array([a.delta_m.mean for a in rows])
    half = np.array([a.delta_m.half_width if a.delta_m.has_bounds else 0.0 for a in rows])
    fig = Figure(figsize=(7, 1.2 + 0.35 * len(rows)))
    ax = fig.add_subplot()
    colors = ["tab:green" if m > 0 else "tab:red" for m in means]
    ax.errorbar(means, y, xerr=half, fmt="none", ecolor="gray", capsize=3)
    ax.scatter(means, y, c=colors, zorder=3)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_yticks(y, [f"[{a.config.family}] {_short(a)}" for a in rows], fontsize=7)
    ax.set_xlabel("Δm% vs single-task baseline (mean ± 95% CI over seeds)")
    ax.set_title(f"{rows[0].config.dataset}: Δm% per multitask configuration")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def profile_plot(aggs: list[KindAggregate], path: Path) -> Path | None:
    """One panel per component kind: each value's performance profile with its 95% band."""
    aggs = [g for g in aggs if any(v.profile is not None for v in g.values)]
    if not aggs:
        return None
    fig = Figure(figsize=(5.5 * len(aggs), 4.5))
    for i, g in enumerate(aggs):
        ax = fig.add_subplot(1, len(aggs), i + 1)
        for v in g.values:
            if v.profile is None:
                continue
            taus, curve, low, high = v.profile
            (line,) = ax.plot(taus, curve, label=v.value + (" (reference)" if v.value == g.reference else ""))
            if np.isfinite(low).all() and np.isfinite(high).all():
                ax.fill_between(taus, low, high, color=line.get_color(), alpha=0.15)
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_xlabel("normalised score τ (%, 0 = reference)")
        ax.set_ylabel("fraction of scores > τ")
        ax.set_title(f"{g.dataset}: by {g.kind}", fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return _save(fig, path)


def write_plots(analyses: list[Analysis], out_dir: str | Path, prefix: str = "leaderboard",
                aggregates: list[KindAggregate] | None = None) -> list[Path]:
    """Write every plot that has data; returns the PNG paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for dataset in dict.fromkeys(a.config.dataset for a in analyses):
        group = [a for a in analyses if a.config.dataset == dataset]
        stem = f"{prefix}-{_slug(dataset)}"
        for fn, suffix in ((tradeoff_plot, "tradeoff"), (delta_plot, "delta-m"), (robustness_plot, "robustness")):
            written = fn(group, out / f"{stem}-{suffix}.png")
            if written is not None:
                paths.append(written)
            if suffix == "delta-m":
                profiles = profile_plot([g for g in aggregates or [] if g.dataset == dataset], out / f"{stem}-profiles.png")
                if profiles is not None:
                    paths.append(profiles)
    return paths
