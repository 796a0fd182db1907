"""Loading from a transformers folder or hub id: which Auto class and head shape a task gets, the tokenizer,
and quiet loading."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from automl.models.base import LabelSpace


def head_shape(labels: LabelSpace) -> tuple[int, str | None]:
    """(outputs, transformers' problem_type) of the task head."""
    if labels.kind.is_tagging:
        return len(labels.names), None
    if labels.kind.is_span:  # ABS-9: a start and an end logit per token
        return 2, None
    if labels.kind.is_multilabel:
        return len(labels.names), "multi_label_classification"
    if labels.regression:
        return 1, "regression"
    return len(labels.names), "single_label_classification"


def auto_class(labels: LabelSpace) -> Any:
    from transformers import (
        AutoModelForQuestionAnswering,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
    )

    if labels.kind.is_span:
        return AutoModelForQuestionAnswering
    return AutoModelForTokenClassification if labels.kind.is_tagging else AutoModelForSequenceClassification


def load_tokenizer(auto: Any, source: str, labels: LabelSpace, local_files_only: bool) -> Any:
    tokenizer = auto.from_pretrained(source, local_files_only=local_files_only)
    if labels.kind.is_tagging and getattr(tokenizer, "add_prefix_space", None) is False:
        # byte-level BPE (RoBERTa) needs it to tokenize pre-split words
        tokenizer = auto.from_pretrained(source, local_files_only=local_files_only, add_prefix_space=True)
    return tokenizer


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """No load report ("classifier.weight MISSING" is the point of a new head) and no progress bars."""
    from transformers.utils import logging

    verbosity = logging.get_verbosity()
    bars = logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()
