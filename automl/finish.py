"""The last stage of `automl run`, after the sweep: reload the best kept model, score it on test, measure
its serving QPS, choose (or not) an ensemble of the kept models on dev, fit the TF-IDF reference on the
same split, and assemble the typed `RunReport`. automl/report.py then writes and renders it.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from rich.console import Console

from automl.models.base import LabelSpace, TaskModel
from automl.results import (
    Baseline,
    BatchSizeSearch,
    BestSingle,
    EnsembleInfo,
    KeptModel,
    ModelInfo,
    Qps,
    RunData,
    RunReport,
    StudyInfo,
    TrialRecord,
)
from automl.splits import Splits


@dataclass
class SweepFacts:
    """What the run knows when its sweep ends, besides the study itself."""

    splits: Splits
    labels: LabelSpace
    metric: str
    max_lengths: dict[str, int]  # per model, in its own units
    probe_logs: dict[str, dict[str, Any]]  # per model: its batch-size search (SearchResult.to_dict())
    notes: list[str]
    storage: str
    device: str
    started: float  # time.time() when the run began
    out: Path
    keep: int  # models kept for the ensemble (--ensemble)


def score_and_time(model: TaskModel, splits: Splits, labels: LabelSpace) -> tuple[dict[str, float], Qps]:
    from automl.metrics import evaluate
    from automl.serving import measure_qps
    from automl.training import predict
    from automl.training.inference import class_probabilities, ranks_classes

    probabilities = class_probabilities(model, splits.test) if ranks_classes(model) else None  # ABS-4: AUC
    scores = evaluate(splits.task, labels, model.targets(splits.test), predict(model, splits.test, batch_size=64),
                      probabilities)
    return scores, Qps.measured(measure_qps(model, splits.test, batch_size=32))


def try_ensemble(kept: list[KeptModel], dev: list[Any], labels: LabelSpace, metric: str, models_dir: Path,
                 console: Console) -> tuple[TaskModel, EnsembleInfo] | None:
    """The ensemble of the sweep's kept models (`kept_models`) when it clearly beats the best one on dev,
    saved in `models_dir/ensemble`; None otherwise (said on the console either way)."""
    from automl.ensemble import select_ensemble
    from automl.models.ensemble import can_ensemble
    from automl.objective import improves

    if len(kept) < 2 or not can_ensemble(labels):
        return None
    picked = select_ensemble([(f"{k.model}#{k.trial}", Path(k.dir)) for k in kept], dev, labels, metric)
    if picked is None:
        console.print(f"[dim]ensemble: no mix of the {len(kept)} kept models beats the best one on dev[/]")
        return None
    model, raw = picked
    target = models_dir / "ensemble"
    info = EnsembleInfo.model_validate({**raw, "dir": str(target)})
    score, best, versus = info.dev[metric], info.best_single_dev, info.versus_best
    if not improves(score, best, metric) or not versus.clear:
        console.print(f"[dim]ensemble of {len(info.members)}: dev {metric} {score:.4f} vs the best model's {best:.4f} "
                      f"({versus.fixed} dev examples fixed, {versus.broken} broken): not clearly better, not used[/]")
        return None
    if target.exists():
        shutil.rmtree(target)
    model.save(target)
    console.print(f"ensemble of {len(info.members)} models: dev {metric} {score:.4f} vs the best model's {best:.4f}")
    return model, info


def best_trial(study: optuna.Study, kept: list[KeptModel]) -> TrialRecord:
    """The best kept model's trial; Optuna's best_trial breaks ties between equal scores its own way."""
    frozen = next((t for t in study.get_trials(deepcopy=False) if kept and t.number == kept[0].trial), None)
    return TrialRecord.from_trial(frozen if frozen is not None else study.best_trial)


def finish(study: optuna.Study, facts: SweepFacts, ran: int, console: Console) -> RunReport:
    """The run's report from its study: every trial, the best model (or the ensemble) scored and timed."""
    from automl.baseline import tfidf_baseline
    from automl.models import load_model
    from automl.sweep import kept_models

    splits, metric = facts.splits, facts.metric
    kept = kept_models(study, metric, max(1, facts.keep))
    best = best_trial(study, kept)
    name = best_name = str(best.params["model"])
    model_dir = Path(best.model_dir or "")
    model = load_model(model_dir)
    dev_scores = best.dev
    test_scores, qps = score_and_time(model, splits, facts.labels)
    single = ensemble = None
    picked = try_ensemble(kept, splits.dev, facts.labels, metric, facts.out / "models", console)
    if picked is not None:
        single = BestSingle.of(name, model_dir, model, dev=dev_scores, test=test_scores, qps=qps)
        model, ensemble = picked
        model_dir, dev_scores = Path(ensemble.dir), ensemble.dev
        name = "ensemble(" + " + ".join(m.name for m in ensemble.members) + ")"
        test_scores, qps = score_and_time(model, splits, facts.labels)
    baseline = tfidf_baseline(splits.task, splits.train, splits.test)
    searches = {k: BatchSizeSearch.model_validate(v) for k, v in facts.probe_logs.items()}
    return RunReport(
        task=splits.task, metric=metric, model=ModelInfo.of(name, model_dir, model), dev=dev_scores, test=test_scores,
        best_single=single, ensemble=ensemble, best_params=best.params, qps=qps,
        batch_size_search=searches[best_name].probes if best_name in searches else [],
        batch_size_searches=searches,
        baseline=None if baseline is None else Baseline.model_validate(baseline),
        trials=[TrialRecord.from_trial(t) for t in study.get_trials(deepcopy=False)],
        data=RunData(files=splits.files, train=len(splits.train), dev=len(splits.dev), test=len(splits.test),
                     language=splits.language, labels=facts.labels.names,
                     max_length=facts.max_lengths[best_name]),
        notes=facts.notes, data_checks=splits.checks,
        study=StudyInfo(storage=facts.storage, name=study.study_name, trials_this_run=ran),
        seconds=round(time.time() - facts.started, 1), device=facts.device)
