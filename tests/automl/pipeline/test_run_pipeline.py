"""`automl run` on an ABS-10 file trains the SPLIT-2 pipeline (entity tagger, then relation classifier) and
reports the three F1s; `automl predict` answers with entities and relations; `automl report` reprints it.
Small real data: the first records of the People's Daily demo set (rule-derived relations)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from automl.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NLP_ADVISOR_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from automl.demo_data import write_demo_data

    demo = write_demo_data(tmp_path_factory.mktemp("demo"), only=["pd_relations"])["pd_relations"].files
    out = tmp_path_factory.mktemp("small")
    for split, n in {"train": 300, "dev": 60, "test": 60}.items():
        lines = demo[split].read_text(encoding="utf-8").splitlines()[:n]
        (out / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {s: out / f"{s}.jsonl" for s in ("train", "dev", "test")}


def test_run_reports_three_f1s_and_predict_answers(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    ran = runner.invoke(app, ["run", "--data", str(files["train"]), "--dev", str(files["dev"]), "--test",
                              str(files["test"]), "--models", "bow", "--epochs", "3", "--trials", "1",
                              "--max-batch", "32", "--budget-minutes", "20", "--out", str(out)])  # epochs end it, not load
    assert ran.exit_code == 0, ran.output
    report = json.loads((out / "pipeline_report.json").read_text(encoding="utf-8"))
    assert report["task"] == "ABS-10" and report["metric"] == "end_to_end_f1"
    test = report["test"]
    for key in ("entity_f1", "relation_gold_entities_f1", "end_to_end_f1"):
        assert 0.0 <= test[key] <= 1.0
    assert test["entity_f1"] > 0.3  # a real tagger on real sentences, 3 epochs
    assert test["end_to_end_f1"] <= test["relation_gold_entities_f1"] + 0.05  # tagger errors only cost
    assert json.loads((out / "entities" / "report.json").read_text())["task"] == "ABS-6"
    assert json.loads((out / "relations" / "report.json").read_text())["task"] == "ABS-1"
    manifest = json.loads((out / "pipeline" / "pipeline.json").read_text(encoding="utf-8"))
    assert manifest["family"] == "pipeline" and (out / "pipeline" / "entities" / "automl_model.json").is_file()

    texts = tmp_path / "texts.txt"
    texts.write_text("国务院总理李鹏今天在北京会见了美国总统克林顿。\n新华社记者王力报道。\n", encoding="utf-8")
    got = runner.invoke(app, ["predict", "--model", str(out / "pipeline"), "--data", str(texts), "--format", "jsonl"])
    assert got.exit_code == 0, got.output
    answers = [json.loads(line) for line in got.stdout.splitlines() if line.startswith("{")]
    assert len(answers) == 2 and {"entities", "relations"} <= answers[0].keys()
    for e in answers[0]["entities"]:
        assert answers[0]["text"][e["start"]:e["end"]] == e["text"]
    for r in answers[0]["relations"]:
        assert 0 <= r["head"] < len(answers[0]["entities"]) and 0.0 < r["probability"] <= 1.0

    scored = runner.invoke(app, ["predict", "--model", str(out), "--data", str(files["test"])])
    assert scored.exit_code == 0, scored.output
    assert f"end_to_end_f1 {test['end_to_end_f1']:.4f}" in scored.output  # the run folder works too; same score
    again = runner.invoke(app, ["report", str(out)])
    assert again.exit_code == 0 and "end-to-end relation F1" in again.output


def test_a_broken_abs10_file_is_one_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "张伟在北京。", "entities": [{"text": "北京", "type": "LOC", "start": 0}],
                               "relations": []}, ensure_ascii=False) + "\n", encoding="utf-8")
    ran = runner.invoke(app, ["run", "--data", str(bad), "--out", str(tmp_path / "run")])
    assert ran.exit_code == 2 and "it is at 3" in ran.output and "Traceback" not in ran.output
