"""The pipeline's report: OUT/pipeline_report.json (what `automl report OUT` reprints), OUT/report.md and
the console table. Each sub-sweep keeps its own full report in OUT/entities and OUT/relations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

REPORT = "pipeline_report.json"
ROWS = (("entity", "entity F1 (tagger)"), ("relation_gold_entities", "relation F1, gold entities"),
        ("end_to_end", "end-to-end relation F1"))


def write(report: dict[str, Any], out: Path) -> None:
    (out / REPORT).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "report.md").write_text(markdown(report), encoding="utf-8")


def markdown(r: dict[str, Any]) -> str:
    t = r["test"]
    lines = [f"# automl run: {r['task']} (SPLIT-2 pipeline)", "",
             f"Pipeline (both models and the manifest `automl predict` loads): `{r['pipeline']}`", "",
             "| test | precision | recall | F1 |", "|---|---|---|---|"]
    lines += [f"| {label} | {t[k + '_precision']:.4f} | {t[k + '_recall']:.4f} | {t[k + '_f1']:.4f} |" for k, label in ROWS]
    lines += ["", f"- dev end-to-end F1 of the chosen pair: {r['dev']['end_to_end_f1']:.4f}",
              f"- entity tagger: `{r['entities']}`", f"- relation classifier: `{r['relations']}`",
              f"- records: train {r['data']['train']:,}, dev {r['data']['dev']:,}, test {r['data']['test']:,}",
              f"- seconds: {r['seconds']}"]
    if r.get("qps"):
        lines.append(f"- texts/s through both models ({r['qps']['threads']} thread): {r['qps']['batch_1']} one at a time, "
                     f"{r['qps']['batch_32']} 32 at a time")
    lines += ["", "## Sub-runs", ""]
    lines += [f"- {w}: `{s['out']}` (best {s['model']}, test " + ", ".join(f"{k} {v:.4f}" for k, v in s["test"].items()) + ")"
              for w, s in r["sub_runs"].items()]
    if r["notes"]:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in r["notes"]]
    return "\n".join(lines) + "\n"


def render(r: dict[str, Any], console: Console) -> None:
    table = Table(title=f"{r['task']} pipeline, test ({r['data']['test']:,} records)")
    for col in ("score", "precision", "recall", "F1"):
        table.add_column(col)
    for k, label in ROWS:
        t = r["test"]
        table.add_row(label, f"{t[k + '_precision']:.4f}", f"{t[k + '_recall']:.4f}", f"{t[k + '_f1']:.4f}")
    console.print(table)
    if r.get("qps"):
        console.print(f"serving, entities and relations: {r['qps']['batch_1']} texts/s one at a time, "
                      f"{r['qps']['batch_32']} 32 at a time ({r['qps']['threads']} thread)")
    console.print(f"pipeline saved in {r['pipeline']} (dev end-to-end F1 {r['dev']['end_to_end_f1']:.4f}); "
                  f"`automl predict --model {r['pipeline']} --data FILE` answers with entities and relations")


def read(out: Path) -> dict[str, Any] | None:
    """The pipeline report in `out` (a run folder or the file itself), or None when it is not one."""
    path = out / REPORT if out.is_dir() else out
    if path.name != REPORT or not path.is_file():
        return None
    raw = json.loads(path.read_text(encoding="utf-8"))
    return raw if isinstance(raw, dict) else None
