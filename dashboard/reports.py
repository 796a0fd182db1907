"""Saved models as their reports say (`report.json` of `automl run`, or of a distillation with `teacher`,
`student` and `baseline`), and the accuracy-vs-QPS frontier over them. Reads JSON only: no weights are
loaded to show a model. No Streamlit here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl.report import REPORT, read_report
from automl.results import DistillReport, ModelInfo, Qps, RunReport


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


def is_distillation(report: RunReport | DistillReport) -> bool:
    return isinstance(report, DistillReport)


def _entry(run: str, role: str, model: ModelInfo, metric: str, test: dict[str, float], qps: Qps | None) -> ModelEntry:
    return ModelEntry(run=run, role=role, name=model.name, metric=metric, test=dict(test),
                      qps_1=None if qps is None else qps.batch_1, qps_32=None if qps is None else qps.batch_32,
                      size_mb=model.size_mb, parameters=model.parameters, family=model.family, directory=model.dir)


def entries(path: Path) -> list[ModelEntry]:
    """The models one report describes; a UserError for a missing or broken report."""
    report = read_report(path)
    run = str(path.parent)
    if isinstance(report, DistillReport):
        return [_entry(run, role, m, report.metric, m.test, m.qps) for role, m in report.present()]
    found = [_entry(run, "best", report.model, report.metric, report.test, report.qps)]
    if report.best_single is not None:  # the run chose an ensemble: its best member alone
        single = report.best_single
        found.append(_entry(run, "single", single, report.metric, single.test, single.qps))
    if report.baseline is not None:  # fitted in the run, not saved: no folder, size or QPS
        found.append(ModelEntry(run=run, role="baseline", name=report.baseline.name, metric=report.metric,
                                test=dict(report.baseline.test)))
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
