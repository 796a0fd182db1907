"""The recommendation's measured parts: `--measure` (each tier timed on this machine) and `--curve` (the
learning curve of the data verdict, drawn with plotly). One call from the recommendation view."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from advisor.answers import parse_answers
from advisor.errors import UserError
from advisor.recommendation import LearningCurve, Measured, Recommendation

MEASURED = "advisor.measured"  # {answers as JSON: {tier: Measured}}: a measurement survives reruns
CURVE_PATH = "advisor.curve_path"


def curve_figure(curve: LearningCurve) -> go.Figure:
    """Dev score against training rows (log axis): the measured points, the fitted law from the smallest
    share to twice the rows, its asymptote, and the predicted gain of doubling with its error bar."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[p.rows for p in curve.points], y=[p.score for p in curve.points], mode="markers",
                             name=f"measured ({curve.model})", marker={"size": 10}))
    if curve.asymptote is not None and curve.exponent is not None and curve.score_at_rows is not None:
        a, c, rows = curve.asymptote, curve.exponent, curve.rows
        b = a - curve.score_at_rows  # score(rows) = a - b at n = rows (the law's scale)
        low = min(p.rows for p in curve.points)
        xs = [low * (2 * rows / low) ** (i / 60) for i in range(61)]
        fig.add_trace(go.Scatter(x=xs, y=[a - b * (x / rows) ** (-c) for x in xs], mode="lines",
                                 name="fit: a - b·n^-c", line={"dash": "dot"}))
        fig.add_hline(y=a, line_dash="dash", line_color="gray", annotation_text=f"asymptote {a:.3f}")
    if curve.score_at_double is not None:
        error = {"type": "data", "array": [curve.gain_at_double_std]} if curve.gain_at_double_std else None
        fig.add_trace(go.Scatter(x=[2 * curve.rows], y=[curve.score_at_double], mode="markers", name="2x the labels",
                                 marker={"symbol": "diamond", "size": 12}, error_y=error))
    fig.update_xaxes(type="log", title="training rows (log)")
    fig.update_yaxes(title=f"dev {curve.metric}")
    fig.update_layout(title="Learning curve: will more labels help?", height=420)
    return fig


def _measure(rec: Recommendation) -> dict[str, Measured]:
    from advisor.measured import measure_ladder

    answers = parse_answers(rec.answers)
    with st.spinner("Timing every tier on this machine (a few seconds each)…"):
        notes = measure_ladder(rec, answers)
    for note in notes:
        st.warning(note)
    return {t.name: t.measured for t in rec.model_tiers if t.measured is not None}


def render_measured(rec: Recommendation) -> None:
    """Buttons for --measure and --curve, then what they found (the terminal's table and the plot)."""
    from advisor.qps_facts import state_measured_facts

    key = rec.model_dump_json(include={"answers"})
    saved: dict[str, dict[str, Measured]] = st.session_state.setdefault(MEASURED, {})
    left, right = st.columns(2)
    if left.button("Measure each tier on this machine (`--measure`)", key="advisor.measure"):
        saved[key] = _measure(rec)
    elif key in saved:
        for tier in rec.model_tiers:
            tier.measured = saved[key].get(tier.name)
        state_measured_facts(rec, float(rec.answers.get("qps", 0)))
    path = right.text_input("Learning curve (`automl curve`'s curve.json or its folder)", key=CURVE_PATH)
    if path.strip():
        from advisor.curve_verdict import attach_curve

        try:
            attach_curve(rec, Path(path.strip()).expanduser())
        except UserError as err:
            right.error(f"{err.message}\n\n{err.fix}")
    rows = [{"model": t.name, "QPS b1": m.qps_batch_1, "QPS b32": m.qps_batch_32, "precision": m.precision,
             "train samples/s": m.train_samples_per_s, "h/epoch": m.hours_per_epoch,
             f"{m.currency}/epoch": m.cost_per_epoch, "meets QPS": m.meets_qps, "machines": m.machines_for_qps,
             "threads": m.threads} for t in rec.model_tiers if (m := t.measured) is not None]
    if rows:
        st.markdown("#### Measured on this machine (random weights)")
        st.dataframe(rows, hide_index=True, width="stretch")
    if rec.data_verdict.curve is not None:
        st.plotly_chart(curve_figure(rec.data_verdict.curve), width="stretch")
        st.caption(rec.data_verdict.curve.summary)
