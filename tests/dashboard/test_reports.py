"""One typed record from trial to dashboard: a real `automl run` stores each trial's `TrialRecord` in its
study, the run's report.json carries the same records, and the dashboard reads both back typed."""

from __future__ import annotations

from pathlib import Path

from automl.report import read_report
from automl.results import LEGACY_ATTRS, RECORD, RunReport, TrialRecord
from dashboard import reports, studies


def test_trial_storage_report_and_dashboard_agree(real_run: Path) -> None:
    folder = real_run / "reviews"
    storage = studies.sqlite_url(folder / "study.db")
    (name,) = studies.study_names(storage)
    study = studies.load(storage, name)
    trials = study.get_trials()
    assert len(trials) == 2
    for t in trials:  # one attribute a trial, the record, instead of one per field
        assert RECORD in t.user_attrs and not set(LEGACY_ATTRS) & set(t.user_attrs)
    stored = [TrialRecord.from_trial(t) for t in trials]
    assert all(r.state == "COMPLETE" and r.dev and r.steps and r.seconds for r in stored)

    report = read_report(folder)
    assert isinstance(report, RunReport)
    assert report.trials == stored  # report.json holds the records the study holds
    best = max(stored, key=lambda r: (r.value or 0, -r.number))
    assert report.best_params == best.params and report.dev == best.dev
    if report.ensemble is None:
        assert report.model.dir == best.model_dir

    rows = studies.table(study)
    assert [row["note"] for row in rows] == [r.reason for r in stored]
    assert [row["dev accuracy"] for row in rows] == [r.dev["accuracy"] for r in stored]
    assert [row["samples/s"] for row in rows] == [r.train_samples_per_s for r in stored]

    entries = reports.entries(folder / "report.json")
    assert (entries[0].role, entries[0].name, entries[0].qps_1, entries[0].test) == (
        "best", report.model.name, report.qps.batch_1, report.test)
    assert entries[-1].role == "baseline" and report.baseline is not None
    assert entries[-1].test == report.baseline.test
