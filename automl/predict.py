"""`automl predict`: a saved model over a file; scores too when the file carries labels."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console

from advisor.dataset import Example
from advisor.errors import UserError


def read_unlabeled(path: Path, task: str) -> list[Example]:
    """One input per line: a text, `text_a\\ttext_b` for pairs, space-separated tokens for tagging."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file.", "Check the path of the texts to label.") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start}).", "Save the file as UTF-8.") from None
    examples = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if task in ("ABS-2", "ABS-5"):
            parts = line.split("\t")
            if len(parts) < 2:
                raise UserError(f"{path}:{number}: a pair task needs `text_a<TAB>text_b`.", "Separate the two texts with a tab.")
            examples.append(Example(text=parts[0], text_b=parts[1], line=number))
        elif task == "ABS-6":
            text = line.split("\t")[0]
            tokens = tuple(text.split()) if " " in text.strip() else tuple(text.strip())
            examples.append(Example(text=text, tokens=tokens, line=number))
        else:
            examples.append(Example(text=line.split("\t")[0], line=number))
    if not examples:
        raise UserError(f"{path}: no texts in the file.", "Give one text per line.")
    return examples


def _show(pred: object) -> str:
    if isinstance(pred, tuple):
        return " ".join(map(str, pred))
    return f"{pred:.4f}" if isinstance(pred, float) else str(pred)


def predict_file(model_dir: Path, data: Path, output: Path | None, batch_size: int, console: Console) -> None:
    from advisor.datafile import read_dataset
    from automl.metrics import evaluate
    from automl.models import load_model
    from automl.training import predict

    model = load_model(model_dir)
    task = model.labels.task
    try:
        labeled: list[Example] | None = read_dataset(str(data), task=task).examples
    except UserError:
        labeled = None  # not in the task's labeled format: plain texts
    examples = labeled if labeled is not None else read_unlabeled(data, task)
    preds = predict(model, examples, batch_size=batch_size)
    rows = [f"{' '.join(e.tokens) if e.tokens else e.text}{chr(9) + e.text_b if e.text_b else ''}\t{_show(p)}"
            for e, p in zip(examples, preds, strict=True)]
    text = "\n".join(rows) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {len(rows):,} predictions to {output}")
    else:
        sys.stdout.write(text)
    if labeled is not None:
        scores = evaluate(task, model.labels, model.targets(labeled), preds)
        Console(stderr=True).print("scores: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
