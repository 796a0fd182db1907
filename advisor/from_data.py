"""What a data file tells the advisor: task shape, labels, rows, language and text length.

`advisor recommend --data FILE` fills these answers and asks only the rest.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from advisor.inspection import inspect_files
from presets.catalog import task


def language_of(sample: list[str]) -> str:
    letters = [ch for text in sample for ch in text if ch.isalpha()]
    cjk = sum("\u4e00" <= ch <= "\u9fff" for ch in letters)
    return "zh" if letters and cjk / len(letters) > 0.3 else "en"


def answers_from_data(paths: list[str], console: Console | None = None) -> dict[str, Any]:
    """Answers read off the first file (the training data); the other files are checked alongside it."""
    from advisor.formats import read_dataset

    found = inspect_files(paths)
    train = found.files[0]
    sample = [e.text or " ".join(e.tokens) for e in read_dataset(paths[0]).examples[:500]]
    shape = task(train.task)  # the inverse of the ABS rules: the answers that lead to this task
    answers: dict[str, Any] = {"input": shape.input, "output": shape.output, "labeled_rows": train.rows,
                               "language": language_of(sample), "text_chars": max(1, train.lengths.p95)}
    if train.label_count:
        answers["num_labels"] = train.label_count
    if console is not None:
        console.print(f"[dim]from {train.path}: {train.task} {train.task_name}, {train.rows:,} rows, "
                      f"{train.label_count} labels, {answers['language']}, 95% of texts ≤ {train.lengths.p95} chars[/]")
        for warning in train.warnings + found.warnings:
            console.print(f"[yellow]⚠ {warning}[/]")
    return answers
