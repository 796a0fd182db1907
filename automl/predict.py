"""`automl predict`: a saved model over a file, with each prediction's probabilities; scores too when the
file carries labels.

Input: any file the advisor's reader takes in the model's task format (labels then give scores), or the same
texts without labels: CSV with a header or JSONL/JSON records (a `text` column, `text_a`/`text_b` for pairs,
`tokens` for tagging, `question`/`context` for reading comprehension; a lone column is the text), or one text
a line (`text_a<TAB>text_b` for pairs, `question<TAB>context` for reading comprehension, space-separated tokens
for tagging).
Output: TSV (the input, the prediction, the probabilities as JSON) or JSONL (the answers `automl serve`
gives, with the input's line).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from advisor.dataset import Example
from advisor.errors import UserError
from presets.catalog import task as task_type


def read_inputs(path: Path, task: str) -> tuple[list[Example], bool]:
    """The examples of `path` and whether they carry labels (the advisor's reader took the file)."""
    from advisor.formats import read_dataset, read_text

    text = read_text(path, str(path))  # a missing, empty or non-UTF-8 file: the advisor's message and fix
    try:
        return read_dataset(str(path), task=task).examples, True
    except UserError:
        pass  # not the task's labeled format: texts only
    suffix = path.suffix.lower()
    if suffix == ".csv":
        records = _csv_records(text, path)
    elif suffix in (".jsonl", ".json"):
        records = _json_records(text, path)
    else:
        return _lines(text, path, task), False
    return [_from_record(r, line, task, path) for line, r in records], False


def _lines(text: str, path: Path, task: str) -> list[Example]:
    examples = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if task_type(task).is_span:  # ABS-9: question<TAB>context
            if len(parts) < 2:
                raise UserError(f"{path}:{number}: reading comprehension needs `question<TAB>context`.",
                                "Separate the question and its context with a tab, or give SQuAD JSON.")
            examples.append(Example(text=parts[1], text_b=parts[0], line=number))
        elif task_type(task).is_pair:
            if len(parts) < 2:
                raise UserError(f"{path}:{number}: a pair task needs `text_a<TAB>text_b`.",
                                "Separate the two texts with a tab.")
            examples.append(Example(text=parts[0], text_b=parts[1], line=number))
        elif task_type(task).is_tagging:
            examples.append(Example(text=parts[0], tokens=_tokens(parts[0]), line=number))
        else:
            examples.append(Example(text=parts[0], line=number))
    if not examples:
        raise UserError(f"{path}: no texts in the file.", "Give one text per line.")
    return examples


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(text.split()) if " " in text.strip() else tuple(text.strip())


def _csv_records(text: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Rows as records keyed by the header's names; without a header (no cell names a column the advisor
    knows), by position: the first cell is the text (the first two, a pair)."""
    from advisor.formats.roles import ALIASES, norm

    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as error:
        raise UserError(f"{path}: broken CSV: {error}",
                        'quote fields that hold commas or newlines with double quotes: "a, b"') from None
    header = [c.strip() for c in rows[0]] if rows else []
    first = 1 if any(norm(c) in ALIASES for c in header) else 0
    if not first:
        header = [str(i) for i in range(max((len(r) for r in rows), default=0))]
    return [(n + 1, dict(zip(header, row, strict=False))) for n, row in enumerate(rows) if n >= first
            and any(c.strip() for c in row)]


def _json_records(text: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            items = [(n + 1, item) for n, item in enumerate(json.loads(text))]
        else:
            items = [(n + 1, json.loads(line)) for n, line in enumerate(text.splitlines()) if line.strip()]
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: not JSON ({error}).", "Write one JSON object a line (JSONL) or a JSON list.") from None
    for line, item in items:
        if not isinstance(item, dict):
            raise UserError(f"{path}:{line}: a record must be a JSON object, not {type(item).__name__}.",
                            'Write records like {"text": "..."}.')
    return items


def _from_record(record: dict[str, Any], line: int, task: str, path: Path) -> Example:
    """An example from a record's columns, named as the advisor's reader names them (text, text_a,
    sentence, review, ...; text_b, sentence2, title, ...; tokens); a column it does not know is ignored."""
    from advisor.formats.roles import ALIASES, norm

    by_role: dict[str, Any] = {}
    for key, value in record.items():
        by_role.setdefault(ALIASES.get(norm(key), "?"), value)
    values = list(record.values())
    if task_type(task).is_span:  # ABS-9: a question and its context
        context, question = by_role.get("context", by_role.get("text")), by_role.get("question")
        if not isinstance(context, str) or not isinstance(question, str):
            raise UserError(f"{path}:{line}: reading comprehension needs a question and a context.",
                            'Name the columns "question" and "context".')
        return Example(text=context, text_b=question, line=line)
    if task_type(task).is_tagging and isinstance(by_role.get("tokens"), list):
        tokens = tuple(str(t) for t in by_role["tokens"])
        return Example(text=" ".join(tokens), tokens=tokens, line=line)
    text = by_role.get("text", values[0] if "0" in record or len(values) == 1 else None)
    if task_type(task).is_pair:
        text_b = by_role.get("text_b", values[1] if "1" in record else None)
        if not isinstance(text, str) or not isinstance(text_b, str):
            raise UserError(f"{path}:{line}: a pair task needs two texts, columns text_a and text_b.",
                            "Name the columns text_a and text_b.")
        return Example(text=text, text_b=text_b, line=line)
    if not isinstance(text, str):
        raise UserError(f"{path}:{line}: no text column (columns: {', '.join(record) or 'none'}).",
                        "Name the column of the texts `text`.")
    return Example(text=text, tokens=_tokens(text) if task_type(task).is_tagging else (), line=line)


def rows_tsv(examples: Sequence[Example], answers: Sequence[dict[str, Any]], preds: Sequence[Any]) -> str:
    """One line an example: the input, the prediction, and (classification) the probabilities as JSON."""
    lines = []
    for e, answer, pred in zip(examples, answers, preds, strict=True):
        cells = [" ".join(e.tokens) if e.tokens else e.text, *([e.text_b] if e.text_b is not None else []), _show(pred)]
        if "probabilities" in answer:
            cells.append(json.dumps(answer["probabilities"], ensure_ascii=False, separators=(",", ":")))
        lines.append("\t".join(c.replace("\t", " ").replace("\n", " ") for c in cells))
    return "\n".join(lines) + "\n"


def rows_jsonl(examples: Sequence[Example], answers: Sequence[dict[str, Any]]) -> str:
    out = []
    for e, answer in zip(examples, answers, strict=True):
        given = {"text": e.text} if e.text_b is None else {"text_a": e.text, "text_b": e.text_b}
        if "answer" in answer:  # ABS-9
            given = {"question": e.text_b or "", "context": e.text}
        out.append(json.dumps({"line": e.line, **given, **answer}, ensure_ascii=False))
    return "\n".join(out) + "\n"


def _show(pred: Any) -> str:
    if isinstance(pred, tuple | list):
        return " ".join(map(str, pred))
    return f"{pred:.4f}" if isinstance(pred, float) else str(pred)


def prediction_of(answer: dict[str, Any]) -> Any:
    """The prediction in the data's own terms (what `evaluate` scores) from an answer."""
    if "answer" in answer:  # ABS-9: the answer's text (its "score" is the span's logits)
        return str(answer["answer"])
    if "log_prob" in answer:  # ABS-8: a sentence's score under the language model
        from automl.models.lm import SentenceScore

        return SentenceScore(float(answer["log_prob"]), int(answer["units"]))
    for key, convert in (("label", str), ("labels", tuple), ("tags", tuple), ("score", float), ("text", str)):
        if key in answer:
            return convert(answer[key])
    raise ValueError(f"an answer without label, labels, tags or score: {sorted(answer)}")


def predict_file(model_dir: Path, data: Path, output: Path | None, batch_size: int, console: Console,
                 output_format: str | None = None, *, beam: int | None = None, max_new_tokens: int | None = None
                 ) -> None:
    from automl.metrics import evaluate
    from automl.models import load_model
    from automl.pipeline.model import pipeline_dir
    from automl.serve.outputs import answers as answer_all

    if pipeline_dir(model_dir) is not None:  # ABS-10: the SPLIT-2 pipeline's folder (automl/pipeline)
        from automl.pipeline.predict import predict_pipeline

        predict_pipeline(model_dir, data, output, batch_size, console, output_format)
        return
    fmt = output_format or ("jsonl" if output is not None and output.suffix.lower() == ".jsonl" else "tsv")
    if fmt not in ("tsv", "jsonl"):
        raise UserError(f"unknown output format {fmt!r}", fix="use --format tsv or --format jsonl")
    model = load_model(model_dir)
    task = model.labels.task
    if model.labels.kind.is_generation:  # decoding options of a generator (automl/models/seq2seq)
        setattr(model, "beam_size", beam or getattr(model, "beam_size", 1))  # noqa: B010 - no TaskModel field
        setattr(model, "max_target_length", max_new_tokens or getattr(model, "max_target_length", 64))  # noqa: B010
    examples, labeled = read_inputs(data, task)
    unanswered = sum(e.answer is None for e in examples) if model.labels.kind.is_span else 0
    if unanswered:  # questions without answers (SQuAD 2.0's unanswerable ones too): answered, not scored
        if labeled and unanswered < len(examples):
            Console(stderr=True).print(f"no scores: {unanswered} of {len(examples)} questions have no gold answer "
                                       "(SQuAD 2.0 unanswerable questions are not scored; the span head answers "
                                       "every question)")
        labeled = False
    got = answer_all(model, examples, batch_size=batch_size)
    preds = [prediction_of(a) for a in got]
    text = rows_jsonl(examples, got) if fmt == "jsonl" else rows_tsv(examples, got, preds)
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {len(examples):,} predictions to {output}")
    else:
        sys.stdout.write(text)
    if labeled:
        stderr = Console(stderr=True)
        unknown = ([] if model.labels.regression or not model.labels.kind.has_labels
                   else _unknown_labels(model.labels.names, model.targets(examples)))
        if unknown:
            stderr.print(f"no scores: the file's labels {', '.join(unknown[:5])} are not the model's "
                         f"({', '.join(model.labels.names[:10])})")
            return
        scores = evaluate(task, model.labels, model.targets(examples), preds)
        stderr.print("scores: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))


def _unknown_labels(names: Sequence[str], golds: Sequence[Any]) -> list[str]:
    known = set(names)
    found: dict[str, None] = {}
    for gold in golds:
        for name in (gold if isinstance(gold, tuple) else (gold,)):
            if str(name) not in known:
                found.setdefault(str(name), None)
    return list(found)
