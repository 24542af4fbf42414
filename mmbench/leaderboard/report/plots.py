"""PNG plots per dataset (matplotlib's object API with the Agg canvas: no global backend, no display):

- ``<dataset>-tradeoff.png``: main metric of the first task vs the second for every multitask configuration
  (95% intervals as error bars), the single-task points they are compared with, and their Pareto front on top;
  only labels that fit without overlap are printed (:func:`place_labels`), the other points are numbered with a
  key beside the axes;
- ``<dataset>-delta-m.png``: Δm% per multitask configuration, mean over seeds with its 95% interval;
- ``<dataset>-profiles.png``: performance profiles per component kind (rliable; :mod:`~mmbench.leaderboard.stats.aggregates`):
  the fraction of normalised scores above τ, with its 95% stratified-bootstrap band;
- ``<dataset>-robustness.png``: the first task's main metric vs perturbation level per configuration
  (robustness runs only; :func:`robustness_plot`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox

from mmbench import scoring
from mmbench.leaderboard.analysis import Analysis
from mmbench.leaderboard.stats.aggregates import KindAggregate
from mmbench.leaderboard.stats.intervals import t_interval


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


def _short(a: Analysis, family: bool = False) -> str:
    """A configuration's modalities and non-``none`` components (prefixed by ``[family]`` when asked)."""
    c = a.config
    parts = ["+".join(c.modalities)] + [x for x in (c.aligner, c.fuser, c.weighting) if x and x != "none"]
    return (f"[{c.family}] " if family else "") + " ".join(parts)


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


@dataclass
class Tradeoff:
    """What a task trade-off plot shows (the PNG here, the interactive one in :mod:`.html_plots`): the first two
    tasks' main metrics per multitask configuration with 95% interval half-widths, the Pareto front, and the
    single-task baselines the configurations are compared with."""

    dataset: str
    axes: tuple[str, str]
    points: np.ndarray  # (n, 2) means
    errors: np.ndarray  # (n, 2, 2): per axis, (below, above)
    short: list[str]
    labels: list[str]
    front: np.ndarray  # (n,) bool
    baselines: list[tuple[float, float, str]] = field(default_factory=list)


def tradeoff_data(group: list[Analysis]) -> Tradeoff | None:
    """The trade-off of one dataset's multitask configurations (first two tasks); ``None`` without one."""
    multi = [a for a in group if not a.config.single_task and len(a.config.tasks) >= 2]
    if not multi:
        return None
    t1, t2 = multi[0].config.tasks[:2]
    points, short, labels, errs = [], [], [], []
    for a in multi:
        metrics = {t: scoring.main_metric(m for (tt, m) in a.metrics if tt == t) for t in (t1, t2) if any(tt == t for tt, _ in a.metrics)}
        if len(metrics) < 2:
            continue
        ivs = [a.metrics[(t, metrics[t])] for t in (t1, t2)]
        points.append([iv.mean for iv in ivs])
        errs.append([[iv.mean - iv.low, iv.high - iv.mean] if iv.has_bounds else [0.0, 0.0] for iv in ivs])
        short.append(_short(a))
        labels.append(a.config.label)
    if not points:
        return None
    m1, m2 = (scoring.main_metric(m for (tt, m) in multi[0].metrics if tt == t) for t in (t1, t2))
    sign = np.array([float(scoring.direction(m1)), float(scoring.direction(m2))])
    pts = np.array(points)
    singles = {}
    for a in multi:
        if a.baseline is not None:
            v = a.baseline.values
            singles[tuple(a.baseline.labels)] = (v.get((t1, m1), math.nan), v.get((t2, m2), math.nan),
                                                 f"single-task ({'+'.join(a.config.modalities)})")
    axes = (f"{t1} {m1} ({'lower' if sign[0] < 0 else 'higher'} is better)",
            f"{t2} {m2} ({'lower' if sign[1] < 0 else 'higher'} is better)")
    return Tradeoff(group[0].config.dataset, axes, pts, np.array(errs), short, labels, pareto_mask(pts * sign),
                    [b for b in singles.values() if math.isfinite(b[0]) and math.isfinite(b[1])])


def place_labels(ax: Axes, items: list[tuple[float, float, str]], taken: list[Bbox], fontsize: float = 7) -> list[bool]:
    """Annotate each ``(x, y, text)`` at the first of several offsets (nearest first, with a leader line when
    far) whose text box lies inside the axes and overlaps no box in ``taken``; returns which were placed.
    Call it once the axes' layout and limits are final: it measures in display coordinates."""
    renderer = ax.figure.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    placed = []
    for x, y, text in items:
        ok = False
        for dist in (3, 8, 16, 26, 38, 52):
            for dx, dy in ((1, 1), (1, -1), (-1, 1), (-1, -1), (0, 1), (0, -1), (1, 0), (-1, 0)):
                ann = ax.annotate(text, (x, y), xytext=(dx * dist, dy * dist), textcoords="offset points",
                                  fontsize=fontsize, ha={1: "left", -1: "right", 0: "center"}[dx],
                                  va={1: "bottom", -1: "top", 0: "center"}[dy], zorder=5,
                                  arrowprops=dict(arrowstyle="-", lw=0.5, color="gray") if dist > 8 else None)
                box = label_box(ann, renderer)
                if (box.x0 >= inside.x0 and box.x1 <= inside.x1 and box.y0 >= inside.y0 and box.y1 <= inside.y1
                        and not any(box.overlaps(b) for b in taken)):
                    taken.append(box)
                    ok = True
                    break
                ann.remove()
            if ok:
                break
        placed.append(ok)
    return placed


def label_box(text: Text, renderer: Any) -> Bbox:
    """The box of a label's text alone (an annotation's leader line excluded), in display coordinates."""
    if isinstance(text, Annotation):
        text.update_positions(renderer)
    return Text.get_window_extent(text, renderer)


def tradeoff_plot(group: list[Analysis], path: Path) -> Path | None:
    """The trade-off PNG (:func:`tradeoff_figure`) of one dataset; ``None`` when it has nothing to plot."""
    fig = tradeoff_figure(group)
    if fig is None:
        return None
    fig.savefig(path, dpi=120)
    return path


def tradeoff_figure(group: list[Analysis]) -> Figure | None:
    """Task-vs-task plot of the multitask configurations of one dataset (first two tasks). Only what fits
    without overlap is labelled by name — the single-task baselines, then the Pareto front; every other point
    gets a number (placed the same way) and the key beside the axes names it. The front is drawn on top."""
    data = tradeoff_data(group)
    if data is None:
        return None
    pts, err = data.points, data.errors
    others = [i for i in range(len(pts)) if not data.front[i]]
    fig = Figure(figsize=(9.5 if others else 7, max(5.5, 1.0 + 0.13 * len(others))))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.errorbar(pts[:, 0], pts[:, 1], xerr=err[:, 0].T, yerr=err[:, 1].T, fmt="o", color="tab:blue", alpha=0.6,
                capsize=2, label="multitask configuration", zorder=2)
    order = np.argsort(pts[data.front, 0])
    ax.plot(pts[data.front, 0][order], pts[data.front, 1][order], "-", color="tab:red", marker="o", zorder=4,
            label="Pareto front")
    for x, y, _ in data.baselines:
        ax.plot([x], [y], marker="*", markersize=13, linestyle="none", color="black", zorder=4)
    if data.baselines:
        ax.plot([], [], marker="*", markersize=13, linestyle="none", color="black", label="single-task baselines")
    ax.set_xlabel(data.axes[0])
    ax.set_ylabel(data.axes[1])
    ax.set_title(f"{data.dataset}: task trade-off (test, mean ± 95% CI)")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout(rect=(0, 0, 0.68 if others else 1, 1))
    ax.set_xlim(ax.get_xlim())  # freeze the limits: labels are placed in display coordinates
    ax.set_ylim(ax.get_ylim())
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    taken = [legend] + [_marker_box(ax, x, y) for x, y in np.vstack([pts] + ([np.array([b[:2] for b in data.baselines])]
                                                                           if data.baselines else []))]
    named = [(x, y, t) for x, y, t in data.baselines] + [(pts[i, 0], pts[i, 1], data.short[i])
                                                        for i in np.flatnonzero(data.front)]
    fell_back = [item for item, ok in zip(named[len(data.baselines):], place_labels(ax, named, taken)[len(data.baselines):])
                 if not ok]
    numbered = [(pts[i, 0], pts[i, 1], data.short[i]) for i in others] + fell_back
    shown = place_labels(ax, [(x, y, str(k)) for k, (x, y, _) in enumerate(numbered, 1)], taken, fontsize=6.5)
    if numbered:
        key = [f"{k}  {t}" + ("" if ok else " (no room to number)") for k, ((_, _, t), ok) in enumerate(zip(numbered, shown), 1)]
        fig.text(0.69, 0.97, "key\n" + "\n".join(key), fontsize=6.5, va="top", ha="left", family="monospace")
    return fig


def _marker_box(ax: Axes, x: float, y: float, half: float = 3.0) -> Bbox:
    cx, cy = ax.transData.transform((x, y))
    return Bbox([[cx - half, cy - half], [cx + half, cy + half]])


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
    ax.set_yticks(y, [_short(a, family=True) for a in rows], fontsize=7)
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


def robustness_plot(group: list[Analysis], path: Path) -> Path | None:
    """Main metric of the first task vs perturbation level, one panel per modality (its first perturbation),
    one line per configuration: the mean over seeds (with its 95% t band when there are at most six
    configurations, each with three seeds or more)."""
    scored = [a for a in group if a.robustness is not None and a.robustness.curves]
    if not scored:
        return None
    task = next(t for a in scored for t in a.config.tasks if any(k[2] == t for k in a.robustness.curves))
    panels = list(dict.fromkeys((m, p) for a in scored for (m, p, t) in a.robustness.curves if t == task))
    first = {m: p for m, p in reversed(panels)}  # each modality's first perturbation
    panels = [(m, first[m]) for m in dict.fromkeys(m for m, _ in panels)]
    fig = Figure(figsize=(5.5 * len(panels), 5.5))
    axes = [fig.add_subplot(1, len(panels), i + 1) for i in range(len(panels))]
    colors = [matplotlib.colormaps["tab20"](i % 20) for i in range(len(scored))]
    styles = {"st-sm": ":", "st-cm": "-", "mt-sm": "-.", "mt-cm": "--"}
    metric = scored[0].robustness.main_metric.get(task, "")
    show_bands = len(scored) <= 6 and all(len(a.config.robustness) >= 3 for a in scored)  # else unreadable
    for ax, (m, pert) in zip(axes, panels):
        for i, a in enumerate(scored):
            values = a.robustness.curves.get((m, pert, task))
            if values is None:
                continue
            x = np.asarray(a.robustness.levels)
            ivs = [t_interval(values[:, j]) for j in range(values.shape[1])]
            mean = np.array([iv.mean for iv in ivs])
            ax.plot(x, mean, styles.get(a.config.family, "-"), color=colors[i], marker="o", markersize=3,
                    label=_short(a, family=True))
            if show_bands:
                ax.fill_between(x, [iv.low for iv in ivs], [iv.high for iv in ivs], color=colors[i], alpha=0.12)
        ax.set_xlabel(f"{pert} level on {m}")
        ax.set_ylabel(f"{task} {metric} (test)")
        ax.set_title(f"{scored[0].config.dataset}: {task} under {pert} on {m} (mean over seeds)", fontsize=9)
        ax.grid(alpha=0.3)
    legend = {label: handle for ax in axes for handle, label in zip(*ax.get_legend_handles_labels())}
    labels, handles = list(legend), list(legend.values())
    fig.legend(handles, labels, loc="lower center", ncol=min(3, max(1, len(labels))), fontsize=7)
    FigureCanvasAgg(fig)
    fig.tight_layout(rect=(0, min(0.45, 0.02 + 0.035 * math.ceil(len(labels) / 3)), 1, 1))
    fig.savefig(path, dpi=120)
    return path


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
