"""automl export --onnx for the families beyond classifiers and taggers: a character language model (ABS-8)
exports for real (its forward's logits give every sentence score, checked to 1e-4, every score agreeing), a
generation model (ABS-7) is refused with exit 2 and one message (its text comes from a decoding loop in
PyTorch), never a traceback. The reading-comprehension export: tests/automl/test_run_span_qa.py."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from automl.cli import app
from automl.demo_data.lm_sentences import write_lm_file
from automl.demo_data.pinyin import write_pinyin
from automl.export.command import export_command
from tests.automl.saved_models import save_untrained

runner = CliRunner()


def test_a_character_language_model_exports_with_every_score_equal(tmp_path: Path) -> None:
    data = write_lm_file(tmp_path / "lm.txt", per_file=12)
    model_dir = save_untrained("char-lm", data, tmp_path / "char-lm")
    report = export_command(model_dir, model_dir / "model.onnx", data, threads=1, seconds=0.1,
                            console=Console(quiet=True), time_it=False)
    assert report.check.passed and report.check.max_abs_diff <= 1e-4
    assert report.check.same_predictions == report.check.examples == 24


def test_a_generation_model_is_refused_with_exit_2(tmp_path: Path) -> None:
    files = write_pinyin(tmp_path / "pinyin", rows=60, seed=3)
    model_dir = save_untrained("seq2seq", files["train"], tmp_path / "seq2seq")
    result = runner.invoke(app, ["export", str(model_dir), "--onnx", "--data", str(files["train"])])
    assert result.exit_code == 2, result.output
    assert "cannot export the seq2seq generation model" in result.output and "automl serve" in result.output
    assert "Traceback" not in result.output and not (model_dir / "model.onnx").exists()
