"""`automl distill`: from a teacher folder and data files to a saved student and a side-by-side report.

Order of work: load and freeze the teacher, read the splits, score the teacher on test; then either
model distillation (cache the teacher's outputs on train, sweep the student: TD1 optional, TD2) or data
distillation (augment, label with the teacher, write part.0 / part.1, sweep a BOW/CNN student); then the
same student architecture without distillation (the baseline); then measure every model's serving QPS
with one fixed thread count, write report.json / report.md / frontier.html.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

import presets
from advisor.errors import UserError
from automl.results import DistillData, DistilledModel, DistillReport, FrontierPoint, Qps, QpsPair

if TYPE_CHECKING:
    from automl.distill.search import Distillation, SweepOutcome
    from automl.models.base import TaskModel
    from automl.splits import Splits

METHODS = ("model", "data")


@dataclass
class DistillOptions:
    teacher: Path
    data: Path
    dev: Path | None = None
    test: Path | None = None
    student: str | None = None  # "layers:3", a tier or folder, or a scratch family; default per method
    method: str | None = None  # model | data; default: model for a transformer teacher, else data
    unlabeled: Path | None = None
    trials: int = 4  # per sweep (student, then baseline)
    budget_minutes: float | None = 30.0
    out: Path = Path("runs/distill")
    seed: int = 13
    epochs: int | None = None  # fix the epochs instead of searching them
    batch_size: int | None = None  # default: 32 for transformers, 64 for scratch nets
    patience: int | None = None  # evals without progress before stopping; default [distill] patience
    td1_epochs: float = 0.0  # > 0: stage TD1 (attention relations) before TD2
    hidden_weight: float = 1.0  # TD1, a cut student: hidden-state MSE against its teacher layers (0: off)
    relation_heads: int | None = None
    soft_labels: bool = False  # data distillation: soft labels too
    model_augment: bool = False  # model distillation: add augmented, teacher-labeled text (TinyBERT's lever)
    augment: dict[str, Any] = field(default_factory=dict)  # AugmentConfig fields (copies, unk_rate, ...)
    baseline: bool = True
    metric: str | None = None
    qps_seconds: float = 2.0
    threads: int | None = None  # QPS threads; default: the cores free at the start, the same for every model


@dataclass
class Distilling:
    """One `automl distill` after its checks: the frozen teacher, the data, and how every model is scored
    and timed (alike: one test set, one thread count, one duration)."""

    options: DistillOptions
    teacher: TaskModel
    splits: Splits
    metric: str
    spec: str  # the student
    threads: int

    def score_test(self, model: TaskModel) -> dict[str, float]:
        from automl.metrics import evaluate
        from automl.training import predict

        labels, test = self.teacher.labels, self.splits.test
        return evaluate(labels.task, labels, model.targets(test), predict(model, test, batch_size=64))

    def entry(self, name: str, model: TaskModel, directory: Path, test: dict[str, float]) -> DistilledModel:
        from automl.serving import measure_qps

        measured = measure_qps(model, self.splits.test, batch_size=32, seconds=self.options.qps_seconds,
                               threads=self.threads)
        return DistilledModel.of(name, directory, model, test=test, qps=Qps.measured(measured))

    def fp32(self, model: TaskModel) -> QpsPair:
        from automl.serving import measure_qps

        again = measure_qps(model, self.splits.test, batch_size=32, seconds=self.options.qps_seconds,
                            threads=self.threads, bf16=False)
        return QpsPair(batch_1=again["qps_batch1"], batch_32=again["qps_batch"])


def distill(options: DistillOptions, console: Console) -> DistillReport:
    from automl.distill.data_distill import DataDistillation, read_unlabeled
    from automl.distill.model_distill import ModelDistillation
    from automl.distill.report import render, write_report
    from automl.distill.search import Setup, run_sweep
    from automl.distill.student import default_student
    from automl.distill.teacher import freeze
    from automl.labels import label_space
    from automl.metrics import default_metric
    from automl.models import load_model
    from automl.splits import load_splits
    from automl.training import available_threads

    started = time.time()
    if options.method is not None and options.method not in METHODS:
        raise UserError(f"unknown --method {options.method!r}", fix="use model or data")
    _check_rates(options.augment)  # before the teacher loads: a bad rate costs nothing
    options.out.mkdir(parents=True, exist_ok=True)
    teacher = freeze(load_model(options.teacher))
    labels = teacher.labels
    if not labels.kind.has_labels:  # ABS-7/8/9: no classes or tags to give soft targets over
        raise UserError(f"automl distill cannot distil the {labels.kind.name} ({labels.task}) model {options.teacher}: "
                        "it distils classifiers, matchers and taggers (soft targets over classes or tags)",
                        fix="use the model itself: automl serve, or automl export --onnx where its family exports")
    splits = load_splits(options.data, options.dev, options.test, labels.task, options.seed)
    _check_labels(label_space(splits.task, splits.train, splits.dev, splits.test).names, labels.names, options.teacher)
    method_name = options.method or ("model" if teacher.family == "transformer" else "data")
    run = Distilling(options, teacher, splits, options.metric or default_metric(labels.task, labels),
                     options.student or default_student(teacher, method_name), options.threads or available_threads())
    block = presets.load("search_spaces")["distill"]

    def say(message: str) -> None:
        console.print(f"[dim]{message}[/]")

    console.print(f"[bold]distill ({method_name})[/] {labels.task}: teacher {teacher.family} from {options.teacher}, "
                  f"student {run.spec}; {len(splits.train):,} train / {len(splits.dev):,} dev / "
                  f"{len(splits.test):,} test; metric {run.metric}")
    teacher_test = run.score_test(teacher)
    console.print(f"  teacher test {run.metric} {teacher_test[run.metric]:.4f}")
    setup = Setup(teacher=teacher, student_spec=run.spec, train=list(splits.train), dev=splits.dev,
                  language=splits.language, seed=options.seed, epochs=options.epochs, batch_size=options.batch_size,
                  unlabeled=read_unlabeled(options.unlabeled, labels.task) if options.unlabeled else [],
                  patience=options.patience or int(block.get("patience", 8)), metric=options.metric, block=block,
                  families=presets.load("search_spaces")["families"], notes=list(splits.notes))
    method: Distillation = (ModelDistillation.prepare(setup, options) if method_name == "model"
                            else DataDistillation.prepare(setup, options, options.out, say))
    # --budget-minutes is the sweeps' time: the teacher's labels and cached outputs come first, out of it (a
    # pretrained teacher on a CPU can take longer to label the augmented text than the whole budget)
    budget = None if options.budget_minutes is None else 60 * options.budget_minutes
    share, sweeps_started = (0.6 if options.baseline else 1.0), time.time()
    student_out = run_sweep("student", method, run.metric, options.trials,
                            None if budget is None else sweeps_started + share * budget, run.score_test, on_message=say)
    baseline_out: SweepOutcome | None = None
    if options.baseline:
        baseline_out = run_sweep("baseline", method, run.metric, options.trials,
                                 None if budget is None else sweeps_started + budget, run.score_test, on_message=say)
    if student_out.best is None:
        raise UserError("no student trial finished", fix="give a larger --budget-minutes or fewer --epochs")
    teacher_entry = run.entry(str(options.teacher), teacher, Path(options.teacher), teacher_test)
    report = assemble(run, method, teacher_entry, student_out, baseline_out)
    report.notes = setup.notes + [f"QPS measured with {run.threads} thread(s) for every model, "
                                  f"{options.qps_seconds:g} s each; trials of one architecture share its QPS"]
    report.seconds = round(time.time() - started, 1)
    write_report(report, options.out)
    render(report, console)
    return report


def assemble(run: Distilling, method: Distillation, teacher: DistilledModel, student_out: SweepOutcome,
             baseline_out: SweepOutcome | None) -> DistillReport:
    """Student and baseline saved, scored and timed as the teacher was; their ratios, the frontier of every
    trial (frontier.html) and the data; the caller adds `notes` and `seconds`."""
    from automl.distill.report import frontier_html, ratios

    out, splits, metric = run.options.out, run.splits, run.metric
    assert student_out.best is not None
    student_out.best.save(out / "student")
    student = run.entry(run.spec, student_out.best, out / "student", run.score_test(student_out.best))
    baseline = None
    if baseline_out is not None and baseline_out.best is not None:
        baseline_out.best.save(out / "baseline")
        baseline = run.entry(f"{run.spec} (no distillation)", baseline_out.best, out / "baseline",
                             run.score_test(baseline_out.best))
    if teacher.qps.bf16 != student.qps.bf16:
        # one serves bf16 and the other could not (its predictions changed): time the bf16 one in fp32 too,
        # so that the report also has a speed-up at equal precision
        if student.qps.bf16:
            student.qps_fp32 = run.fp32(student_out.best)
        else:
            teacher.qps_fp32 = run.fp32(run.teacher)
    points = [_point("teacher", teacher, teacher.name, teacher.test, chosen=True)]
    for outcome, entry in ((student_out, student), (baseline_out, baseline)):
        if outcome is not None and entry is not None:
            points += [_point(outcome.kind, entry, f"{outcome.kind} trial {t.number}", t.test or {},
                              chosen=t.params == outcome.best_params and t.test == entry.test)
                       for t in outcome.trials if t.state == "COMPLETE"]
    title = f"{splits.task}: test {metric} vs QPS"
    return DistillReport(
        task=splits.task, metric=metric, method=method.method, teacher=teacher, student=student, baseline=baseline,
        ratios=ratios(teacher, student, baseline, metric), frontier=points,
        trials=student_out.trials + (baseline_out.trials if baseline_out else []),
        params={"student": student_out.best_params, "baseline": baseline_out.best_params if baseline_out else {}},
        dev={"student": student_out.best_dev, "baseline": baseline_out.best_dev if baseline_out else {}},
        data=DistillData(files=splits.files, train=len(splits.train), dev=len(splits.dev), test=len(splits.test),
                         language=splits.language, **method.facts),
        files={"frontier": str(frontier_html(points, metric, out / "frontier.html", title))})


def _point(kind: str, model: DistilledModel, name: str, test: dict[str, float], chosen: bool) -> FrontierPoint:
    return FrontierPoint.model_validate({"name": name, "kind": kind, "test": test, "qps_batch_1": model.qps.batch_1,
                                         "qps_batch_32": model.qps.batch_32, "parameters": model.parameters,
                                         "chosen": chosen})


def _check_rates(augment: dict[str, Any]) -> None:
    """AugmentConfig's own check, said in the command's flag names."""
    from automl.distill.augment import WORD_RATES, AugmentConfig

    default = AugmentConfig()
    rates = {"--" + name.replace("_", "-"): float(augment.get(name, getattr(default, name))) for name in WORD_RATES}
    if sum(rates.values()) > 1.0:
        said = " + ".join(f"{flag} {rate:g}" for flag, rate in rates.items())
        raise UserError(f"{said} = {sum(rates.values()):g}: each word is changed in one way at most, so the rates "
                        "may sum to 1 at most", fix="lower one of them")


def _check_labels(data_labels: list[str], teacher_labels: list[str], teacher_dir: Path) -> None:
    unknown = sorted(set(data_labels) - set(teacher_labels))
    if unknown:
        raise UserError(f"the data has labels the teacher in {teacher_dir} was not trained on: {', '.join(unknown)}",
                        fix="distill on the data the teacher was trained for, or retrain the teacher")
