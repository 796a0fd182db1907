"""The generated People's Daily questions hold their answers where they say (the fine-tune itself:
tests/automl/test_run_span_qa.py, through `automl run`)."""

from automl.models.span_qa.generated import generated_questions


def test_generated_questions_hold_their_answers() -> None:
    items = [(p["context"], qa) for p in generated_questions(50) for qa in p["qas"]]
    assert len(items) == 50
    for context, qa in items:
        answer = qa["answers"][0]
        assert context[answer["answer_start"]:answer["answer_start"] + len(answer["text"])] == answer["text"]
