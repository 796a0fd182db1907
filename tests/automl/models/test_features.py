"""ABS-4 text plus numeric features: the features reach the classifier (a label that depends on a feature
alone is learned), the fused transformer saves and reloads, AUC is reported, `automl run` and `predict` answer."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from advisor.dataset import Example
from automl.cli import app
from automl.labels import label_space
from automl.metrics import evaluate, roc_auc
from automl.models import build_model, load_model, resolve_model
from automl.training import predict

WORDS = ["好", "坏", "书", "快", "慢", "价格", "质量", "物流"]


def feature_rows(n: int = 240, seed: int = 0) -> list[Example]:
    """Random texts; the label is whether the first feature exceeds 50 (the second is noise)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        first = rng.uniform(0, 100)
        rows.append(Example(text="".join(rng.choices(WORDS, k=6)), features=(first, rng.uniform(0, 1)),
                            label=str(int(first > 50)), line=i + 1))
    return rows


def train(model: torch.nn.Module, rows: list[Example], steps: int, lr: float) -> None:
    rng = random.Random(1)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        loss = model(**model.collate(rng.sample(rows, 32))).loss  # type: ignore[operator]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


def accuracy(model: object, rows: list[Example]) -> float:
    return sum(p == e.label for p, e in zip(predict(model, rows), rows, strict=True)) / len(rows)  # type: ignore[arg-type]


# The texts are noise, so only the feature tells; a recurrent net first fits the noise (measured: GRU 0.85-0.89
# on held-out rows from 100 to 400 steps; CNN slower, 0.63 after 100 steps, 0.77 after 400), so lower bars.
@pytest.mark.parametrize(("family", "steps", "lr", "bar"), [("bow", 150, 3e-3, 0.9), ("gru", 200, 1e-3, 0.8)])
def test_scratch_families_learn_a_label_set_by_a_feature(family: str, steps: int, lr: float, bar: float) -> None:
    rows = feature_rows()
    torch.manual_seed(0)
    model = build_model(resolve_model(family), label_space("ABS-4", rows), rows, 32, "zh")
    assert accuracy(model, feature_rows(seed=7)) < bar
    train(model, rows, steps=steps, lr=lr)
    assert accuracy(model, feature_rows(seed=7)) >= bar


def test_transformer_fuses_features_and_reloads(tmp_path: Path, make_tiny_transformer: Callable[..., Path]) -> None:
    rows = feature_rows()
    labels = label_space("ABS-4", rows)
    torch.manual_seed(0)
    model = build_model(resolve_model(str(make_tiny_transformer(tmp_path / "tiny"))), labels, rows, 32, "zh")
    before = accuracy(model, rows)
    train(model, rows, steps=150, lr=3e-3)
    held_out = feature_rows(seed=7)
    assert accuracy(model, held_out) >= 0.9 > before
    model.save(tmp_path / "saved")
    again = load_model(tmp_path / "saved")
    again.eval()
    assert predict(again, held_out) == predict(model, held_out)
    wrong = [Example(text="好书", features=(1.0,), label="1", line=3)]
    with pytest.raises(Exception, match="2 numeric features"):
        again.collate(wrong)


def test_roc_auc_binary_and_one_vs_rest() -> None:
    labels = label_space("ABS-4", [Example(text="a", features=(1.0,), label=x) for x in ("0", "1", "2")])
    golds = ["0", "1", "2", "1"]
    perfect = [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.2, 0.7, 0.1]]
    assert roc_auc(labels, golds, perfect) == pytest.approx(1.0)
    binary = label_space("ABS-4", [Example(text="a", features=(1.0,), label=x) for x in ("0", "1")])
    scores = evaluate("ABS-4", binary, ["0", "1", "1", "0"], ["0", "1", "0", "0"],
                      [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    assert scores["auc"] == pytest.approx(1.0) and scores["accuracy"] == pytest.approx(0.75)
    assert roc_auc(binary, ["1", "1"], [[0.1, 0.9], [0.5, 0.5]]) == 0.5  # one class: no ranking to score


@pytest.mark.slow
def test_automl_run_reports_auc_and_predict_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NLP_ADVISOR_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "ctr.csv"
    with data.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "age", "noise", "clicked"])
        for e in feature_rows(300):
            writer.writerow([e.text, round(e.features[0], 2), round(e.features[1], 3), e.label])
    out = tmp_path / "run"
    runner = CliRunner()
    result = runner.invoke(app, ["run", "--data", str(data), "--models", "bow", "--epochs", "4", "--trials", "1",
                                 "--budget-minutes", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["task"] == "ABS-4" and report["test"]["auc"] >= 0.9 and "accuracy" in report["test"]
    predicted = tmp_path / "pred.jsonl"
    result = runner.invoke(app, ["predict", "--model", report["model"]["dir"], "--data", str(data),
                                 "--output", str(predicted)])
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in predicted.read_text(encoding="utf-8").splitlines()]
    assert len(answers) == 300 and {a["label"] for a in answers} <= {"0", "1"}
