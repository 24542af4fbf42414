"""Interactive plots of a dataset's page (Plotly; the page loads ``plotly.min.js`` shipped in the site folder):
the task trade-off with hover labels, error bars and the Pareto front on top (the data of :func:`.plots.tradeoff_data`,
as the PNG); Δm% per multitask configuration with its 95% interval; the rliable performance profiles with their
bands. Every string from a run goes through :func:`~.format.escape_html` (Plotly renders a subset of HTML)."""

from __future__ import annotations

import math
from typing import Any

from mmbench.leaderboard.analysis import Analysis
from mmbench.leaderboard.report.format import escape_html
from mmbench.leaderboard.report.plots import tradeoff_data
from mmbench.leaderboard.stats.aggregates import KindAggregate

_LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=50, b=50), hovermode="closest", height=460)


def _div(fig: Any, div_id: str) -> str:
    import plotly.io as pio

    return pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


def tradeoff_div(group: list[Analysis], div_id: str) -> str | None:
    """The trade-off of the first two tasks: configurations with 95% error bars, baselines, the front on top."""
    import plotly.graph_objects as go

    data = tradeoff_data(group)
    if data is None:
        return None
    pts, err = data.points, data.errors
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=pts[:, 0], y=pts[:, 1], mode="markers", name="multitask configuration", marker=dict(size=9, opacity=0.75),
        error_x=dict(type="data", symmetric=False, array=err[:, 0, 1], arrayminus=err[:, 0, 0], thickness=1),
        error_y=dict(type="data", symmetric=False, array=err[:, 1, 1], arrayminus=err[:, 1, 0], thickness=1),
        text=[escape_html(t) for t in data.labels], hovertemplate="%{text}<br>%{x:.4f}, %{y:.4f}<extra></extra>"))
    if data.baselines:
        fig.add_trace(go.Scatter(
            x=[b[0] for b in data.baselines], y=[b[1] for b in data.baselines], mode="markers",
            name="single-task baselines", marker=dict(symbol="star", size=15, color="black"),
            text=[escape_html(b[2]) for b in data.baselines], hovertemplate="%{text}<br>%{x:.4f}, %{y:.4f}<extra></extra>"))
    order = pts[data.front, 0].argsort()
    front = [escape_html(t) for t, on in zip(data.labels, data.front) if on]
    fig.add_trace(go.Scatter(  # last: drawn on top
        x=pts[data.front, 0][order], y=pts[data.front, 1][order], mode="lines+markers", name="Pareto front",
        line=dict(color="#d62728"), marker=dict(color="#d62728", size=10), text=[front[i] for i in order],
        hovertemplate="front: %{text}<br>%{x:.4f}, %{y:.4f}<extra></extra>"))
    fig.update_layout(title=f"{escape_html(data.dataset)}: task trade-off (test, mean ± 95% CI)",
                      xaxis_title=escape_html(data.axes[0]), yaxis_title=escape_html(data.axes[1]), **_LAYOUT)
    return _div(fig, div_id)


def delta_div(group: list[Analysis], div_id: str) -> str | None:
    """Δm% per multitask configuration (mean and 95% interval over seeds), sorted."""
    import plotly.graph_objects as go

    rows = sorted((a for a in group if math.isfinite(a.delta_m.mean)), key=lambda a: a.delta_m.mean)
    if not rows:
        return None
    labels = [escape_html(a.config.label) for a in rows]
    fig = go.Figure(go.Scatter(
        x=[a.delta_m.mean for a in rows], y=labels, mode="markers", name="Δm%",
        marker=dict(size=9, color=["#2ca02c" if a.delta_m.mean > 0 else "#d62728" for a in rows]),
        error_x=dict(type="data", symmetric=False, thickness=1,
                     array=[a.delta_m.high - a.delta_m.mean if a.delta_m.has_bounds else 0.0 for a in rows],
                     arrayminus=[a.delta_m.mean - a.delta_m.low if a.delta_m.has_bounds else 0.0 for a in rows]),
        hovertemplate="%{y}<br>Δm% %{x:+.2f}<extra></extra>"))
    fig.add_vline(x=0.0, line_color="black", line_width=1)
    layout = dict(_LAYOUT, height=max(300, 120 + 26 * len(rows)), margin=dict(l=20, r=20, t=50, b=50))
    fig.update_layout(title=f"{escape_html(rows[0].config.dataset)}: Δm% vs single-task baselines (mean ± 95% CI)",
                      xaxis_title="Δm% (%)", yaxis=dict(automargin=True), **layout)
    return _div(fig, div_id)


def profiles_div(aggs: list[KindAggregate], div_id: str) -> str | None:
    """Performance profiles per component kind (rliable): the fraction of normalised scores above τ, 95% band."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    aggs = [g for g in aggs if any(v.profile is not None for v in g.values)]
    if not aggs:
        return None
    fig = make_subplots(rows=1, cols=len(aggs), subplot_titles=[f"by {escape_html(g.kind)}" for g in aggs])
    for col, g in enumerate(aggs, 1):
        for v in g.values:
            if v.profile is None:
                continue
            taus, curve, low, high = v.profile
            name = escape_html(v.value) + (" (reference)" if v.value == g.reference else "")
            group = f"{g.kind}:{v.value}"
            fig.add_trace(go.Scatter(x=taus, y=high, mode="lines", line=dict(width=0), showlegend=False,
                                     legendgroup=group, hoverinfo="skip"), row=1, col=col)
            fig.add_trace(go.Scatter(x=taus, y=low, mode="lines", line=dict(width=0), fill="tonexty", opacity=0.2,
                                     showlegend=False, legendgroup=group, hoverinfo="skip"), row=1, col=col)
            fig.add_trace(go.Scatter(x=taus, y=curve, mode="lines", name=name, legendgroup=group,
                                     hovertemplate=name + "<br>τ %{x:.1f}: %{y:.2f}<extra></extra>"), row=1, col=col)
        fig.update_xaxes(title_text="normalised score τ (%, 0 = reference)", row=1, col=col)
    fig.update_yaxes(title_text="fraction of scores > τ", row=1, col=1)
    fig.update_layout(title=f"{escape_html(aggs[0].dataset)}: performance profiles (95% stratified-bootstrap bands)",
                      **_LAYOUT)
    return _div(fig, div_id)


def plot_divs(group: list[Analysis], aggs: list[KindAggregate]) -> list[str]:
    """Every interactive plot of one dataset that has data (ids ``plot-tradeoff``, ``plot-delta``, ``plot-profiles``)."""
    divs = [tradeoff_div(group, "plot-tradeoff"), delta_div(group, "plot-delta"), profiles_div(aggs, "plot-profiles")]
    return [d for d in divs if d is not None]
