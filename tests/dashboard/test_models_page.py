"""The Models page from report.json files: a real run's report, a distillation report, a broken one;
and the frontier it draws."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from automl.results import (
    Baseline,
    BestSingle,
    DistillData,
    DistilledModel,
    DistillReport,
    ModelInfo,
    Qps,
    RunReport,
)
from dashboard import reports


def _distilled(name: str, accuracy: float, qps_1: float, qps_32: float, size_mb: float) -> DistilledModel:
    return DistilledModel(name=name, dir=f"runs/distill/{name}", family="transformer", parameters=1_000_000,
                          size_mb=size_mb, test={"accuracy": accuracy}, qps=Qps(batch_1=qps_1, batch_32=qps_32))


DISTILL = DistillReport(  # a distillation's report, typed as `automl distill` writes it
    task="ABS-1", metric="accuracy", method="model",
    teacher=_distilled("ernie-3.0-base-zh", 0.93, 40.0, 300.0, 400.0),
    student=_distilled("ernie-3.0-nano-zh", 0.90, 900.0, 5000.0, 70.0),
    baseline=_distilled("ernie-3.0-nano-zh (no teacher)", 0.86, 900.0, 5000.0, 70.0),
    data=DistillData(files={"train": "train.tsv"}, train=200, dev=50, test=50, language="zh"))


@pytest.fixture
def runs(real_run: Path, output_root: Path) -> Path:
    """The real run's report beside a distillation report and a broken one, in this test's output folder."""
    shutil.copytree(real_run / "reviews", output_root / "reviews", ignore=shutil.ignore_patterns("models", "*.db"))
    (output_root / "distill").mkdir()
    (output_root / "distill" / "report.json").write_text(DISTILL.model_dump_json(), encoding="utf-8")
    (output_root / "broken").mkdir()
    (output_root / "broken" / "report.json").write_text("{", encoding="utf-8")
    return output_root


def test_models_table_frontier_and_target(page_app: Callable[[str], AppTest], runs: Path) -> None:
    at = page_app("models").run()
    assert not at.exception and not at.error
    assert "broken JSON" in at.warning[0].value  # a bad report is a message; the others still show
    real = json.loads((runs / "reviews" / "report.json").read_text())
    table = at.dataframe[0].value
    assert list(table["role"]) == ["teacher", "student", "baseline", "best", "baseline"]
    best = table[table["role"] == "best"].iloc[0]
    assert best["model"] == real["model"]["name"] and best["accuracy"] == real["test"]["accuracy"]
    assert best["QPS batch 1"] == real["qps"]["batch_1"] and best["QPS batch 32"] == real["qps"]["batch_32"]
    assert best["size MB"] == real["model"]["size_mb"]
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    traces = {t["name"]: t for t in figure["data"]}
    assert traces["teacher"]["marker"]["symbol"] == "star" and traces["student"]["marker"]["symbol"] == "diamond"
    assert "frontier" in traces
    target = [s for s in figure["layout"]["shapes"] if s["type"] == "line"][0]
    assert target["x0"] == 10.0  # the schema's default qps until the Advisor has answers
    at.number_input(key="models.target").set_value(500.0).run()
    assert "**ernie-3.0-nano-zh** (student, distill)" in at.success[0].value  # the best of those fast enough
    at.number_input(key="models.target").set_value(1e9).run()
    assert any("No model reaches" in w.value for w in at.warning)
    assert any("# automl run" in m.value for m in at.markdown)  # the run's own report.md


def test_no_reports_says_so(page_app: Callable[[str], AppTest]) -> None:
    at = page_app("models").run()
    assert not at.exception and "No report.json" in at.info[0].value


def test_pareto_front() -> None:
    points = [(10.0, 0.9), (100.0, 0.8), (50.0, 0.7), (100.0, 0.6), (1000.0, 0.5), (5.0, 0.85)]
    assert reports.pareto_front(points) == [0, 1, 4]
    assert reports.pareto_front([]) == []


def test_report_entries(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(DISTILL.model_dump_json(), encoding="utf-8")
    found = reports.entries(path)
    assert [(m.role, m.name, m.qps(1), m.qps(32)) for m in found] == [
        ("teacher", "ernie-3.0-base-zh", 40.0, 300.0), ("student", "ernie-3.0-nano-zh", 900.0, 5000.0),
        ("baseline", "ernie-3.0-nano-zh (no teacher)", 900.0, 5000.0)]
    path.write_text(json.dumps({"task": "ABS-1"}), encoding="utf-8")
    with pytest.raises(Exception, match="not a report"):
        reports.entries(path)


def test_a_run_that_chose_an_ensemble_shows_its_best_single_model_too(real_run: Path, tmp_path: Path) -> None:
    real = RunReport.model_validate_json((real_run / "reviews" / "report.json").read_text(encoding="utf-8"))
    single = BestSingle(name="bow", dir="m/trial-3", family="bow", parameters=10, size_mb=1.0, dev={"accuracy": 0.84},
                        test={"accuracy": 0.85}, qps=Qps(batch_1=4000.0, batch_32=20000.0))
    run = real.model_copy(update={
        "test": {"accuracy": 0.87}, "qps": Qps(batch_1=150.0, batch_32=900.0), "best_single": single,
        "model": ModelInfo(name="ensemble(bow#3 + gru#1)", family="ensemble", dir="m/ensemble", parameters=20,
                           size_mb=2.0),
        "baseline": Baseline(name="tfidf", test={"accuracy": 0.853})})
    path = tmp_path / "report.json"
    path.write_text(run.model_dump_json(), encoding="utf-8")
    found = reports.entries(path)
    assert [(m.role, m.name, m.qps(1), m.test["accuracy"]) for m in found] == [
        ("best", "ensemble(bow#3 + gru#1)", 150.0, 0.87), ("single", "bow", 4000.0, 0.85),
        ("baseline", "tfidf", None, 0.853)]
