"""`automl`: run sweeps, predict with a saved model, reprint a report, write the demo data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from advisor.cli import user_errors

app = typer.Typer(help="Real fine-tune trials on your data: Optuna sweeps over pretrained transformers and "
                       "from-scratch networks, batch-size search, measured accuracy and serving QPS.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()


@app.command()
@user_errors
def run(
    ctx: typer.Context,
    data: Annotated[Path, typer.Option("--data", help="Training file in one of the guide's formats.")],
    dev: Annotated[Path | None, typer.Option(help="Dev file; without it a seeded 10% of train.")] = None,
    test: Annotated[Path | None, typer.Option(help="Test file; without it a seeded 10% of train.")] = None,
    task: Annotated[str, typer.Option(help="auto, or an ABS id (ABS-1 to ABS-9; ABS-10 trains the entity-relation pipeline).")] = "auto",
    models: Annotated[str | None, typer.Option(help="Comma-separated tiers (presets/models.toml), hub ids or local dirs; default: the advisor's ladder.")] = None,
    trials: Annotated[int, typer.Option(min=1, help="The study's total number of trials (a resumed run only runs what is missing).")] = 12,
    budget_minutes: Annotated[float | None, typer.Option(min=0.1, help="Stop starting trials after this long; a running trial stops at it too.")] = 20.0,
    storage: Annotated[str | None, typer.Option(help="Any Optuna storage URL; default sqlite in --out.")] = None,
    study: Annotated[str | None, typer.Option(help="Study name; default from the data file and task.")] = None,
    out: Annotated[Path, typer.Option(help="Output folder: study, best model, report.")] = Path("runs/latest"),
    answers: Annotated[Path | None, typer.Option(help="Answers file for the advisor (metric, QPS, ...).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for splits, sampling and training.")] = 13,
    memory_fraction: Annotated[float, typer.Option(min=0.05, max=0.95, help="CPU: share of available RAM a batch may use.")] = 0.5,
    metric: Annotated[str | None, typer.Option(help="Metric to optimise; default from answers or the task.")] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="Epochs per trial; default per model family.")] = None,
    max_batch: Annotated[int | None, typer.Option(min=1, help="Largest batch size to probe and search; default per model family.")] = None,
    ensemble: Annotated[int, typer.Option(min=1, help="Keep the best N trials' models and try an ensemble of them (classification); 1: no ensemble.")] = 5,
    nproc: Annotated[int, typer.Option(min=1, help="Train each trial data-parallel on N processes of this machine (torchrun, DDP: Gloo on CPU, NCCL one GPU each); batch sizes are per process.")] = 1,
) -> None:
    """Sweep models, learning rate and batch size on your data; save the best model and a report."""
    from automl.run import RunOptions
    from automl.run import run as run_sweep

    options = RunOptions(data=data, dev=dev, test=test, task=None if task == "auto" else task.upper(),
                         models=[m.strip() for m in models.split(",") if m.strip()] if models else None,
                         trials=trials, budget_minutes=budget_minutes, storage=storage, study=study, out=out,
                         answers=answers, seed=seed, memory_fraction=memory_fraction, metric=metric, epochs=epochs,
                         max_batch=max_batch, ensemble=ensemble)
    if nproc > 1:  # the same command under torchrun (automl/distributed.py)
        from automl.distributed import command_args, launch
        from automl.preflight import check_run

        check_run(options)  # once, before the ranks start (each would say it)
        raise typer.Exit(launch(nproc, command_args(ctx)))
    run_sweep(options, console)


@app.command()
@user_errors
def predict(
    model: Annotated[Path, typer.Option("--model", help="A model folder written by `automl run`.")],
    data: Annotated[Path, typer.Option("--data", help="Texts to label: the task's format (labels give scores), CSV/JSONL records with a text column, or one text per line.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write predictions; default stdout.")] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    output_format: Annotated[str | None, typer.Option("--format", help="tsv (input, prediction, probabilities as JSON) or jsonl (the answers `automl serve` gives); default: jsonl for a .jsonl --output, else tsv.")] = None,
    beam: Annotated[int | None, typer.Option(min=1, help="Generation (ABS-7): beam size; 1 is greedy; default the model's own (greedy, as its dev scores were).")] = None,
    max_new_tokens: Annotated[int | None, typer.Option(min=1, help="Generation (ABS-7): the longest answer in units; default 1.5x the longest training target.")] = None,
) -> None:
    """Run a saved model over a file and write its predictions with their probabilities."""
    from automl.predict import predict_file
    from automl.preflight import check_predict

    check_predict(model, data, output)  # before the model loads (automl/preflight.py)
    predict_file(model, data, output, batch_size, console, output_format, beam=beam, max_new_tokens=max_new_tokens)


@app.command()
@user_errors
def export(
    model_dir: Annotated[Path, typer.Argument(help="A model folder written by `automl run`.")],
    onnx: Annotated[bool, typer.Option("--onnx", help="Export to ONNX (the one format so far).")] = False,
    out: Annotated[Path | None, typer.Option(help="The .onnx file; default MODEL_DIR/model.onnx.")] = None,
    data: Annotated[Path | None, typer.Option(help="Texts to trace, check and time on; default the dev file of the run that wrote the model.")] = None,
    threads: Annotated[int, typer.Option(min=1, help="Threads for both PyTorch and onnxruntime while timing.")] = 1,
    seconds: Annotated[float, typer.Option(min=0.1, help="Seconds each QPS measurement runs (best of 2).")] = 1.0,
) -> None:
    """Export a saved model, check its outputs against PyTorch's (1e-4) and compare their QPS."""
    from advisor.errors import UserError
    from automl.export.command import export_command

    if not onnx:
        raise UserError("say which format to export", fix="add --onnx")
    from automl.preflight import check_file, check_model_folder, check_output_file

    check_model_folder(model_dir, "MODEL_DIR")
    check_output_file(out, "--out")
    check_file(data, "--data")
    report = export_command(model_dir, out, data, threads, seconds, console)
    if not report.check.passed:
        raise typer.Exit(1)


@app.command()
@user_errors
def serve(
    model_dir: Annotated[Path, typer.Argument(help="A model folder written by `automl run`.")],
    host: Annotated[str, typer.Option(help="Address to listen on; 127.0.0.1 answers this machine only.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port; 0 picks a free one.")] = 8000,
    threads: Annotated[int | None, typer.Option(min=1, help="torch threads for the model; default torch's.")] = None,
    max_batch: Annotated[int, typer.Option(min=1, help="Most texts of concurrent requests answered in one forward pass.")] = 64,
    onnx: Annotated[Path | None, typer.Option(help="Run the forward in onnxruntime from this file (`automl export --onnx` of the same model).")] = None,
) -> None:
    """Answer POST /predict {"texts": [...]} with labels and probabilities (tags and spans, scores; answers to
    {"questions": [...]} for reading comprehension) over HTTP."""
    from automl.preflight import check_model_folder
    from automl.serve.server import serve as run_server

    check_model_folder(model_dir, "MODEL_DIR")
    run_server(model_dir, host, port, threads, max_batch, console, onnx)


@app.command()
@user_errors
def report(
    out: Annotated[Path, typer.Argument(help="The --out folder of a run (or its report.json).")],
    storage: Annotated[str | None, typer.Option(help="Rebuild the report from this study storage URL (any worker's sweep) into OUT, instead of reprinting OUT's.")] = None,
    study: Annotated[str | None, typer.Option(help="With --storage: the study name; needed when the storage holds several.")] = None,
) -> None:
    """Reprint the results of a run, or rebuild them from its study (--storage)."""
    if storage is not None:
        from automl.rebuild import rebuild_report

        rebuild_report(storage, study, out, console)
        return
    from automl.pipeline.report import read as read_pipeline_report
    from automl.pipeline.report import render as render_pipeline
    from automl.report import read_report, render_report

    pipeline = read_pipeline_report(out)  # ABS-10: the SPLIT-2 pipeline's report (automl/pipeline)
    if pipeline is not None:
        render_pipeline(pipeline, console)
        return
    render_report(read_report(out), console)


@app.command("demo-data")
@user_errors
def demo_data(
    out: Annotated[Path, typer.Argument(help="Folder to write the demo sets into.")],
    only: Annotated[str | None, typer.Option(help="Comma-separated set names (default: all).")] = None,
    seed: Annotated[int, typer.Option()] = 13,
) -> None:
    """Write ready train/dev/test files from data that installed packages ship (no network)."""
    from automl.demo_data import write_demo_data
    from automl.preflight import check_folder

    check_folder(out, "OUT")
    sets = write_demo_data(out, seed=seed, only=[s.strip() for s in only.split(",")] if only else None)
    for demo in sets.values():
        counts = ", ".join(f"{k} {v:,}" for k, v in demo.counts.items())
        console.print(f"[bold]{demo.name}[/] ({demo.task}, {demo.language}): {counts} → {demo.files['train'].parent}")


@app.command()
@user_errors
def distill(
    teacher: Annotated[Path, typer.Option("--teacher", help="The teacher: a model folder from `automl run` (or any model automl saved).")],
    data: Annotated[Path, typer.Option("--data", help="Training file the teacher was trained for.")],
    dev: Annotated[Path | None, typer.Option(help="Dev file; without it a seeded 10% of train.")] = None,
    test: Annotated[Path | None, typer.Option(help="Test file; without it a seeded 10% of train.")] = None,
    student: Annotated[str | None, typer.Option(help="layers:N (the teacher cut to N layers, spread out) or layers:0,5 (those layers), with ,ffn:W to keep the W most important feed-forward neurons of each (layers:3,ffn:1024); a tier or model folder; or bow/cnn/gru/lstm. Default: half the teacher's layers (model), bow (data).")] = None,
    method: Annotated[str | None, typer.Option(help="model (DIST-2: soft labels, optional TD1) or data (DIST-4: augment, teacher labels); default: model for a transformer teacher, else data.")] = None,
    unlabeled: Annotated[Path | None, typer.Option(help="Unlabeled text, one per line: labeled by the teacher and trained on.")] = None,
    trials: Annotated[int, typer.Option(min=1, help="Optuna trials for the student, and as many for the baseline.")] = 4,
    budget_minutes: Annotated[float | None, typer.Option(min=0.1, help="Time for both sweeps: 60% student, the rest baseline.")] = 30.0,
    out: Annotated[Path, typer.Option(help="Output folder: student/, baseline/, augmented/, report, frontier.html.")] = Path("runs/distill"),
    epochs: Annotated[int | None, typer.Option(min=1, help="Fix the epochs instead of searching them.")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Default: 32 for transformers, 64 for scratch nets.")] = None,
    patience: Annotated[int | None, typer.Option(min=1, help="Evals (4 an epoch) without a better dev score before a trial stops; default [distill] patience.")] = None,
    td1_epochs: Annotated[float, typer.Option(min=0.0, help="Epochs of stage TD1 before TD2: attention relations (MiniLMv2), plus hidden states for a student cut from the teacher (TinyBERT); 0 skips it.")] = 0.0,
    hidden_weight: Annotated[float, typer.Option(min=0.0, help="TD1: weight of the hidden-state MSE of a cut student against the teacher layers it was copied from; 0: relations only.")] = 1.0,
    soft_labels: Annotated[bool, typer.Option(help="Data distillation: learn the teacher's soft labels too.")] = False,
    augment: Annotated[bool, typer.Option(help="Model distillation: also train on augmented text the teacher labels (data distillation always does).")] = False,
    copies: Annotated[int, typer.Option(min=0, help="Augmented versions per training example.")] = 4,
    unk_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Word -> UNK rate.")] = 0.1,
    pos_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Word -> same-POS word rate (Chinese: jieba; tagging data: a token seen with the same tag).")] = 0.1,
    nsample_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Rate of cutting to a random span.")] = 0.25,
    neighbour_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Word -> one of its nearest words in a transformer teacher's word embeddings (new words the teacher knows; TinyBERT's augmentation). 0: off.")] = 0.0,
    baseline: Annotated[bool, typer.Option(help="Also train the student architecture without distillation.")] = True,
    seed: Annotated[int, typer.Option(help="Seed for splits, augmentation, sampling and training.")] = 13,
    threads: Annotated[int | None, typer.Option(min=1, help="Threads for the QPS measurements; default the cores free at start.")] = None,
) -> None:
    """Distil a teacher into a fast student; report teacher, student and baseline side by side."""
    from automl.distill.run import DistillOptions
    from automl.distill.run import distill as run_distill

    options = DistillOptions(teacher=teacher, data=data, dev=dev, test=test, student=student, method=method,
                             unlabeled=unlabeled, trials=trials, budget_minutes=budget_minutes, out=out, seed=seed,
                             epochs=epochs, batch_size=batch_size, td1_epochs=td1_epochs, hidden_weight=hidden_weight,
                             soft_labels=soft_labels,
                             patience=patience, model_augment=augment,
                             augment={"copies": copies, "unk_rate": unk_rate, "pos_rate": pos_rate,
                                      "nsample_rate": nsample_rate, "neighbour_rate": neighbour_rate},
                             baseline=baseline, threads=threads)
    from automl.preflight import check_distill

    check_distill(options)  # before the teacher loads (automl/preflight.py)
    run_distill(options, console)


from automl.curve.command import curve as curve_command  # noqa: E402  (its own module: typer + rich only)

app.command("curve")(curve_command)


if __name__ == "__main__":
    app()
