"""The accuracy-vs-QPS plot: every model with a measured QPS, the frontier through the best trade-offs,
the user's QPS target as a line (left of it: too slow to serve), teacher and student marked."""

from __future__ import annotations

import math
from pathlib import Path

import plotly.graph_objects as go

from dashboard.reports import ModelEntry, pareto_front

SYMBOLS = {"best": "circle", "single": "circle-open", "baseline": "square", "teacher": "star", "student": "diamond"}


def frontier_figure(models: list[ModelEntry], metric: str, batch: int, target_qps: float | None) -> go.Figure:
    shown = [m for m in models if m.qps(batch) and metric in m.test]
    fig = go.Figure()
    for role in dict.fromkeys(m.role for m in shown):
        group = [m for m in shown if m.role == role]
        fig.add_trace(go.Scatter(
            x=[m.qps(batch) for m in group], y=[m.test[metric] for m in group], mode="markers+text", name=role,
            text=[m.name for m in group], textposition="top center",
            marker={"symbol": SYMBOLS.get(role, "circle"), "size": 16 if role in ("teacher", "student") else 11},
            hovertext=[f"{m.name} ({Path(m.run).name})" for m in group]))
    points = [(float(m.qps(batch) or 0), m.test[metric]) for m in shown]
    front = pareto_front(points)
    if len(front) > 1:
        fig.add_trace(go.Scatter(x=[points[i][0] for i in front], y=[points[i][1] for i in front], mode="lines",
                                 name="frontier", line={"dash": "dot", "color": "gray"}))
    if target_qps:
        fig.add_vline(x=target_qps, line_color="red", line_dash="dash")
        # on a log axis plotly places annotations in log10 units (shapes take data values)
        fig.add_annotation(x=math.log10(target_qps), y=1, yref="paper", text=f"QPS target {target_qps:g}",
                           showarrow=False, xanchor="right", yanchor="bottom", font={"color": "red"})
        fig.add_vrect(x0=min([target_qps / 10, *(p[0] for p in points)]), x1=target_qps, fillcolor="red",
                      opacity=0.06, line_width=0)
    fig.update_xaxes(type="log", title=f"serving QPS at batch {batch} (log)")
    fig.update_yaxes(title=f"test {metric}")
    fig.update_layout(title=f"test {metric} vs QPS", height=460, legend_title="role")
    return fig
