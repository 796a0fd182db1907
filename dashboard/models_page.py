"""Models: every saved model with its report (test scores, QPS at batch 1 and 32, size) and the
accuracy-vs-QPS frontier with the QPS target drawn on it. Reports only: no weights are loaded."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import streamlit as st

from advisor.answers import FIELDS
from advisor.errors import UserError
from automl.distill.report import markdown as distill_markdown
from automl.report import markdown, read_report
from automl.results import REPORT_MD, RunReport
from dashboard import reports, state
from dashboard.frontier_plot import frontier_figure

TITLE = "Models"
URL = "models"


def _table(models: list[reports.ModelEntry], root: Path) -> list[dict[str, object]]:
    rows = []
    for m in models:
        run = Path(m.run)
        row: dict[str, object] = {"run": str(run.relative_to(root)) if run.is_relative_to(root) else str(run),
                                  "role": m.role, "model": m.name, "family": m.family, m.metric: m.test.get(m.metric),
                                  "QPS batch 1": m.qps_1, "QPS batch 32": m.qps_32, "size MB": m.size_mb,
                                  "parameters": m.parameters}
        row["test scores"] = ", ".join(f"{k} {v:.4f}" for k, v in m.test.items())
        row["folder"] = m.directory + ("" if not m.directory or Path(m.directory).is_dir() else " (gone)")
        rows.append(row)
    return rows


def render() -> None:
    st.title(TITLE)
    root = state.output_root()
    paths = [p for p in reports.find_reports(root) if state.uploads() not in p.parents]
    if not paths:
        st.info(f"No report.json under {root} yet: a finished `automl run --out DIR` writes one.")
        return
    models: list[reports.ModelEntry] = []
    for path in paths:
        try:
            models += reports.entries(path)
        except UserError as err:
            st.warning(f"{err.message} {err.fix}", icon=":material/warning:")
    if not models:
        return
    metrics = Counter(m.metric for m in models)
    answers = state.last_answers()
    default_qps = answers.qps if answers else float(FIELDS["qps"].default)
    cols = st.columns(3)
    every = sorted({k for m in models for k in m.test})
    metric = cols[0].selectbox("Metric", every, index=every.index(metrics.most_common(1)[0][0])
                               if metrics.most_common(1)[0][0] in every else 0, key="models.metric")
    batch = cols[1].radio("QPS at batch", [1, 32], horizontal=True, key="models.batch")
    target = cols[2].number_input("QPS target", min_value=0.0, value=float(default_qps), key="models.target",
                                  help="From the Advisor's answers (qps) when given there.")
    st.plotly_chart(frontier_figure(models, metric, int(batch), target or None), key="models.frontier")
    fast = [m for m in models if (m.qps(int(batch)) or 0) >= target and metric in m.test]
    if target and fast:
        best = max(fast, key=lambda m: m.test[metric])
        st.success(f"Best at ≥ {target:g} QPS (batch {batch}): **{best.name}** ({best.role}, {Path(best.run).name}) "
                   f"with test {metric} {best.test[metric]:.4f}.")
    elif target:
        st.warning(f"No model reaches {target:g} QPS at batch {batch}: a smaller model, distillation or more "
                   "serving hardware (see the Advisor's plan).", icon=":material/warning:")
    st.dataframe(_table(models, root), hide_index=True, width="stretch")
    for path in paths:
        with st.expander(f"Report: {path}"):
            try:
                report = read_report(path)
            except UserError as err:
                st.warning(err.message)
                continue
            md = path.with_name(REPORT_MD)
            if md.is_file():
                st.markdown(md.read_text(encoding="utf-8"))
            elif isinstance(report, RunReport):
                st.markdown(markdown(report))
            else:
                st.markdown(distill_markdown(report))
