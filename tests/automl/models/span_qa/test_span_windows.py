"""Sliding windows over a long context: the gold answer's characters come back from its token span in every
window that holds it, including an answer that sits across the first window's end."""

import pytest
import torch

from automl.models import resolve_model
from automl.models.span_qa.windows import best_answers, make_windows


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_model("minilm-l6").source, local_files_only=True)


def _long_context() -> tuple[str, tuple[int, int]]:
    filler = " ".join(f"word{i}" for i in range(60))
    answer = "Ada Lovelace"
    context = f"{filler} the first programmer was {answer} according to many {filler}"
    first = context.index(answer)
    return context, (first, first + len(answer))


def test_answer_characters_recovered_across_windows(tokenizer) -> None:
    context, gold = _long_context()
    w = make_windows(tokenizer, ["who was the first programmer?"], [context], max_length=48, stride=16,
                     answers=[gold])
    assert len(w.question_of) > 2  # the context really is cut into several windows
    holding = [i for i in range(len(w.starts)) if w.starts[i] > 0]
    assert holding, "some window must hold the answer"
    for i in holding:
        start, end = w.offsets[i][w.starts[i]], w.offsets[i][w.ends[i]]
        assert start is not None and end is not None
        assert context[start[0]:end[1]] == "Ada Lovelace"
    # windows that lack part of the answer point at [CLS]
    assert all(w.ends[i] == 0 for i in range(len(w.starts)) if i not in holding)


def test_only_context_tokens_carry_offsets(tokenizer) -> None:
    context, gold = _long_context()
    w = make_windows(tokenizer, ["who?"], [context], max_length=48, stride=16, answers=[gold])
    ids = w.encoding["input_ids"][0].tolist()
    assert w.offsets[0][0] is None  # [CLS]
    assert w.offsets[0][1] is None  # the question
    assert sum(o is not None for o in w.offsets[0]) < len(ids)


def test_best_answer_picked_across_windows_from_logits(tokenizer) -> None:
    context, gold = _long_context()
    w = make_windows(tokenizer, ["who was the first programmer?"], [context], max_length=48, stride=16,
                     answers=[gold])
    n, length = w.encoding["input_ids"].shape
    start_logits, end_logits = torch.zeros(n, length), torch.zeros(n, length)
    window = next(i for i in range(n) if w.starts[i] > 0)
    start_logits[window, w.starts[window]] = 10.0
    end_logits[window, w.ends[window]] = 10.0
    (answer,) = best_answers(w, [context], start_logits, end_logits, max_answer_tokens=10)
    assert answer.text == "Ada Lovelace"
    assert (answer.start, answer.end) == gold
    assert answer.score == pytest.approx(20.0)
