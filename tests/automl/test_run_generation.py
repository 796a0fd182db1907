"""`automl run` on a generation file (ABS-7, `src<TAB>tgt`) ends with a chrF report, and `automl predict`
answers with text; an encoder-only model named for it is refused with the fix."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from automl.cli import app
from automl.demo_data.pinyin import write_pinyin

runner = CliRunner()


def test_run_then_predict_on_a_generation_file(tmp_path: Path) -> None:
    files = write_pinyin(tmp_path / "data", rows=240, seed=3)
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "--data", str(files["train"]), "--dev", str(files["dev"]), "--test",
                                 str(files["test"]), "--epochs", "2", "--trials", "1", "--budget-minutes", "2",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["task"] == "ABS-7" and report["metric"] == "chrf" and report["model"]["name"] == "seq2seq"
    assert {"chrf", "bleu", "rouge_l", "exact_match"} <= set(report["test"])
    texts = tmp_path / "texts.txt"
    texts.write_text("今天天气很好\n我们去公园\n", encoding="utf-8")
    answered = runner.invoke(app, ["predict", "--model", report["model"]["dir"], "--data", str(texts),
                                   "--format", "jsonl"])
    assert answered.exit_code == 0, answered.output
    rows = [json.loads(line) for line in answered.stdout.splitlines() if line.startswith("{")]
    assert [r["line"] for r in rows] == [1, 2] and all(isinstance(r["text"], str) for r in rows)


def test_an_encoder_only_model_for_generation_exits_2(tmp_path: Path) -> None:
    files = write_pinyin(tmp_path / "data", rows=60, seed=3)
    result = runner.invoke(app, ["run", "--data", str(files["train"]), "--models", "minilm-l6", "--trials", "1",
                                 "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "no encoder-decoder" in result.output and "Traceback" not in result.output
