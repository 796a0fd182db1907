"""`automl distill`: from a teacher folder and data files to a saved student and a side-by-side report.

Order of work: load and freeze the teacher, read the splits, score the teacher on test; then either
model distillation (cache the teacher's outputs on train, sweep the student: TD1 optional, TD2) or data
distillation (augment, label with the teacher, write part.0 / part.1, sweep a BOW/CNN student); then the
same student architecture without distillation (the baseline); then measure every model's serving QPS
with one fixed thread count, write report.json / report.md / frontier.html.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

import presets
from advisor.errors import UserError

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


def distill(options: DistillOptions, console: Console) -> dict[str, Any]:
    from automl.distill.augment import AugmentConfig
    from automl.distill.data_distill import DataDistillJob, read_unlabeled, teacher_data, write_parts
    from automl.distill.model_distill import ModelDistillJob, distill_ranges, finetune_ranges
    from automl.distill.report import dir_size_mb, frontier_html, ratios, render, write_report
    from automl.distill.search import SweepOutcome, run_sweep
    from automl.distill.student import default_student
    from automl.distill.teacher import freeze, teacher_labels, teacher_outputs
    from automl.labels import label_space
    from automl.metrics import default_metric, evaluate
    from automl.models import load_model
    from automl.serving import measure_qps
    from automl.splits import load_splits
    from automl.training import available_threads, predict

    started = time.time()
    if options.method is not None and options.method not in METHODS:
        raise UserError(f"unknown --method {options.method!r}", fix="use model or data")
    _check_rates(options.augment)  # before the teacher loads: a bad rate costs nothing
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    teacher = freeze(load_model(options.teacher))
    labels = teacher.labels
    splits = load_splits(options.data, options.dev, options.test, labels.task, options.seed)
    _check_labels(label_space(splits.task, splits.train, splits.dev, splits.test).names, labels.names, options.teacher)
    metric = options.metric or default_metric(labels.task, labels)
    method = options.method or ("model" if teacher.family == "transformer" else "data")
    spec = options.student or default_student(teacher, method)
    block = presets.load("search_spaces")["distill"]
    families = presets.load("search_spaces")["families"]
    notes = list(splits.notes)
    patience = options.patience or int(block.get("patience", 8))
    threads = options.threads or available_threads()
    unlabeled = read_unlabeled(options.unlabeled, labels.task) if options.unlabeled else []

    def say(message: str) -> None:
        console.print(f"[dim]{message}[/]")

    def score_test(model: Any) -> dict[str, float]:
        return evaluate(labels.task, labels, model.targets(splits.test), predict(model, splits.test, batch_size=64))

    console.print(f"[bold]distill ({method})[/] {labels.task}: teacher {teacher.family} from {options.teacher}, "
                  f"student {spec}; {len(splits.train):,} train / {len(splits.dev):,} dev / {len(splits.test):,} test; "
                  f"metric {metric}")
    teacher_test = score_test(teacher)
    console.print(f"  teacher test {metric} {teacher_test[metric]:.4f}")
    budget = None if options.budget_minutes is None else 60 * options.budget_minutes
    share = 0.6 if options.baseline else 1.0
    deadline_student = None if budget is None else started + share * budget
    deadline_baseline = None if budget is None else started + budget
    extra: dict[str, Any] = {}

    if method == "model":
        train = list(splits.train)
        if unlabeled:
            train += teacher_labels(teacher, unlabeled)
            notes.append(f"{len(unlabeled):,} unlabeled texts labeled by the teacher joined the training data")
        if options.model_augment:
            from automl.distill.augment import augment
            from automl.distill.neighbours import neighbour_source

            made_model = augment(splits.train, labels.task, AugmentConfig(seed=options.seed, **options.augment),
                                 neighbour_source(teacher))
            train += teacher_labels(teacher, made_model.examples)
            notes += made_model.notes
            notes.append(f"{len(made_model.examples):,} augmented texts labeled by the teacher joined the training "
                         "data (soft labels from the cache, hard labels = the teacher's predictions)")
            extra["augmented"] = len(made_model.examples)
        elif options.augment.get("neighbour_rate"):
            notes.append("--neighbour-rate unused: model distillation augments its data only with --augment")
        cache = teacher_outputs(teacher, train)
        probe = ModelDistillJob(teacher, spec, train, splits.dev, splits.language, cache, 0, options.seed).new_student()
        batch = options.batch_size or (32 if probe.family == "transformer" else 64)
        job = ModelDistillJob(teacher, spec, train, splits.dev, splits.language, cache, batch, options.seed,
                              td1_epochs=options.td1_epochs, relation_heads=options.relation_heads,
                              hidden_weight=options.hidden_weight,
                              patience=patience, baseline_train=list(splits.train))
        ranges = distill_ranges(block, probe.family, options.epochs)
        base_ranges = finetune_ranges(families, probe, options.epochs)
        del probe
        student_plan, baseline_plan = job.distill_plan, job.baseline_plan
        extra["teacher_outputs_cached"] = len(cache)
    else:
        config = AugmentConfig(seed=options.seed, **options.augment)
        made = teacher_data(teacher, splits.train, unlabeled, config)
        notes += made.notes
        parts = write_parts(out / "augmented", labels.task, splits.train, made.labeled)
        console.print(f"  augmented {made.augmented:,} + unlabeled {made.unlabeled:,} texts labeled by the teacher "
                      f"-> {parts[1]}")
        djob = DataDistillJob(teacher, spec, list(splits.train), made.labeled, list(splits.train) + unlabeled,
                              splits.dev, splits.language, options.batch_size or 64, options.seed,
                              soft_labels=options.soft_labels, patience=patience)
        probe_family = djob.new_student().family
        ranges = distill_ranges(block, probe_family, options.epochs)
        if not options.epochs:
            ranges.epochs = (int(block["data_epochs_low"]), int(block["data_epochs_high"]))
            ranges.epochs_default = int(block["data_epochs_default"])
        if not options.soft_labels:
            ranges.temperature, ranges.soft_weight = (1.0, 1.0), (0.0, 0.0)
        base_ranges = distill_ranges(block, probe_family, options.epochs)
        base_ranges.temperature, base_ranges.soft_weight = (1.0, 1.0), (0.0, 0.0)
        if not options.epochs:
            n = int(families["scratch"]["scratch"]["epochs"])
            base_ranges.epochs, base_ranges.epochs_default = (n, n), n
        student_plan, baseline_plan = djob.distill_plan, djob.baseline_plan
        extra.update(augmented=made.augmented, unlabeled=made.unlabeled, pos_replacement=made.pos_used,
                     parts=[str(p) for p in parts], augment=asdict(config))

    from automl.distill.model_distill import defaults

    first = defaults(ranges, method == "model" or options.soft_labels)
    student_out = run_sweep("student", lambda t: student_plan(t, ranges), splits.dev, options.trials, options.seed,
                            deadline_student, score_test, enqueue=[first] if first else None, on_message=say)
    baseline_out: SweepOutcome | None = None
    if options.baseline:
        first = defaults(base_ranges, False)
        baseline_out = run_sweep("baseline", lambda t: baseline_plan(t, base_ranges), splits.dev, options.trials,
                                 options.seed, deadline_baseline, score_test, enqueue=[first] if first else None,
                                 on_message=say)
    if student_out.best is None:
        raise UserError("no student trial finished", fix="give a larger --budget-minutes or fewer --epochs")

    def entry(name: str, model: Any, directory: Path, test: dict[str, float]) -> dict[str, Any]:
        measured = measure_qps(model, splits.test, batch_size=32, seconds=options.qps_seconds, threads=threads)
        return {"name": name, "family": model.family, "dir": str(directory), "parameters": model.num_parameters(),
                "size_mb": dir_size_mb(directory), "test": test,
                "qps": {"batch_1": measured["qps_batch1"], "batch_32": measured["qps_batch"], **measured}}

    student_dir = out / "student"
    student_out.best.save(student_dir)
    report: dict[str, Any] = {"task": labels.task, "metric": metric, "method": method}
    report["teacher"] = entry(str(options.teacher), teacher, Path(options.teacher), teacher_test)
    report["student"] = entry(spec, student_out.best, student_dir, score_test(student_out.best))
    if baseline_out is not None and baseline_out.best is not None:
        baseline_dir = out / "baseline"
        baseline_out.best.save(baseline_dir)
        report["baseline"] = entry(f"{spec} (no distillation)", baseline_out.best, baseline_dir,
                                   score_test(baseline_out.best))
    if bool(report["teacher"]["qps"]["bf16"]) != bool(report["student"]["qps"]["bf16"]):
        # one serves bf16 and the other could not (its predictions changed): time the bf16 one in fp32 too,
        # so that the report also has a speed-up at equal precision
        role, model = (("student", student_out.best) if report["student"]["qps"]["bf16"] else ("teacher", teacher))
        again = measure_qps(model, splits.test, batch_size=32, seconds=options.qps_seconds, threads=threads,
                            bf16=False)
        report[role]["qps_fp32"] = {"batch_1": again["qps_batch1"], "batch_32": again["qps_batch"]}
    report["ratios"] = ratios(report)
    points = [_point("teacher", report["teacher"], chosen=True)]
    for outcome, role in ((student_out, "student"), (baseline_out, "baseline")):
        if outcome is None or role not in report:
            continue
        for t in outcome.trials:
            if t.get("state") == "COMPLETE":
                points.append(_point(role, {**report[role], "name": f"{role} trial {t['number']}", "test": t["test"]},
                                     chosen=t["params"] == outcome.best_params and t["test"] == report[role]["test"]))
    report["frontier"] = points
    report["trials"] = student_out.trials + (baseline_out.trials if baseline_out else [])
    report["params"] = {"student": student_out.best_params, "baseline": baseline_out.best_params if baseline_out else {}}
    report["dev"] = {"student": student_out.best_dev, "baseline": baseline_out.best_dev if baseline_out else {}}
    report["data"] = {"files": splits.files, "train": len(splits.train), "dev": len(splits.dev),
                      "test": len(splits.test), "language": splits.language, **extra}
    report["notes"] = notes + [f"QPS measured with {threads} thread(s) for every model, {options.qps_seconds:g} s each; "
                               "trials of one architecture share its QPS"]
    report["files"] = {"frontier": str(frontier_html(points, metric, out / "frontier.html",
                                                     f"{labels.task}: test {metric} vs QPS"))}
    report["seconds"] = round(time.time() - started, 1)
    write_report(report, out)
    render(report, console)
    return report


def _point(kind: str, model: dict[str, Any], chosen: bool) -> dict[str, Any]:
    return {"name": model["name"], "kind": kind, "test": model["test"], "qps_batch_1": model["qps"]["batch_1"],
            "qps_batch_32": model["qps"]["batch_32"], "parameters": model["parameters"], "chosen": chosen}


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
