"""What a data file tells the advisor: task shape, labels, rows, language and text length.

`advisor recommend --data FILE` fills these answers and asks only the rest.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from advisor.inspection import inspect_files

# The answer shape each task abstraction comes from (the inverse of the ABS rules).
SHAPES: dict[str, dict[str, str]] = {
    "ABS-1": {"input": "one_text", "output": "one_class"},
    "ABS-2": {"input": "two_texts", "output": "one_class"},
    "ABS-3": {"input": "one_text", "output": "independent_labels"},
    "ABS-4": {"input": "text_and_features", "output": "one_class"},
    "ABS-5": {"input": "two_texts", "output": "similarity"},
    "ABS-6": {"input": "one_text", "output": "tag_per_token"},
    "ABS-7": {"input": "one_text", "output": "free_text"},
    "ABS-8": {"input": "one_text", "output": "sentence_probability"},
    "ABS-9": {"input": "passage_and_question", "output": "span"},
}


def language_of(sample: list[str]) -> str:
    letters = [ch for text in sample for ch in text if ch.isalpha()]
    cjk = sum("\u4e00" <= ch <= "\u9fff" for ch in letters)
    return "zh" if letters and cjk / len(letters) > 0.3 else "en"


def answers_from_data(paths: list[str], console: Console | None = None) -> dict[str, Any]:
    """Answers read off the first file (the training data); the other files are checked alongside it."""
    from advisor.datafile import read_dataset

    found = inspect_files(paths)
    train = found.files[0]
    sample = [e.text or " ".join(e.tokens) for e in read_dataset(paths[0]).examples[:500]]
    answers: dict[str, Any] = {**SHAPES.get(train.task, {}), "labeled_rows": train.rows,
                               "language": language_of(sample), "text_chars": max(1, train.lengths.p95)}
    if train.label_count:
        answers["num_labels"] = train.label_count
    if console is not None:
        console.print(f"[dim]from {train.path}: {train.task} {train.task_name}, {train.rows:,} rows, "
                      f"{train.label_count} labels, {answers['language']}, 95% of texts ≤ {train.lengths.p95} chars[/]")
        for warning in train.warnings + found.warnings:
            console.print(f"[yellow]⚠ {warning}[/]")
    return answers
