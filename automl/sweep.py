"""The Optuna study of `automl run`: one trial = one `run_trial` with a model, learning rate and batch size.

This module suggests the parameters and keeps the best models on disk; automl/objective.py (the adapter
`automl distill` shares) reports dev scores, prunes, turns out-of-memory and diverging losses into pruned
trials with their reason and stores each trial's typed record. Resuming is Optuna's own: the same storage
and study name load the finished trials, and `--trials N` counts the study's total.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import torch

from advisor.dataset import Example
from automl.metrics import higher_is_better
from automl.models import MODEL_JSON, build_model, resolve_model
from automl.models.base import LabelSpace
from automl.objective import Pacer, hyperband, objective, record_result
from automl.results import KeptModel, TrialRecord
from automl.training import TrialConfig, run_trial, step_plan
from automl.training.ddp import Group

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)  # what --trials counts: never a failed trial


@dataclass
class Candidate:
    """A model the sweep may pick, with its search ranges and the largest batch that fits."""

    name: str
    lr_range: tuple[float, float]
    lr_default: float
    batch_start: int
    max_batch: int
    epochs: int


@dataclass
class SweepContext:
    task: str
    labels: LabelSpace
    train: list[Example]
    dev: list[Example]
    language: str
    max_lengths: dict[str, int]  # per model, in its own units
    metric: str
    candidates: dict[str, Candidate]
    models_dir: Path
    seed: int
    deadline: float | None  # time.time() after which trials stop
    device: str
    on_step: Callable[[int, str], None] | None = None  # progress: (trial number, message)
    keep: int = 5  # models of the best `keep` trials stay on disk: the ensemble's candidates
    kept: list[KeptModel] = field(default_factory=list)  # best first
    displaced: list[str] = field(default_factory=list)  # folders of models no longer kept, deleted once recorded
    group: Group | None = None  # data-parallel trials: this is rank 0 (automl/distributed.py)
    reserve_s: float = 0.0  # of the budget, held back from the models' first trials for the best one's second look


def patience_evals(n_train: int, batch_size: int, epochs: int) -> int:
    """Early stopping waits about 1.5 epochs without a better dev score (at least 3 evals): from-scratch
    nets and CRF taggers still climb slowly late in training, and the pruner already cuts hopeless trials."""
    _, eval_steps, _ = step_plan(n_train, batch_size, epochs)
    return max(3, math.ceil(1.5 * math.ceil(n_train / batch_size) / eval_steps))


def time_share(remaining_s: float, name: str, candidates: list[str], tried: set[Any], reserve_s: float = 0.0) -> float:
    """The time a trial may take. A model's first trial shares what is left equally with the models not tried
    yet: the defaults run in the ladder's order (scratch nets first, the pretrained tier last), and without a
    share the first slow nets (an LSTM runs ~10 epochs) could leave the transformer, whose trial is the slowest
    of all (multilingual-e5-small: minutes an epoch on CPU), the crumbs. What a fast model (BOW: seconds) leaves
    of its share passes to the next. `reserve_s` is kept out of the first trials' shares for the best model's
    second look (`second_look`); only when the first trials have overrun it (a resumed study) do they share a
    tenth of what is left. Later trials may use all that remains."""
    untried = [c for c in candidates if c not in tried]
    if name not in untried:
        return remaining_s
    return max(remaining_s - reserve_s, 0.1 * remaining_s) / len(untried)


SECOND_LOOK = 0.5  # of the time left after probing: measured on People's Daily NER, 30 minutes, 2 threads: five
# equal first trials left the BiLSTM-CRF (the best) at test F1 0.949 after 5 minutes; it climbs to 0.959 given longer


def reserve_for_second_look(n_candidates: int, total_trials: int, time_left_s: float | None) -> float:
    """Seconds held back for the best model's second look: none without a budget (every trial runs to its
    epochs), with one model (its first trial has all the time), or when --trials leaves no trial for it."""
    if time_left_s is None or n_candidates < 2 or total_trials <= n_candidates:
        return 0.0
    return SECOND_LOOK * time_left_s


ONE_EPOCH = 100  # progress_resource's unit is a percent of an epoch seen


def look_at(complete: list[optuna.trial.FrozenTrial], metric: str) -> optuna.trial.FrozenTrial:
    """Which model's first trial gets the second look: the one ahead at equal training progress (dev score at
    the same share of an epoch seen, `progress_resource`), among models that saw at least one epoch. Not the
    best final score: with equal time, a fast model (a BOW tagger: 10 epochs in 5 minutes, then done) leads a
    slower one that learns more an epoch (the BiLSTM-CRF: 0.918 vs 0.898 at 2.4 epochs, 0.947 vs 0.932 at 5.1),
    and the time held back is what lets the slower one go on."""
    sign = 1.0 if higher_is_better(metric) else -1.0
    firsts: dict[Any, optuna.trial.FrozenTrial] = {}
    for t in sorted(complete, key=lambda t: t.number):
        firsts.setdefault(t.params.get("model"), t)
    seen = {n: max(t.intermediate_values, default=0) for n, t in firsts.items()}
    pool = [t for n, t in firsts.items() if seen[n] >= ONE_EPOCH] or list(firsts.values())
    common = min(seen[t.params.get("model")] for t in pool)

    def ahead(t: optuna.trial.FrozenTrial) -> tuple[float, float]:
        early = [sign * v for r, v in t.intermediate_values.items() if r <= common]
        return max(early, default=-math.inf), sign * float(t.value or 0.0)

    return max(pool, key=ahead)


def second_look(ctx: SweepContext) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None]:
    """A study callback: once every model has had its first trial, queue the parameters of the one `look_at`
    picks again (once per study, under its lock: workers share it) when its time share, not its epochs or early
    stopping, ended it: it trains with the time held back (`reserve_s`) and all else that is left. Screening
    every model briefly, then training the winner longer, beats equal shares when one model is clearly best
    but still climbing (a BiLSTM-CRF on a large NER set)."""
    from automl.workers import study_lock

    def look(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if ctx.reserve_s <= 0 or "second_look" in study.user_attrs:
            return
        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        tried = {t.params.get("model") for t in study.get_trials(deepcopy=False, states=FINISHED)}
        if not complete or not set(ctx.candidates) <= tried:
            return
        best = look_at(complete, ctx.metric)
        needed = TrialRecord.from_trial(best).stopped == "time_budget"  # one that ended on its own has had its look
        with study_lock(study._storage, study.study_name):
            if "second_look" not in study.user_attrs:
                if needed:
                    study.enqueue_trial(dict(best.params), user_attrs={"second_look": True})  # never pruned: its
                    # early evals trail the others' at the pruner's low rungs (pruned at 0.48, 0.7 epochs, on NER)
                study.set_user_attr("second_look", {"of_trial": best.number, "queued": needed})

    return look


def make_objective(ctx: SweepContext) -> Callable[[optuna.Trial], float]:
    def body(trial: optuna.Trial, record: TrialRecord) -> float:
        name = trial.suggest_categorical("model", sorted(ctx.candidates))
        cand = ctx.candidates[name]
        lr = trial.suggest_float("learning_rate", *cand.lr_range, log=True)
        low = min(8, cand.max_batch)
        batch = trial.suggest_int("batch_size", low, cand.max_batch, log=True)
        world = 1 if ctx.group is None else ctx.group.world  # batch is per process; a step sees world x batch
        remaining = None if ctx.deadline is None else max(1.0, ctx.deadline - time.time())
        if remaining is not None:
            tried = {t.params.get("model") for t in trial.study.get_trials(deepcopy=False) if t.number < trial.number}
            remaining = time_share(remaining, name, list(ctx.candidates), tried, ctx.reserve_s)
        config = TrialConfig(learning_rate=lr, batch_size=batch, epochs=cand.epochs, seed=ctx.seed,
                             metric=ctx.metric, time_budget_s=remaining, device=ctx.device,
                             patience=patience_evals(-(-len(ctx.train) // world), batch, cand.epochs))
        torch.manual_seed(ctx.seed + trial.number)  # weights start from a seed the trial number fixes
        if ctx.group is not None:  # the followers build and train the same model beside this one
            from automl.distributed import TrialSpec

            ctx.group.share(TrialSpec(trial.number, resolve_model(name), ctx.max_lengths[name], config,
                                      ctx.seed + trial.number))
        model = build_model(resolve_model(name), ctx.labels, ctx.train, ctx.max_lengths[name], ctx.language)
        on_step = ctx.on_step

        def say(message: str) -> None:
            if on_step is not None:
                on_step(trial.number, message)

        pacer = Pacer(trial, batch * world, len(ctx.train), ctx.metric, name, on_message=say if on_step else None,
                      prunable=not trial.user_attrs.get("second_look"))
        result = run_trial(config, model, ctx.train, ctx.dev, pacer, group=ctx.group)
        record_result(record, result)
        record.model_dir = keep_top(ctx, KeptModel(score=float(result.score), trial=trial.number, model=name), model)
        return float(result.score)

    return objective(body)


def choose_kept(entries: list[KeptModel], keep: int, metric: str) -> list[KeptModel]:
    """Which models stay on disk, best first: the best of each model first (an ensemble gains from models
    that err differently; the top five of a sweep are often five of one kind), then the next best.
    Ties go to the earlier trial."""
    sign = -1 if higher_is_better(metric) else 1
    ordered = sorted(entries, key=lambda e: (sign * e.score, e.trial))
    chosen: list[KeptModel] = []
    for entry in ordered:
        if all(entry.model != c.model for c in chosen):
            chosen.append(entry)
    chosen = chosen[:keep]
    chosen += [e for e in ordered if e not in chosen][: keep - len(chosen)]
    return sorted(chosen, key=ordered.index)


def keep_top(ctx: SweepContext, entry: KeptModel, model: Any) -> str | None:
    """Save the model when `choose_kept` keeps the trial, and mark the model it displaces for deletion: a
    few models on disk (the ensemble's candidates), not one per trial. Returns the folder, or None when not
    kept. The displaced model is deleted only once this trial is recorded complete (`drop_displaced`): a
    crash between this save and the record leaves the study's kept models on disk, not one fewer."""
    entry.dir = str(ctx.models_dir / f"trial-{entry.trial}")
    chosen = choose_kept([*ctx.kept, entry], ctx.keep, ctx.metric)
    if entry not in chosen:
        return None
    model.save(Path(entry.dir))
    ctx.displaced += [str(dropped.dir) for dropped in ctx.kept if dropped not in chosen]
    ctx.kept = chosen
    return entry.dir


def drop_displaced(ctx: SweepContext) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None]:
    """A study callback (run after the trial is told): delete the models the trial displaced."""

    def drop(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        kept = {str(k.dir) for k in ctx.kept}
        for folder in ctx.displaced:
            if folder not in kept and Path(folder).exists():
                shutil.rmtree(folder)
        ctx.displaced = []

    return drop


def remove_unrecorded(study: optuna.Study, models_dir: Path) -> list[str]:
    """Single-process resume (SQLite): model folders saved by a trial that never completed (the process died
    between the save and the record; that trial runs again under a new number) are deleted. Workers of a
    shared study skip this: another worker's live trial may have saved a model it has not recorded yet."""
    complete = {t.number for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))}
    removed = []
    for folder in sorted(models_dir.glob("trial-*")) if models_dir.is_dir() else []:
        number = folder.name.removeprefix("trial-")
        if number.isdigit() and int(number) not in complete and folder.is_dir():
            shutil.rmtree(folder)
            removed.append(str(folder))
    return removed


def kept_models(study: optuna.Study, metric: str, keep: int) -> list[KeptModel]:
    """The kept completed trials whose models are on disk, best first (at most `keep`; see choose_kept)."""
    entries = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        record = TrialRecord.from_trial(t)
        if record.model_dir and (Path(record.model_dir) / MODEL_JSON).is_file() and t.value is not None:
            entries.append(KeptModel(score=t.value, trial=t.number, model=str(t.params["model"]), dir=record.model_dir))
    return choose_kept(entries, keep, metric)


def trials_so_far(storage: str | optuna.storages.BaseStorage, study_name: str) -> int:
    """A resumed study re-seeds its sampler past the trials it has, or TPE would replay the same draws."""
    try:
        return len(optuna.load_study(study_name=study_name, storage=storage).trials)
    except KeyError:  # a new study
        return 0


def open_study(storage: str, study_name: str, seed: int, max_resource: int, metric: str) -> optuna.Study:
    """The study in `storage` (automl/workers.py: SQLite for one process, PostgreSQL for many workers)."""
    from automl.workers import is_sqlite, open_storage, retry_orphans, worker_sampler

    backend = open_storage(storage)
    study = optuna.create_study(
        storage=backend,
        study_name=study_name,
        direction="maximize" if higher_is_better(metric) else "minimize",
        load_if_exists=True,
        sampler=worker_sampler(seed, shared=not is_sqlite(storage), done=trials_so_far(backend, study_name)),
        pruner=hyperband(max_resource),
    )
    if is_sqlite(storage):  # this process holds the SQLite study alone (automl/run_guard.py): a trial still
        retry_orphans(study)  # running is a killed run's; it fails (not counted) and runs again, same parameters
    return study


def enqueue_defaults(study: optuna.Study, candidates: dict[str, Candidate]) -> None:
    """A new study first tries each model at the guide's defaults (TIME-8: start from the default); under the
    study's lock, so workers that start together queue them once."""
    from automl.workers import study_lock

    with study_lock(study._storage, study.study_name):
        if study.trials:
            return
        for cand in candidates.values():
            study.enqueue_trial({"model": cand.name, "learning_rate": cand.lr_default,
                                 "batch_size": min(cand.batch_start, cand.max_batch)})


def finished(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def run_study(study: optuna.Study, ctx: SweepContext, total_trials: int, timeout_s: float | None,
              callbacks: list[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] | None = None) -> int:
    """Run what is missing of the study's `total_trials`, beside any other workers of the study
    (automl/workers.py); returns how many trials this call ran."""
    from automl.workers import backend, is_sqlite, work

    if is_sqlite(str(getattr(backend(study._storage), "url", ""))):
        remove_unrecorded(study, ctx.models_dir)
    ctx.kept = kept_models(study, ctx.metric, ctx.keep)  # a resumed study goes on from the models it kept
    deadline = None if timeout_s is None else time.time() + timeout_s
    if ctx.group is not None:
        from automl.distributed import Setup, release

        ctx.group.share(Setup(labels=ctx.labels, train=ctx.train, dev=ctx.dev, language=ctx.language))
    ran = work(study, make_objective(ctx), total_trials, deadline, callbacks=[drop_displaced(ctx), second_look(ctx), *(callbacks or [])]).ran
    if ctx.group is not None:
        release(ctx.group)  # the followers end before this rank's last stage (test, QPS)
    return ran
