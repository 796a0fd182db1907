"""What `advisor inspect` finds, on a page: per file the task, labels and counts, a histogram of text
lengths, duplicates and conflicts; across files the texts they share (leakage) and the warnings."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from advisor.formats import read_dataset
from advisor.inspection import (
    MIN_PER_LABEL,
    FileReport,
    Inspection,
    Repeat,
    input_lengths,  # the lengths the report's percentiles are of
)

TOP_LABELS = 40  # bars drawn; the table below has every label


@st.cache_data(show_spinner=False, max_entries=32)
def text_lengths(path: str, task: str, mtime: float) -> list[int]:
    """Every row's length, measured as the inspection measures it (`mtime` keys the cache to the file)."""
    ds = read_dataset(path, task)
    return input_lengths(ds.task, ds.examples)[1]


def length_histogram(report: FileReport, lengths: list[int]) -> go.Figure:
    fig = go.Figure(go.Histogram(x=lengths, nbinsx=min(60, max(10, len(set(lengths)))), name="rows"))
    s = report.lengths
    fig.add_vline(x=s.p95, line_dash="dash", annotation_text=f"p95 {s.p95}", annotation_position="top left")
    fig.add_vline(x=report.suggested_max_length, line_dash="dot", line_color="red",
                  annotation_text=f"max_length {report.suggested_max_length}", annotation_position="top right")
    fig.update_layout(title=f"lengths in characters ({report.length_of})", xaxis_title="characters",
                      yaxis_title="rows", height=300, margin={"t": 40, "b": 30, "l": 40, "r": 10}, showlegend=False)
    return fig


def label_chart(report: FileReport) -> go.Figure:
    items = list(report.examples_per_label.items())[:TOP_LABELS]
    colors = ["#d62728" if n < MIN_PER_LABEL else "#1f77b4" for _, n in items]
    fig = go.Figure(go.Bar(x=[k for k, _ in items], y=[n for _, n in items], marker_color=colors))
    fig.add_hline(y=MIN_PER_LABEL, line_dash="dash", annotation_text=f"{MIN_PER_LABEL} per label (DATA-6)")
    fig.update_xaxes(type="category")  # labels such as 0 and 1 are names, not numbers
    fig.update_layout(title="examples per label" if not report.tag_counts else "entities per type",
                      height=300, margin={"t": 40, "b": 30, "l": 40, "r": 10})
    return fig


def _repeats(title: str, repeats: list[Repeat]) -> None:
    if not repeats:
        return
    st.markdown(f"**{title}** (first {len(repeats)})")
    st.dataframe([{"text": r.text if r.text_b is None else f"{r.text} ||| {r.text_b}", "rows": r.count,
                   "labels": ", ".join(f"{k} ×{v}" for k, v in r.labels.items()),
                   "lines": ", ".join(map(str, r.lines))} for r in repeats], hide_index=True, width="stretch")


def render_file(report: FileReport) -> None:
    with st.container(border=True):
        st.markdown(f"### {Path(report.path).name}")
        st.caption(report.path)
        cols = st.columns(6)
        cols[0].metric("task", report.task, help=report.task_name)
        cols[1].metric("rows", f"{report.rows:,}")
        cols[2].metric("labels", report.label_count)
        cols[3].metric("max_length", report.suggested_max_length, help="p95 rounded up to ×16, at most 512")
        cols[4].metric("duplicate rows", report.duplicate_rows)
        cols[5].metric("conflicting texts", "n/a" if report.conflicting_texts is None else report.conflicting_texts)
        st.markdown(f"**{report.task} {report.task_name}**, read as {report.format}")
        left, right = st.columns(2)
        with left:
            mtime = Path(report.path).stat().st_mtime
            st.plotly_chart(length_histogram(report, text_lengths(report.path, report.task, mtime)),
                            key=f"lengths.{report.path}")
            s = report.lengths
            st.caption(f"min {s.min} · mean {s.mean:g} · p50 {s.p50} · p90 {s.p90} · p95 {s.p95} · "
                       f"p99 {s.p99} · max {s.max}")
        with right:
            if report.examples_per_label:
                st.plotly_chart(label_chart(report), key=f"labels.{report.path}")
        if report.examples_per_label:
            with st.expander(f"{report.label_count} labels and their counts"):
                st.dataframe([{"label": k, "examples": v, "under DATA-6 floor": v < MIN_PER_LABEL}
                              for k, v in report.examples_per_label.items()], hide_index=True, width="stretch")
        _repeats("Duplicate rows", report.duplicate_examples)
        _repeats("Texts with different labels", report.conflict_examples)
        for note in report.notes:
            st.caption(f"read: {note}")
        for warning in report.warnings:
            st.warning(warning, icon=":material/warning:")


def render_inspection(found: Inspection) -> None:
    for report in found.files:
        render_file(report)
    if len(found.files) > 1:
        st.markdown("### Texts shared between files (train/dev/test leakage)")
        st.dataframe([{"file a": Path(o.file_a).name, "file b": Path(o.file_b).name, "shared texts": o.shared_texts,
                       "share of smaller": f"{o.share_of_smaller:.1%}", "e.g.": " | ".join(o.examples)}
                      for o in found.overlaps], hide_index=True, width="stretch")
    for warning in found.warnings:
        st.error(warning, icon=":material/warning:")
