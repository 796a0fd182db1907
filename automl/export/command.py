"""`automl export MODEL_DIR --onnx`: write the ONNX file, prove it answers as the model does, time both."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from advisor.dataset import Example
from advisor.errors import UserError
from automl.export.check import OutputCheck, SideBySide
from automl.results import REPORT_JSON

CHECK_EXAMPLES = 256  # enough to meet every length bucket of a test file; the check takes seconds
EXPORTS = ("automl exports one model folder at a time: bow, cnn, gru and lstm nets (classifiers, pair and feature "
           "models, regressors, taggers, whose CRF Viterbi stays in Python), transformer tiers (span-qa "
           "included), the char-lm and ensembles of these")


class ExportReport(BaseModel):
    model_dir: str
    family: str
    task: str
    onnx: str
    size_mb: float
    export_seconds: float
    inputs: list[str]
    data: str
    check: OutputCheck
    qps: SideBySide | None


def export_command(model_dir: Path, out: Path | None, data: Path | None, threads: int, seconds: float,
                   console: Console, time_it: bool = True) -> ExportReport:
    from automl.export.check import compare_outputs, side_by_side
    from automl.export.onnx import export_onnx, session
    from automl.models import load_model

    _refuse_pipeline(model_dir)
    model = load_model(model_dir).eval()
    if model.labels.kind.is_generation:  # ABS-7: seq2seq and hub-seq2seq decode step by step in Python
        raise UserError(f"automl cannot export the {model.family} generation model {model_dir} to ONNX: its forward "
                        "is the encoder alone and the text comes from a decoding loop (greedy or beam search) "
                        f"that runs in PyTorch, so an ONNX file would not generate anything; {EXPORTS}",
                        fix=f"serve it with `automl serve {model_dir}` (PyTorch), which answers with the text")
    data = data or _data_of_run(model_dir)
    examples = _examples(data, model.labels.task)
    out = out or Path(model_dir) / "model.onnx"
    console.print(f"exporting {model.family} {model.labels.task} model {model_dir} (traced on {data}) ...")
    exported = export_onnx(model, examples[:64], out)
    onnx_session = session(exported.path, threads)
    check = compare_outputs(model, onnx_session, examples)
    qps = side_by_side(model, onnx_session, examples, threads, seconds=seconds) if time_it and check.passed else None
    report = ExportReport(model_dir=str(model_dir), family=model.family, task=model.labels.task,
                          onnx=str(exported.path), size_mb=round(exported.size_mb, 2),
                          export_seconds=round(exported.seconds, 1), inputs=exported.inputs, data=str(data),
                          check=check, qps=qps)
    out.with_suffix(".export.json").write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    render(report, console)
    return report


def _refuse_pipeline(model_dir: Path) -> None:
    """An ABS-10 pipeline folder holds two models and the pair rule between them (Python): not one graph."""
    from automl.pipeline.model import pipeline_dir

    folder = pipeline_dir(Path(model_dir))
    if folder is not None:
        raise UserError(f"{model_dir} is an ABS-10 pipeline (an entity tagger, then a relation classifier on the "
                        f"entity pairs a rule picks in Python), not one model; {EXPORTS}",
                        fix=f"export its two models one by one: `automl export {folder / 'entities'} --onnx` and "
                            f"`automl export {folder / 'relations'} --onnx`; or serve the whole pipeline with "
                            f"`automl serve {folder}`")


def render(report: ExportReport, console: Console) -> None:
    check = report.check
    verdict = "[green]equal[/]" if check.passed else "[red]DIFFERENT[/]"
    console.print(f"wrote {report.onnx} ({report.size_mb} MB, {report.export_seconds} s; inputs "
                  f"{', '.join(report.inputs)})")
    if check.error:
        console.print(f"check on {check.examples} examples: [red]the ONNX graph failed[/] on a {check.error}")
        return
    console.print(f"check on {check.examples} examples, batch sizes {check.batch_sizes}: outputs {verdict} "
                  f"within {check.tolerance:g} (largest difference {check.max_abs_diff:.2e}); "
                  f"{check.same_predictions} of {check.examples} predictions identical")
    if report.qps is None:
        return
    q = report.qps
    table = Table(title=f"QPS, encode + forward + decode, fp32, {q.threads} thread(s), best of 2 x {q.seconds_each:g} s")
    for column in ("batch", "PyTorch", "onnxruntime", "onnx / torch"):
        table.add_column(column, justify="right")
    table.add_row("1", f"{q.torch_batch1:,.0f}", f"{q.onnx_batch1:,.0f}", f"{q.ratio_batch1:.2f}x")
    table.add_row(str(q.batch_size), f"{q.torch_batch:,.0f}", f"{q.onnx_batch:,.0f}", f"{q.ratio_batch:.2f}x")
    console.print(table)


def _examples(data: Path, task: str) -> list[Example]:
    from automl.predict import read_inputs

    examples, _ = read_inputs(data, task)
    if len(examples) < 2:
        raise UserError(f"{data} has {len(examples)} text(s); the export is traced and checked on at least 2",
                        fix="give --data a file with more texts")
    return examples[:CHECK_EXAMPLES]


def _data_of_run(model_dir: Path) -> Path:
    """The dev (else test, else train) file of the run whose report names this model folder's run."""
    for folder in [Path(model_dir), *Path(model_dir).resolve().parents][:4]:
        report = folder / REPORT_JSON
        if report.is_file():
            try:
                files = json.loads(report.read_text(encoding="utf-8")).get("data", {}).get("files", {})
            except (json.JSONDecodeError, AttributeError):
                continue
            for split in ("dev", "test", "train"):
                if files.get(split) and Path(files[split]).is_file():
                    return Path(files[split])
    raise UserError(f"no texts to check the export on: no report.json of a run above {model_dir} names a data file",
                    fix="give --data FILE (the task's format, or one text a line)")
