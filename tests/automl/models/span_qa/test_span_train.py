"""A short real fine-tune of the span head on generated People's Daily questions beats a trivial reader,
and answers come back as context text with a score."""

import pytest

from automl.models import resolve_model
from automl.models.span_qa.generated import generated_questions
from automl.models.span_qa.train import SpanQAModel, SpanSettings, first_chars_baseline, squad_items


def test_generated_questions_hold_their_answers() -> None:
    items = squad_items(generated_questions(50))
    assert len(items) == 50
    for q in items:
        assert q.context[q.answer_start:q.answer_start + len(q.answers[0])] == q.answers[0]


@pytest.mark.slow
def test_span_head_learns_beyond_first_chars_baseline() -> None:
    items = squad_items(generated_questions(300))
    train, test = items[:240], items[240:]
    model = SpanQAModel(resolve_model("multilingual-e5-small").source,
                        SpanSettings(max_length=96, epochs=2, lr=1e-4))
    losses = model.fit(train)
    assert losses[-1] < losses[0]
    scores = model.evaluate(test)
    baseline = first_chars_baseline(train, test)
    assert scores["exact_match"] > baseline["exact_match"] + 0.3
    assert scores["f1"] > baseline["f1"]
    answer = model.answer(test[:1])[0]
    assert answer.text and answer.text in test[0].context
    assert answer.score > float("-inf")
