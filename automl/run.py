"""`automl run`: from data files to a measured best model and a report.

Order of work: read and split the data (advisor readers), ask the advisor for the task and the model
ladder, find the largest batch each model fits, sweep with Optuna, then the last stage (automl/finish.py):
score the best model on test, measure its serving QPS, choose an ensemble or not, and fit the TF-IDF
reference on the same split; automl/report.py writes and shows the typed report.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

import presets
from advisor.answers import Answers, load_answers, parse_answers
from advisor.errors import UserError
from advisor.plans import recommend
from automl.results import RunReport
from automl.splits import Splits, load_splits
from presets.catalog import SCRATCH_FAMILIES, tiers
from presets.catalog import task as task_type

if TYPE_CHECKING:
    from automl.models.base import LabelSpace
    from automl.sweep import Candidate
    from automl.training.ddp import Group


@dataclass
class RunOptions:
    data: Path
    dev: Path | None = None
    test: Path | None = None
    task: str | None = None
    models: list[str] | None = None
    trials: int = 12
    budget_minutes: float | None = 20.0
    storage: str | None = None
    study: str | None = None
    out: Path = Path("runs/latest")
    answers: Path | None = None
    seed: int = 13
    memory_fraction: float = 0.5
    metric: str | None = None
    max_length: int | None = None
    epochs: int | None = None
    max_batch: int | None = None
    ensemble: int = 5  # models kept for ensemble selection after the sweep; 1 or less: the best single model


def device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def answers_for(splits: Splits, options: RunOptions, train_device: str) -> Answers:
    """The user's answers file, else what the data says, with the hardware this run is on."""
    label_count = len({lab for e in splits.train for lab in ((e.label,) if e.label else e.labels or e.tags)})
    from_data: dict[str, Any] = {
        "input": task_type(splits.task).input, "output": task_type(splits.task).output, "language": splits.language,
        "labeled_rows": len(splits.train), "num_labels": max(1, label_count), "train_hardware": "gpu" if train_device == "cuda" else "cpu",
    }
    if options.answers:
        from_data.update(load_answers(options.answers))
    return parse_answers(from_data, origin=str(options.answers or options.data))


def pick_models(options: RunOptions, answers: Answers, notes: list[str]) -> list[str]:
    """--models as given, else the advisor's ladder, keeping what can run here without a network."""
    if options.models:
        return options.models
    if answers.output == "free_text":  # ABS-7: the advisor's tiers are encoders; generation needs a decoder
        from automl.models import SEQ2SEQ

        return [SEQ2SEQ]
    if answers.output == "sentence_probability":  # ABS-8: a causal language model, not the encoder ladder
        from automl.models import CHAR_LM

        return [CHAR_LM]
    ladder = recommend(answers).model_tiers
    chosen = [t.name for t in ladder if t.offline]
    skipped = [t.name for t in ladder if not t.offline]
    if skipped:
        notes.append(f"skipped (weights not on this machine; pass --models NAME with a network): {', '.join(skipped)}")
    if answers.output == "span":  # ABS-9: a start/end head on a pretrained encoder
        return span_models(chosen, answers.language, notes)
    if not chosen:  # the advisor wants hub models only: fall back to the networks built from the data
        chosen = list(SCRATCH_FAMILIES)
        notes.append("no recommended model is available offline: sweeping the from-scratch networks")
    return chosen


def span_models(chosen: list[str], language: str, notes: list[str]) -> list[str]:
    """The pretrained tiers of the ladder (the from-scratch nets have no span head), else the offline one
    for the language: multilingual-e5-small for Chinese, minilm-l6 for English."""
    pretrained = [name for name in chosen if name not in SCRATCH_FAMILIES]
    if len(pretrained) < len(chosen):
        notes.append("reading comprehension fine-tunes pretrained transformers only: from-scratch nets left out")
    if pretrained:
        return pretrained
    fallback = "minilm-l6" if language == "en" else "multilingual-e5-small"
    notes.append(f"no recommended pretrained model is available offline: using {fallback}")
    return [fallback]


def search_range(name: str) -> dict[str, Any]:
    tier = tiers().get(name)
    if name == "char-lm":  # ABS-8's character language model: its own block of search_spaces.toml
        return dict(presets.load("search_spaces")["families"]["char_lm"]["scratch"])
    if name == "seq2seq":  # ABS-7's encoder-decoder from scratch: its own block of search_spaces.toml
        return dict(presets.load("search_spaces")["families"]["seq2seq"]["scratch"])
    if tier is None:  # a hub id or a local directory: treat as a base transformer
        return dict(presets.load("search_spaces")["families"]["transformer"]["base"])
    return tier.search_space()


def p95_length(model: Any, examples: list[Any], cap: int = 512) -> int:
    """The 95th percentile input length in the model's own units (sub-word tokens for a transformer,
    characters or words for a from-scratch net), rounded up to a multiple of 16."""
    lengths = sorted(model.length(e) for e in examples)
    p95 = lengths[min(len(lengths) - 1, int(0.95 * len(lengths)))] if lengths else 128
    return min(cap, 16 * max(1, math.ceil(p95 / 16)))


def batch_ceiling(space: dict[str, Any], n_train: int) -> int:
    """The largest batch worth searching: the family's ceiling (TIME-8: pretrained smaller, from-scratch
    larger) and at least ~20 optimizer steps per epoch, whatever fits in memory."""
    return max(8, min(int(space["batch_high"]), n_train // 20))


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "study"


def storage_url(options: RunOptions) -> str:
    return options.storage or f"sqlite:///{(options.out / 'study.db').resolve()}"


def run(options: RunOptions, console: Console) -> RunReport | None:
    """One sweep into --out under its lock, with the options it was made with (automl/run_guard.py).
    None when this is a worker of a shared study and another worker writes the report. Under torchrun
    rank 0 is the sweep and the other ranks train its trials beside it (automl/distributed.py)."""
    from automl.distributed import follow, joined
    from automl.pipeline import wants_pipeline
    from automl.preflight import check_run
    from automl.run_guard import guarded

    check_run(options)  # every option, before the lock, the data and the probes (automl/preflight.py)
    if wants_pipeline(options):  # ABS-10: the SPLIT-2 pipeline, two sweeps in --out (automl/pipeline/run.py)
        from automl.pipeline.run import run_pipeline

        with guarded(options.out, options, storage_url(options)):
            run_pipeline(options, console)
        return None
    with joined() as group:
        if group is not None and not group.leader:
            follow(group)
            return None
        with guarded(options.out, options, storage_url(options)):
            return sweep(options, console, group)


def probe_models(specs: dict[str, Any], splits: Splits, labels: LabelSpace, options: RunOptions, dev_name: str,
                 started: float, console: Console) -> tuple[dict[str, Candidate], dict[str, Any], dict[str, int]]:
    """Each model's max length and largest batch (automl/batch_size), probed within the run's time for probing
    (counted from `started`, a time.time()): the sweep's candidates, the probe logs, the max lengths."""
    from automl.batch_size import ProbeProgress, probe_time_limit, tune_batch_size
    from automl.models import build_model
    from automl.sweep import Candidate

    candidates: dict[str, Candidate] = {}
    probe_logs: dict[str, Any] = {}
    max_lengths: dict[str, int] = {}
    for index, (name, spec) in enumerate(specs.items()):
        space = search_range(name)
        sample = splits.train[:2000]
        max_length = options.max_length or p95_length(build_model(spec, labels, sample, 512, splits.language), sample)
        max_lengths[name] = max_length
        model = build_model(spec, labels, splits.train, max_length, splits.language)
        ceiling = min(batch_ceiling(space, len(splits.train)), options.max_batch or 2**20)
        limit = probe_time_limit(started, options.budget_minutes, len(specs) - index)  # probing counts in the budget
        with ProbeProgress(console, name, limit) as watch:
            search = tune_batch_size(model, splits.train, model_name=name, device=dev_name, budget_share=options.memory_fraction,
                                     cap=ceiling, time_limit_s=limit, progress=watch)
        probe_logs[name] = search.to_dict()
        fits = watch.summary(search, max_length, ceiling, default=int(space["batch_start"]))
        candidates[name] = Candidate(name=name, lr_range=(space["lr_low"], space["lr_high"]), lr_default=space["lr_default"],
                                     batch_start=int(space["batch_start"]), max_batch=max(1, min(fits, ceiling)),
                                     epochs=options.epochs or int(space["epochs"]))
        del model
    return candidates, probe_logs, max_lengths


def sweep(options: RunOptions, console: Console, group: Group | None = None) -> RunReport | None:
    import optuna

    from automl.finish import SweepFacts, finish
    from automl.labels import label_space
    from automl.metrics import default_metric
    from automl.models import resolve_model
    from automl.preflight import check_metric
    from automl.progress import SweepProgress
    from automl.rebuild import remember, writes_report
    from automl.report import render_report, write_report
    from automl.run_guard import record_options
    from automl.sweep import (
        SweepContext,
        enqueue_defaults,
        finished,
        open_study,
        reserve_for_second_look,
        run_study,
    )
    from automl.workers import is_sqlite

    started = time.time()
    options.out.mkdir(parents=True, exist_ok=True)
    splits = load_splits(options.data, options.dev, options.test, options.task, options.seed)
    dev_name = device()
    answers = answers_for(splits, options, dev_name)
    notes = list(splits.notes)
    names = pick_models(options, answers, notes)
    specs = {name: resolve_model(name) for name in names}  # unknown names fail here, before any work
    labels = label_space(splits.task, splits.train, splits.dev, splits.test)
    metric = options.metric or answers.metric or default_metric(splits.task)
    check_metric(metric, splits.task, labels.regression, {t.split("-", 1)[-1] for t in labels.names if "-" in t},
                 "--metric" if options.metric else "the answers' metric" if answers.metric else "the metric")
    console.print(f"[bold]{splits.task}[/] on {len(splits.train):,} train / {len(splits.dev):,} dev / "
                  f"{len(splits.test):,} test rows ({splits.language}); models: {', '.join(names)}; "
                  f"metric {metric}; device {dev_name}")
    for note in notes:
        console.print(f"[dim]note: {note}[/]")
    for warning in splits.checks.warnings if splits.checks else []:  # advisor inspect's duplicates and overlap
        console.print(f"[yellow]data warning:[/] {warning}")
    if group is not None:
        console.print(f"[dim]data-parallel: {group.world} processes ({group.backend}); batch sizes are per process[/]")

    candidates, probe_logs, max_lengths = probe_models(specs, splits, labels, options, dev_name, started, console)

    storage = storage_url(options)
    study_name = options.study or safe_name(f"{Path(options.data).stem}-{splits.task}")
    max_epochs = max(c.epochs for c in candidates.values())
    record_options(options.out, options)  # from here --out belongs to these options (automl/run_guard.py)
    study = open_study(storage, study_name, options.seed, max_resource=100 * max_epochs, metric=metric)
    enqueue_defaults(study, candidates)
    deadline = None if options.budget_minutes is None else started + 60 * options.budget_minutes
    with SweepProgress(console, total=options.trials, done=finished(study), study=study) as progress:
        ctx = SweepContext(task=splits.task, labels=labels, train=splits.train, dev=splits.dev, language=splits.language,
                           max_lengths=max_lengths, metric=metric, candidates=candidates, models_dir=options.out / "models",
                           seed=options.seed, deadline=deadline, device=dev_name, on_step=progress.step,
                           keep=max(1, options.ensemble), group=group,
                           reserve_s=reserve_for_second_look(len(candidates), options.trials,
                                                             None if deadline is None else deadline - time.time()))
        ran = run_study(study, ctx, options.trials, None if deadline is None else max(1.0, deadline - time.time()),
                        callbacks=[progress.trial_done])
    if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials):
        raise UserError(f"no trial completed in study {study_name!r} ({len(study.trials)} tried; reasons in `automl report {options.out}`).",
                        "Give a larger --budget-minutes, fewer --models, or check the data.")
    look = study.user_attrs.get("second_look") or {}
    if look.get("queued"):
        notes.append(f"second look: the best first trial ({look['of_trial']}) ran again with the half of the budget "
                     "held back from the first trials (automl/sweep.py second_look)")
    facts = SweepFacts(splits=splits, labels=labels, metric=metric, max_lengths=max_lengths, probe_logs=probe_logs,
                       notes=notes, storage=storage, device=dev_name, started=started, out=options.out,
                       keep=options.ensemble)
    remember(study, facts, options.seed)  # `automl report --storage` rebuilds the report from the study
    if not is_sqlite(storage) and not writes_report(study, facts, ran, console):
        return None  # another worker of the shared study writes it (automl/rebuild.py)
    report = finish(study, facts, ran, console)
    write_report(report, options.out)
    render_report(report, console)
    return report
