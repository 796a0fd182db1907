"""The run's report: test scores of the best model, chosen hyperparameters, the batch-size probe log,
measured serving QPS, the TF-IDF reference and every trial; as report.json, report.md and a table."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from advisor.errors import UserError

REPORT = "report.json"


def trial_rows(study: Any) -> list[dict[str, Any]]:
    rows = []
    for t in study.trials:
        rows.append({
            "number": t.number, "state": t.state.name, "params": t.params, "value": t.value,
            "dev": t.user_attrs.get("dev", {}), "seconds": t.user_attrs.get("seconds"),
            "train_samples_per_s": t.user_attrs.get("train_samples_per_s"), "reason": t.user_attrs.get("reason", ""),
            "duration_s": round(t.duration.total_seconds(), 1) if t.duration else None,
        })
    return rows


def finish_report(study: Any, splits: Any, options: Any, labels: Any, metric: str, max_lengths: dict[str, int],
                  probe_logs: dict[str, Any], notes: list[str], storage: str, ran: int, started: float,
                  device: str, console: Console) -> dict[str, Any]:
    from automl.baseline import tfidf_baseline
    from automl.metrics import evaluate
    from automl.models import load_model
    from automl.serving import measure_qps
    from automl.train import predict

    best = study.best_trial
    model_dir = Path(best.user_attrs["model_dir"])
    model = load_model(model_dir)
    batch = int(best.params.get("batch_size", 32))
    test_scores = evaluate(splits.task, labels, model.targets(splits.test), predict(model, splits.test, batch_size=batch))
    measured = measure_qps(model, splits.test, batch_size=32)
    qps = {"batch_1": measured["qps_batch1"], "batch_32": measured["qps_batch"], **measured}
    baseline = tfidf_baseline(splits.task, splits.train, splits.test)
    report: dict[str, Any] = {
        "task": splits.task,
        "metric": metric,
        "model": {"name": best.params["model"], "dir": str(model_dir), "family": model.family,
                  "parameters": model.num_parameters(), "size_mb": round(dir_size(model_dir) / 2**20, 2)},
        "dev": best.user_attrs.get("dev", {}),
        "test": test_scores,
        "best_params": best.params,
        "qps": qps,
        "batch_size_search": probe_logs.get(best.params["model"], {}).get("probes", []),
        "batch_size_searches": probe_logs,
        "baseline": baseline,
        "trials": trial_rows(study),
        "data": {"files": splits.files, "train": len(splits.train), "dev": len(splits.dev), "test": len(splits.test),
                 "language": splits.language, "labels": labels.names, "max_length": max_lengths[best.params["model"]]},
        "notes": notes,
        "study": {"storage": storage, "name": study.study_name, "trials_this_run": ran},
        "seconds": round(time.time() - started, 1),
        "device": device,
    }
    write_report(report, options.out)
    render_report(report, console)
    return report


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def write_report(report: dict[str, Any], out: Path) -> None:
    (out / REPORT).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "report.md").write_text(markdown(report), encoding="utf-8")


def read_report(out: Path) -> dict[str, Any]:
    path = out / REPORT if out.is_dir() else out
    if not path.exists():
        raise UserError(f"{path}: no report here.", "Give the --out folder of an `automl run` that finished.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: broken JSON ({exc}).", "Re-run `automl run` with the same --out to rewrite it.") from None


def _fmt(scores: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in scores.items())


def markdown(r: dict[str, Any]) -> str:
    lines = [f"# automl run: {r['task']}", "",
             f"Best model: **{r['model']['name']}** ({r['model']['family']}, {r['model']['parameters']:,} parameters, "
             f"{r['model']['size_mb']} MB) in `{r['model']['dir']}`", "",
             f"- test: {_fmt(r['test'])}", f"- dev: {_fmt(r['dev'])}",
             f"- best parameters: {json.dumps(r['best_params'])}",
             f"- serving QPS ({r['qps'].get('device', '')}, {r['qps'].get('threads', '?')} threads): "
             f"batch 1 {r['qps']['batch_1']:.1f}, batch 32 {r['qps']['batch_32']:.1f}"]
    if r.get("baseline"):
        lines.append(f"- reference, {r['baseline']['name']} on the same split: {_fmt(r['baseline']['test'])}")
    lines += ["", "## Batch-size search (best model)", "", "| size | fits | peak MB |", "|---|---|---|"]
    for p in r["batch_size_search"]:
        peak = p.get("peak_bytes")
        lines.append(f"| {p['size']} | {p['fits']} | {'' if peak is None else round(peak / 2**20)} |")
    lines += ["", "## Trials", "", "| # | state | model | lr | batch | dev | seconds | note |", "|---|---|---|---|---|---|---|---|"]
    for t in r["trials"]:
        p = t["params"]
        value = "" if t["value"] is None else f"{t['value']:.4f}"
        lines.append(f"| {t['number']} | {t['state']} | {p.get('model', '')} | {p.get('learning_rate', 0):.2e} | "
                     f"{p.get('batch_size', '')} | {value} | {t.get('seconds') or t.get('duration_s') or ''} | {t.get('reason', '')} |")
    if r.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in r["notes"]]
    return "\n".join(lines) + "\n"


def render_report(r: dict[str, Any], console: Console) -> None:
    table = Table(title=f"trials ({r['study']['name']})", title_justify="left")
    for col in ("#", "state", "model", "lr", "batch", f"dev {r['metric']}", "s", "note"):
        table.add_column(col)
    best = r["best_params"]
    for t in r["trials"]:
        p = t["params"]
        style = "bold green" if p == best and t["state"] == "COMPLETE" else None
        table.add_row(str(t["number"]), t["state"].lower(), str(p.get("model", "")), f"{p.get('learning_rate', 0):.2e}",
                      str(p.get("batch_size", "")), "" if t["value"] is None else f"{t['value']:.4f}",
                      str(t.get("seconds") or t.get("duration_s") or ""), t.get("reason", ""), style=style)
    console.print(table)
    headline = {k: v for k, v in r["test"].items() if k in (r["metric"], "accuracy", "macro_f1", "entity_f1", "micro_f1")}
    console.print(f"[bold]best:[/] {r['model']['name']} → test {_fmt(headline)} (all metrics in report.json)")
    console.print(f"[bold]serving:[/] {r['qps']['batch_1']:.1f} QPS at batch 1, {r['qps']['batch_32']:.1f} at batch 32 "
                  f"({r['qps'].get('device', '')}, {r['qps'].get('threads', '?')} threads)")
    if r.get("baseline"):
        b = r["baseline"]
        console.print(f"[bold]reference:[/] {b['name']}: test {_fmt(b['test'])}")
    console.print(f"[dim]report: {Path(r['model']['dir']).parent.parent / 'report.md'}[/]")
