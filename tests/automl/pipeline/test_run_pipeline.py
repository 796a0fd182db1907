"""`automl run` on an ABS-10 file trains the SPLIT-2 pipeline (entity tagger, then relation classifier) and
reports the three F1s; `automl predict` answers with entities and relations; `automl report` reprints it.
Small real data: the first records of the People's Daily demo set (rule-derived relations)."""

from __future__ import annotations

import json
import threading
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


@pytest.fixture(scope="module")
def trained(files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("run") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NLP_ADVISOR_CACHE", str(out.parent / "cache"))
        ran = runner.invoke(app, ["run", "--data", str(files["train"]), "--dev", str(files["dev"]), "--test",
                                  str(files["test"]), "--models", "bow", "--epochs", "3", "--trials", "1",
                                  "--max-batch", "32", "--budget-minutes", "20", "--out", str(out)])  # epochs end it
    return out, ran.output if ran.exit_code == 0 else f"exit {ran.exit_code}: {ran.output}"


def test_run_reports_three_f1s_and_predict_answers(files: dict[str, Path], trained: tuple[Path, str],
                                                  tmp_path: Path) -> None:
    out, output = trained
    assert (out / "pipeline_report.json").is_file(), output
    report = json.loads((out / "pipeline_report.json").read_text(encoding="utf-8"))
    assert report["task"] == "ABS-10" and report["metric"] == "end_to_end_f1"
    test = report["test"]
    for key in ("entity_f1", "relation_gold_entities_f1", "end_to_end_f1"):
        assert 0.0 <= test[key] <= 1.0
    assert test["entity_f1"] > 0.3  # a real tagger on real sentences, 3 epochs
    assert test["end_to_end_f1"] <= test["relation_gold_entities_f1"] + 0.05  # tagger errors only cost
    assert report["qps"]["batch_1"] > 0 and report["qps"]["batch_32"] > 0
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


def test_serve_answers_entities_and_relations_and_refuses_bad_requests(trained: tuple[Path, str]) -> None:
    import urllib.error
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    from automl.pipeline.model import load_pipeline
    from automl.pipeline.serve import PipelineServer

    out, output = trained
    assert (out / "pipeline").is_dir(), output
    server = PipelineServer(load_pipeline(out), ("127.0.0.1", 0), model_dir=str(out))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def post(body: bytes) -> tuple[int, dict[str, object]]:
        request = urllib.request.Request(server.url + "/predict", data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    try:
        text = "国务院总理李鹏会见美国总统克林顿。"
        status, got = post(json.dumps({"texts": [text, "新华社记者王力报道。"]}).encode())
        assert status == 200 and len(got["predictions"]) == 2  # type: ignore[arg-type]
        first = got["predictions"][0]  # type: ignore[index]
        assert {"entities", "relations"} <= first.keys()
        assert [e for e in first["entities"] if text[e["start"]:e["end"]] != e["text"]] == []
        with ThreadPoolExecutor(4) as pool:  # a bounded local load: 24 requests from 4 clients, no error
            codes = list(pool.map(lambda i: post(json.dumps({"texts": [text] * (1 + i % 3)}).encode())[0], range(24)))
        assert codes == [200] * 24
        status, got = post(b'{"pairs": [["a", "b"]]}')
        assert status == 422 and "texts" in str(got["error"])
        status, got = post(b"not json")
        assert status == 400 and "Traceback" not in str(got)
        with urllib.request.urlopen(server.url + "/health", timeout=10) as reply:
            health = json.loads(reply.read())
        assert health["family"] == "pipeline" and health["task"] == "ABS-10" and "no_relation" in health["labels"]
    finally:
        server.shutdown()
        server.server_close()


def test_a_broken_abs10_file_is_one_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "张伟在北京。", "entities": [{"text": "北京", "type": "LOC", "start": 0}],
                               "relations": []}, ensure_ascii=False) + "\n", encoding="utf-8")
    ran = runner.invoke(app, ["run", "--data", str(bad), "--out", str(tmp_path / "run")])
    assert ran.exit_code == 2 and "it is at 3" in ran.output and "Traceback" not in ran.output


def test_another_metric_is_refused_before_any_work(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parents[2] / "data" / "formats" / "relations.jsonl"
    ran = runner.invoke(app, ["run", "--data", str(sample), "--metric", "accuracy", "--out", str(tmp_path / "run")])
    assert ran.exit_code == 2 and "drop --metric" in ran.output and "Traceback" not in ran.output
    assert not (tmp_path / "run" / "data").exists()
