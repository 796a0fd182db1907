"""ABS-9 end to end on a few generated People's Daily questions (SQuAD JSON): `automl run` ends with an exact
match and F1 report beside the first-characters reference, `automl predict` and `automl serve` give the same
answers (text, characters, score), predict scores a question by its best gold answer, the ONNX export answers
as PyTorch does, and a from-scratch net and SQuAD 2.0 unanswerable questions are refused (exit 2).

The model is a tiny random BERT with multilingual-e5-small's tokenizer trained one step: fast, and enough to
check the plumbing (the learning itself: tests/automl/models/span_qa/test_span_train.py and the slow test here).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from automl.cli import app
from automl.models.span_qa.generated import generated_questions

runner = CliRunner()


def write_squad(folder: Path, counts: dict[str, int], offset: int = 0) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paragraphs = generated_questions(offset + sum(counts.values()))[offset:]
    files, start = {}, 0
    for split, n in counts.items():
        files[split] = folder / f"{split}.json"
        files[split].write_text(json.dumps({"data": [{"title": "", "paragraphs": paragraphs[start:start + n]}]},
                                           ensure_ascii=False), encoding="utf-8")
        start += n
    return files


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, make_tiny_transformer: Callable[..., Path]
            ) -> tuple[dict[str, Any], dict[str, Path]]:
    from automl.models import resolve_model

    root = tmp_path_factory.mktemp("span")
    tiny = make_tiny_transformer(root / "tiny", resolve_model("multilingual-e5-small").source)
    files = write_squad(root / "data", {"train": 8, "dev": 4, "test": 6})
    out = root / "run"
    result = runner.invoke(app, ["run", "--data", str(files["train"]), "--dev", str(files["dev"]), "--test",
                                 str(files["test"]), "--models", str(tiny), "--epochs", "1", "--trials", "1",
                                 "--max-batch", "8", "--budget-minutes", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((out / "report.json").read_text(encoding="utf-8")), files


def test_run_reports_exact_match_and_f1_beside_the_reference(trained: tuple[dict[str, Any], dict[str, Path]]) -> None:
    report, _ = trained
    assert report["task"] == "ABS-9" and report["metric"] == "f1" and report["model"]["family"] == "span-qa"
    assert {"exact_match", "f1"} <= set(report["test"]) and {"exact_match", "f1"} <= set(report["dev"])
    assert all(0.0 <= report["test"][k] <= 1.0 for k in ("exact_match", "f1"))
    assert report["baseline"]["name"].startswith("first ") and set(report["baseline"]["test"]) == {"exact_match", "f1"}
    assert len(report["trials"]) == 1 and report["trials"][0]["state"] == "COMPLETE"


def _predict(model_dir: str, data: Path) -> tuple[list[dict[str, Any]], str]:
    result = runner.invoke(app, ["predict", "--model", model_dir, "--data", str(data), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")], result.output


def test_predict_answers_spans_of_the_context(trained: tuple[dict[str, Any], dict[str, Path]], tmp_path: Path) -> None:
    report, files = trained
    rows, output = _predict(report["model"]["dir"], files["test"])  # SQuAD JSON with answers: scored too
    assert len(rows) == 6 and "scores: exact_match" in output
    for row in rows:
        assert row["context"][row["start"]:row["end"]] == row["answer"] and isinstance(row["score"], float)
    asked = tmp_path / "questions.jsonl"  # no answers: answered, not scored
    asked.write_text("".join(json.dumps({"question": r["question"], "context": r["context"]}, ensure_ascii=False)
                             + "\n" for r in rows[:3]), encoding="utf-8")
    again, output = _predict(report["model"]["dir"], asked)
    assert [r["answer"] for r in again] == [r["answer"] for r in rows[:3]] and "scores:" not in output


def test_predict_scores_a_question_by_its_best_gold_answer(trained: tuple[dict[str, Any], dict[str, Path]],
                                                           tmp_path: Path) -> None:
    """Several gold answers (SQuAD's dev set): exact match counts when the answer is any of them, here always
    the second (the first is a wrong span of the same context, the one training would read)."""
    report, files = trained
    rows, _ = _predict(report["model"]["dir"], files["test"])
    paragraphs = [{"context": r["context"], "qas": [{"question": r["question"], "answers": [
        {"text": r["context"][:r["start"]] + "X", "answer_start": 0},
        {"text": r["answer"], "answer_start": r["start"]}]}]} for r in rows]
    multi = tmp_path / "multi.json"
    multi.write_text(json.dumps({"data": [{"paragraphs": paragraphs}]}, ensure_ascii=False), encoding="utf-8")
    again, output = _predict(report["model"]["dir"], multi)
    assert [r["answer"] for r in again] == [r["answer"] for r in rows]  # predictions unchanged
    assert "scores: exact_match 1.0000, f1 1.0000" in output
    paragraphs[0]["qas"][0].update(answers=[], is_impossible=True)  # SQuAD 2.0: answered, not scored
    multi.write_text(json.dumps({"data": [{"paragraphs": paragraphs}]}, ensure_ascii=False), encoding="utf-8")
    again, output = _predict(report["model"]["dir"], multi)
    assert len(again) == len(rows) and "scores:" not in output.replace("no scores:", "")
    assert f"no scores: 1 of {len(rows)} questions have no gold answer" in " ".join(output.split())


@pytest.mark.parametrize("where", ["--data", "--dev"])
def test_squad2_unanswerable_questions_exit_2_with_one_message(where: str, tmp_path: Path) -> None:
    files = write_squad(tmp_path / "data", {"train": 20, "dev": 5})
    bad = files["train"] if where == "--data" else files["dev"]
    squad = json.loads(bad.read_text(encoding="utf-8"))
    for para in squad["data"][0]["paragraphs"][::2]:
        para["qas"][0].update(answers=[], is_impossible=True)
    bad.write_text(json.dumps(squad, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(app, ["run", "--data", str(files["train"]), "--dev", str(files["dev"]), "--trials", "1",
                                 "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    message = " ".join(result.output.split())
    assert f"{10 if where == '--data' else 3} of {20 if where == '--data' else 5} questions in" in message
    assert "SQuAD 2.0 unanswerable" in message and "drop the unanswerable questions" in message
    assert not (tmp_path / "run" / "report.json").exists()


@pytest.fixture(scope="module")
def server(trained: tuple[dict[str, Any], dict[str, Path]]) -> Iterator[Any]:
    from automl.models import load_model
    from automl.serve.server import start_server

    running, thread = start_server(load_model(trained[0]["model"]["dir"]), "127.0.0.1", 0)
    yield running
    running.shutdown()
    running.server_close()
    thread.join(timeout=5)


def _post(server: Any, payload: Any) -> tuple[int, dict[str, Any]]:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), port, timeout=30)
    conn.request("POST", "/predict", body=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    return response.status, body


def test_serve_answers_as_predict(trained: tuple[dict[str, Any], dict[str, Path]], server: Any) -> None:
    report, files = trained
    rows, _ = _predict(report["model"]["dir"], files["test"])
    status, body = _post(server, {"questions": [{"question": r["question"], "context": r["context"]} for r in rows]})
    assert status == 200
    assert [(a["answer"], a["start"], a["end"]) for a in body["predictions"]] == \
        [(r["answer"], r["start"], r["end"]) for r in rows]
    long_question = {"question": "这是一个很长的问题，" * 40, "context": rows[0]["context"] * 20}  # longer than a window
    status, body = _post(server, {"questions": [long_question, {"question": "谁？", "context": "李鹏"}]})
    assert status == 200 and body["predictions"][1]["answer"] in ("李", "鹏", "李鹏")
    assert body["predictions"][0]["answer"] in long_question["context"]
    status, body = _post(server, {"questions": [{"question": "谁？"}]})
    assert status == 422 and '"context"' in body["error"] and "Traceback" not in json.dumps(body)
    status, body = _post(server, {"texts": ["江泽民"]})
    assert status == 422 and "questions" in body["error"]


def test_onnx_export_answers_as_pytorch(trained: tuple[dict[str, Any], dict[str, Path]]) -> None:
    from rich.console import Console

    from automl.export.command import export_command

    report, files = trained
    model_dir = Path(report["model"]["dir"])
    exported = export_command(model_dir, model_dir / "model.onnx", files["test"], threads=1, seconds=0.2,
                              console=Console(quiet=True), time_it=False)
    assert exported.check.passed and exported.check.max_abs_diff <= 1e-4
    assert exported.check.same_predictions == exported.check.examples == 6
    assert set(exported.inputs) <= {"input_ids", "attention_mask", "token_type_ids"}


def test_a_from_scratch_net_for_reading_comprehension_exits_2(tmp_path: Path) -> None:
    files = write_squad(tmp_path / "data", {"train": 20})
    result = runner.invoke(app, ["run", "--data", str(files["train"]), "--models", "bow", "--trials", "1",
                                 "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "multilingual-e5-small" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_run_with_multilingual_e5_beats_the_first_characters_reader(tmp_path: Path) -> None:
    """The production path: the default tier for Chinese (vocabulary trimmed), one epoch over 240 questions."""
    files = write_squad(tmp_path / "data", {"train": 240, "dev": 30, "test": 60}, offset=1000)
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "--data", str(files["train"]), "--dev", str(files["dev"]), "--test",
                                 str(files["test"]), "--epochs", "1", "--trials", "1", "--budget-minutes", "10",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["model"]["name"] == "multilingual-e5-small" and report["model"]["family"] == "span-qa"
    assert report["test"]["exact_match"] > report["baseline"]["test"]["exact_match"] + 0.3
    assert report["test"]["f1"] > report["baseline"]["test"]["f1"] + 0.3
