"""Saved models as their reports say (`report.json` of `automl run`, or of a distillation with `teacher`,
`student` and `baseline`), and the accuracy-vs-QPS frontier over them. Reads JSON only: no weights are
loaded to show a model. No Streamlit here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.errors import UserError
from automl.report import REPORT, read_report

DISTILL_ROLES = ("teacher", "student", "baseline")


@dataclass
class ModelEntry:
    run: str  # the run folder
    role: str  # best (of a sweep) | single (its best single model, when best is an ensemble) | baseline | teacher | student
    name: str
    metric: str  # the run's metric
    test: dict[str, float]
    qps_1: float | None = None
    qps_32: float | None = None
    size_mb: float | None = None
    parameters: int | None = None
    family: str = ""
    directory: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def qps(self, batch: int) -> float | None:
        return self.qps_1 if batch == 1 else self.qps_32


def find_reports(root: Path) -> list[Path]:
    return sorted(root.rglob(REPORT)) if root.is_dir() else []


def is_distillation(report: dict[str, Any]) -> bool:
    return all(isinstance(report.get(role), dict) for role in ("teacher", "student"))


def _name(raw: dict[str, Any], fallback: str) -> str:
    model = raw.get("model")
    if isinstance(model, dict):
        return str(model.get("name") or fallback)
    return str(raw.get("name") or model or fallback)


def _entry(run: str, role: str, raw: dict[str, Any], metric: str) -> ModelEntry:
    model: dict[str, Any] = raw["model"] if isinstance(raw.get("model"), dict) else raw
    qps: dict[str, Any] = raw.get("qps") or {}
    return ModelEntry(run=run, role=role, name=_name(raw, role), metric=metric,
                      test={k: float(v) for k, v in (raw.get("test") or {}).items() if isinstance(v, int | float)},
                      qps_1=qps.get("batch_1"), qps_32=qps.get("batch_32"), size_mb=model.get("size_mb"),
                      parameters=model.get("parameters"), family=str(model.get("family", "")),
                      directory=str(model.get("dir", "")))


def entries(path: Path) -> list[ModelEntry]:
    """The models one report describes; a UserError for a missing or broken report."""
    report = read_report(path)
    run = str(path.parent)
    if is_distillation(report):
        metric = str(report.get("metric") or next(iter(report["teacher"].get("test") or {"score": 0})))
        return [_entry(run, role, report[role], metric) for role in DISTILL_ROLES if isinstance(report.get(role), dict)]
    try:
        metric = str(report["metric"])
        found = [_entry(run, "best", {**report["model"], "test": report["test"], "qps": report["qps"]}, metric)]
    except (KeyError, TypeError) as exc:
        raise UserError(f"{path}: not a report `automl run` writes (missing {exc}).",
                        "Re-run `automl run` with the same --out to rewrite it.") from None
    if isinstance(report.get("best_single"), dict):  # the run chose an ensemble: its best member alone
        found.append(_entry(run, "single", report["best_single"], metric))
    if isinstance(report.get("baseline"), dict):
        found.append(_entry(run, "baseline", report["baseline"], metric))
    return found


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both axes (higher QPS, higher score), by QPS."""
    order = sorted(range(len(points)), key=lambda i: (-points[i][0], -points[i][1]))
    front, best_score = [], float("-inf")
    for i in order:  # fastest first: a point is on the front when it scores above every faster point
        if points[i][1] > best_score:
            front.append(i)
            best_score = points[i][1]
    return sorted(front, key=lambda i: points[i][0])
