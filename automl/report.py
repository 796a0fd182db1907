"""The run's report, written and rendered: report.json (the typed `RunReport` or `DistillReport`),
report.md and the console table. What goes into it is decided by the run (automl/finish.py) and by
`automl distill` (automl/distill/run.py); this module only writes, reads and renders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from advisor.errors import UserError
from automl.results import REPORT_JSON, REPORT_MD, DistillReport, RunReport, TrialRecord

REPORT = REPORT_JSON


def write_report(report: RunReport, out: Path) -> None:
    write_json(report, out)
    (out / REPORT_MD).write_text(markdown(report), encoding="utf-8")


def write_json(report: RunReport | DistillReport, out: Path) -> None:
    text = json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    (out / REPORT).write_text(text, encoding="utf-8")


def read_report(out: Path) -> RunReport | DistillReport:
    """The report of `automl run` or `automl distill` in `out` (a folder or its report.json)."""
    path = out / REPORT if out.is_dir() else out
    if not path.exists():
        raise UserError(f"{path}: no report here.", "Give the --out folder of an `automl run` that finished.")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: broken JSON ({exc}).", "Re-run `automl run` with the same --out to rewrite it.") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: not a report automl writes.", "Give the --out folder of an `automl run` that finished.")
    kind = DistillReport if "teacher" in raw and "student" in raw else RunReport
    try:
        return kind.model_validate(raw)
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise UserError(f"{path}: not a report `automl {'distill' if kind is DistillReport else 'run'}` writes "
                        f"({where}: {exc.errors()[0]['msg']}).", "Re-run it with the same --out to rewrite it.") from None


def _fmt(scores: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in scores.items())


def _trial_cells(t: TrialRecord) -> list[str]:
    """#, state, model, lr, batch, dev, seconds, note."""
    p: dict[str, Any] = t.params
    return [str(t.number), t.state, str(p.get("model", "")), f"{p.get('learning_rate', 0):.2e}",
            str(p.get("batch_size", "")), "" if t.value is None else f"{t.value:.4f}",
            str(t.seconds or t.duration_s or ""), t.reason]


def markdown(r: RunReport) -> str:
    lines = [f"# automl run: {r.task}", "",
             f"Best model: **{r.model.name}** ({r.model.family}, {r.model.parameters:,} parameters, "
             f"{r.model.size_mb} MB) in `{r.model.dir}`", "",
             f"- test: {_fmt(r.test)}", f"- dev: {_fmt(r.dev)}",
             f"- best parameters: {json.dumps(r.best_params)}",
             f"- serving QPS ({r.qps.device}, {r.qps.threads or '?'} threads): "
             f"batch 1 {r.qps.batch_1:.1f}, batch 32 {r.qps.batch_32:.1f}"]
    if r.baseline:
        lines.append(f"- reference, {r.baseline.name} on the same split: {_fmt(r.baseline.test)}")
    lines += ["", "## Batch-size search (best model)", "", "| size | fits | peak MB |", "|---|---|---|"]
    for p in r.batch_size_search:
        lines.append(f"| {p.size} | {p.fits} | {'' if p.peak_bytes is None else round(p.peak_bytes / 2**20)} |")
    lines += ["", "## Trials", "", "| # | state | model | lr | batch | dev | seconds | note |", "|---|---|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(_trial_cells(t)) + " |" for t in r.trials]
    if r.data_checks and r.data_checks.warnings:
        lines += ["", "## Data warnings (duplicates, train/dev/test overlap)", ""] + [f"- {w}" for w in r.data_checks.warnings]
    if r.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in r.notes]
    return "\n".join(lines) + "\n"


def render_report(r: RunReport | DistillReport, console: Console) -> None:
    if isinstance(r, DistillReport):
        from automl.distill.report import render

        render(r, console)
        return
    table = Table(title=f"trials ({r.study.name})", title_justify="left")
    for col in ("#", "state", "model", "lr", "batch", f"dev {r.metric}", "s", "note"):
        table.add_column(col)
    for t in r.trials:
        cells = _trial_cells(t)
        cells[1] = cells[1].lower()
        style = "bold green" if t.params == r.best_params and t.state == "COMPLETE" else None
        table.add_row(*cells, style=style)
    console.print(table)
    headline = {k: v for k, v in r.test.items() if k in (r.metric, "accuracy", "auc", "macro_f1", "entity_f1", "micro_f1")}
    console.print(f"[bold]best:[/] {r.model.name} → test {_fmt(headline)} (all metrics in report.json)")
    console.print(f"[bold]serving:[/] {r.qps.batch_1:.1f} QPS at batch 1, {r.qps.batch_32:.1f} at batch 32 "
                  f"({r.qps.device}, {r.qps.threads or '?'} threads)")
    if r.baseline:
        console.print(f"[bold]reference:[/] {r.baseline.name}: test {_fmt(r.baseline.test)}")
    for warning in r.data_checks.warnings if r.data_checks else []:
        console.print(f"[yellow]data warning:[/] {escape(warning)}")
    console.print(f"[dim]report: {Path(r.model.dir).parent.parent / 'report.md'}[/]")
