"""The distillation report: teacher, student and baseline side by side, and the accuracy-vs-QPS frontier.

report.json: `task`, `metric`, `method`, `teacher` / `student` / `baseline` (each `name`, `family`, `dir`,
`parameters`, `size_mb`, `test` (metric -> value), `qps` (`batch_1`, `batch_32`, threads, ...)), `ratios`
(`score_kept` = student / teacher, `baseline_kept`, `speedup_batch_1`, `speedup_batch_32`,
`student_beats_baseline`; where teacher and student serve at different precisions, because bf16 weights
changed one's predictions and not the other's, also `speedup_fp32_batch_1/_32`, both in fp32, from the
`qps_fp32` that the bf16 one then carries), `frontier` (every model tried: name, kind, test score, QPS), `trials`,
`params`, `data`, `notes`, `files`. report.md has the same table; frontier.html is a self-contained plotly
page (PNG export needs kaleido, which does not ship here).
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from automl.results import (
    DISTILL_ROLES,
    REPORT_JSON,
    REPORT_MD,
    DistilledModel,
    DistillReport,
    FrontierPoint,
    Ratios,
)

REPORT = REPORT_JSON


def ratios(teacher: DistilledModel, student: DistilledModel, baseline: DistilledModel | None, metric: str) -> Ratios:
    out = Ratios()
    t = teacher.test[metric]
    out.score_kept = student.test[metric] / t if t else None
    out.speedup_batch_1 = student.qps.batch_1 / teacher.qps.batch_1 if teacher.qps.batch_1 else None
    out.speedup_batch_32 = student.qps.batch_32 / teacher.qps.batch_32 if teacher.qps.batch_32 else None
    if teacher.qps_fp32 is not None or student.qps_fp32 is not None:  # the run timed the bf16 one in fp32 as well
        fp32 = [m.qps_fp32 or m.qps for m in (teacher, student)]
        out.speedup_fp32_batch_1 = fp32[1].batch_1 / fp32[0].batch_1 if fp32[0].batch_1 else None
        out.speedup_fp32_batch_32 = fp32[1].batch_32 / fp32[0].batch_32 if fp32[0].batch_32 else None
    if baseline is not None:
        out.baseline_kept = baseline.test[metric] / t if t else None
        out.student_beats_baseline = student.test[metric] > baseline.test[metric]
    return out


def pareto(points: list[FrontierPoint], metric: str) -> list[FrontierPoint]:
    """Points no other point beats on both QPS (batch 1) and score, by increasing QPS."""
    ordered = sorted(points, key=lambda p: (-p.qps_batch_1, -p.test[metric]))
    front, best = [], -float("inf")
    for p in ordered:
        if p.test[metric] > best:
            front.append(p)
            best = p.test[metric]
    return sorted(front, key=lambda p: p.qps_batch_1)


def frontier_html(points: list[FrontierPoint], metric: str, path: Path, title: str) -> Path:
    """Test score vs measured QPS at batch 1 (log axis), every model tried, the Pareto front as a line."""
    import plotly.graph_objects as go

    colors = {"teacher": "#d62728", "student": "#2ca02c", "baseline": "#1f77b4"}
    fig = go.Figure()
    for kind in DISTILL_ROLES:
        rows = [p for p in points if p.kind == kind]
        if not rows:
            continue
        fig.add_trace(go.Scatter(
            x=[p.qps_batch_1 for p in rows], y=[p.test[metric] for p in rows], mode="markers", name=kind,
            marker={"size": [14 if p.chosen else 8 for p in rows], "color": colors[kind]},
            text=[p.name for p in rows], hovertemplate="%{text}<br>QPS %{x:.0f}<br>" + metric + " %{y:.4f}"))
    front = pareto(points, metric)
    fig.add_trace(go.Scatter(x=[p.qps_batch_1 for p in front], y=[p.test[metric] for p in front],
                             mode="lines", name="frontier", line={"dash": "dot", "color": "#7f7f7f"}))
    fig.update_layout(title=title, xaxis={"title": "measured QPS, batch 1 (log)", "type": "log"},
                      yaxis={"title": f"test {metric}"}, template="plotly_white")
    fig.write_html(str(path), include_plotlyjs=True, full_html=True)
    return path


def _ratio(value: float | None) -> str:
    """A ratio, or why there is none (the teacher scored 0: nothing to keep a share of)."""
    return "n/a (teacher scored 0)" if value is None else f"{value:.4f}"


def _precision_note(report: DistillReport) -> str:
    """Where teacher and student serve at different precisions: which serves bf16, and the fp32 speed-up."""
    q = report.ratios
    if q.speedup_fp32_batch_1 is None:
        return ""
    served = "student" if report.student.qps.bf16 else "teacher"
    return (f" (the {served} serves bf16 weights, the other's predictions changed in bf16; both in fp32: "
            f"batch 1 {q.speedup_fp32_batch_1:.2f}x, batch 32 {q.speedup_fp32_batch_32 or 0:.2f}x)")


def write_report(report: DistillReport, out: Path) -> None:
    from automl.report import write_json

    out.mkdir(parents=True, exist_ok=True)
    write_json(report, out)
    (out / REPORT_MD).write_text(markdown(report), encoding="utf-8")


def side_by_side(report: DistillReport) -> list[list[str]]:
    """Rows of the comparison table: header first."""
    metric = report.metric
    present = [m for _, m in report.present()]
    rows = [["", *[role for role, _ in report.present()]]]
    teacher = report.teacher

    def ratio(value: float, base: float) -> str:
        return f" ({value / base:.2f}x)" if base else ""

    rows.append([f"test {metric}", *[f"{m.test[metric]:.4f}" + ratio(m.test[metric], teacher.test[metric])
                                     for m in present]])
    rows.append(["QPS batch 1", *[f"{m.qps.batch_1:,.0f}" + ratio(m.qps.batch_1, teacher.qps.batch_1) for m in present]])
    rows.append(["QPS batch 32", *[f"{m.qps.batch_32:,.0f}" + ratio(m.qps.batch_32, teacher.qps.batch_32)
                                   for m in present]])
    rows.append(["parameters", *[f"{m.parameters:,}" for m in present]])
    rows.append(["size on disk (MB)", *[f"{m.size_mb}" for m in present]])
    rows.append(["model", *[f"{m.name} ({m.family})" for m in present]])
    return rows


def markdown(r: DistillReport) -> str:
    rows = side_by_side(r)
    lines = [f"# automl distill ({r.method}): {r.task}", "",
             "| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    q = r.ratios
    lines += ["", f"- score kept (student / teacher): {_ratio(q.score_kept)}; baseline kept: "
                  f"{_ratio(q.baseline_kept)}; student beats baseline: {q.student_beats_baseline}",
              f"- speed-up: batch 1 {q.speedup_batch_1 or 0:.2f}x, batch 32 {q.speedup_batch_32 or 0:.2f}x"
              + _precision_note(r),
              f"- QPS threads: {r.teacher.qps.threads}; device {r.teacher.qps.device}",
              f"- best student parameters: {json.dumps(r.params.get('student', {}))}",
              f"- frontier plot: `{r.files.get('frontier', '')}`", "", "## Every model tried", "",
              f"| name | kind | test {r.metric} | QPS b1 | QPS b32 |", "|---|---|---|---|---|"]
    for p in r.frontier:
        lines.append(f"| {p.name} | {p.kind} | {p.test[r.metric]:.4f} | {p.qps_batch_1:,.0f} | {p.qps_batch_32:,.0f} |")
    if r.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in r.notes]
    return "\n".join(lines) + "\n"


def render(report: DistillReport, console: Console) -> None:
    rows = side_by_side(report)
    table = Table(title=f"automl distill ({report.method}): {report.task}, test {report.metric}")
    for name in rows[0]:
        table.add_column(name)
    for row in rows[1:]:
        table.add_row(*row)
    console.print(table)
    q = report.ratios
    console.print(f"score kept {_ratio(q.score_kept)}, speed-up b1 {q.speedup_batch_1 or 0:.2f}x / "
                  f"b32 {q.speedup_batch_32 or 0:.2f}x{_precision_note(report)}, student beats baseline: "
                  f"{q.student_beats_baseline}")
    for note in report.notes:
        console.print(f"[dim]note: {note}[/]")
