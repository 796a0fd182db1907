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
    from automl.sweep import kept_models
    from automl.training import predict

    kept = kept_models(study, metric, max(1, options.ensemble))
    # the best kept model; Optuna's best_trial breaks ties between equal scores its own way
    best = study.trials[kept[0]["trial"]] if kept else study.best_trial
    model_dir = Path(best.user_attrs["model_dir"])
    model = load_model(model_dir)
    name, dev_scores = str(best.params["model"]), best.user_attrs.get("dev", {})

    def test_and_qps(served: Any) -> tuple[dict[str, float], dict[str, Any]]:
        scores = evaluate(splits.task, labels, served.targets(splits.test), predict(served, splits.test, batch_size=64))
        measured = measure_qps(served, splits.test, batch_size=32)
        return scores, {"batch_1": measured["qps_batch1"], "batch_32": measured["qps_batch"], **measured}

    test_scores, qps = test_and_qps(model)
    single = ensemble = None
    picked = try_ensemble(kept, splits.dev, labels, metric, options.out / "models", console)
    if picked is not None:
        ensemble_model, ensemble = picked
        single = {"name": name, "dir": str(model_dir), "family": model.family, "parameters": model.num_parameters(),
                  "size_mb": round(dir_size(model_dir) / 2**20, 2), "dev": dev_scores, "test": test_scores, "qps": qps}
        model, model_dir, dev_scores = ensemble_model, Path(ensemble["dir"]), ensemble["dev"]
        name = "ensemble(" + " + ".join(m["name"] for m in ensemble["members"]) + ")"
        test_scores, qps = test_and_qps(model)
    baseline = tfidf_baseline(splits.task, splits.train, splits.test)
    report: dict[str, Any] = {
        "task": splits.task,
        "metric": metric,
        "model": {"name": name, "dir": str(model_dir), "family": model.family,
                  "parameters": model.num_parameters(), "size_mb": round(dir_size(model_dir) / 2**20, 2)},
        "dev": dev_scores,
        "test": test_scores,
        "best_single": single,
        "ensemble": ensemble,
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


def try_ensemble(kept: list[dict[str, Any]], dev: list[Any], labels: Any, metric: str, models_dir: Path,
                 console: Console) -> tuple[Any, dict[str, Any]] | None:
    """The ensemble of the sweep's kept models (`kept_models`) when it beats the best one on dev, saved in
    `models_dir/ensemble`; None otherwise (said on the console either way)."""
    import shutil

    from automl.ensemble import select_ensemble
    from automl.metrics import higher_is_better
    from automl.models.ensemble import can_ensemble

    if len(kept) < 2 or not can_ensemble(labels):
        return None
    picked = select_ensemble([(f"{k['model']}#{k['trial']}", Path(k["dir"])) for k in kept], dev, labels, metric)
    if picked is None:
        console.print(f"[dim]ensemble: no mix of the {len(kept)} kept models beats the best one on dev[/]")
        return None
    model, info = picked
    score, best = info["dev"][metric], info["best_single_dev"]
    versus = info["versus_best"]
    if not (score > best if higher_is_better(metric) else score < best) or not versus["clear"]:
        console.print(f"[dim]ensemble of {len(info['members'])}: dev {metric} {score:.4f} vs the best model's {best:.4f} "
                      f"({versus['fixed']} dev examples fixed, {versus['broken']} broken): not clearly better, not used[/]")
        return None
    target = models_dir / "ensemble"
    if target.exists():
        shutil.rmtree(target)
    model.save(target)
    console.print(f"ensemble of {len(info['members'])} models: dev {metric} {score:.4f} vs the best model's {best:.4f}")
    return model, {**info, "dir": str(target)}


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
