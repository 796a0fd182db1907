"""SQuAD JSON (ABS-9): data / paragraphs / context / qas / question / answers; one example a question."""

from __future__ import annotations

from typing import Any

from advisor.dataset import Dataset, Example
from advisor.formats._base import ReadContext
from presets.catalog import TaskId

_FIX = ('SQuAD layout: {"data": [{"paragraphs": [{"context": "...", "qas": [{"question": "...", '
        '"answers": [{"text": "...", "answer_start": 0}]}]}]}]}')


def read_squad(obj: dict[str, Any], ctx: ReadContext) -> Dataset:
    if ctx.wanted not in (None, TaskId.ABS_9):
        raise ctx.incompatible("it is SQuAD-style JSON (ABS-9)")
    examples: list[Example] = []
    no_answer = mismatched = impossible = 0
    articles = obj.get("data")
    if not isinstance(articles, list):
        raise ctx.error(None, "'data' is not a list", _FIX)
    for a, article in enumerate(articles):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise ctx.error(None, f"data[{a}] has no 'paragraphs' list", _FIX)
        for p, para in enumerate(paragraphs):
            where = f"data[{a}].paragraphs[{p}]"
            if not isinstance(para, dict) or not isinstance(para.get("context"), str):
                raise ctx.error(None, f"{where} has no 'context' text", _FIX)
            if not isinstance(para.get("qas"), list):
                raise ctx.error(None, f"{where} has no 'qas' list", _FIX)
            context = para["context"]
            for q, qa in enumerate(para["qas"]):
                if not isinstance(qa, dict) or not isinstance(qa.get("question"), str):
                    raise ctx.error(None, f"{where}.qas[{q}] has no 'question' text", _FIX)
                given = qa.get("answers")
                if qa.get("is_impossible") is True:  # SQuAD 2.0: unanswerable, whatever its answers hold
                    impossible, given = impossible + 1, None
                answer, start = first_answer(given, context)
                if answer is None:
                    no_answer += 1
                elif start is not None and context[start:start + len(answer)] != answer:
                    mismatched += 1
                examples.append(Example(text=context, text_b=qa["question"], answer=answer, answer_start=start,
                                        answers=all_answers(given)))
    if not examples:
        raise ctx.error(None, "no questions found", _FIX)
    ctx.notes.append("SQuAD JSON: one example per question; training reads the first answer, scores the best "
                     "over all of them")
    if no_answer:
        ctx.notes.append(f"{no_answer} questions have no answer (unanswerable, SQuAD 2.0 style"
                         + (f": {impossible} is_impossible)" if impossible else ")"))
    if mismatched:
        ctx.notes.append(f"{mismatched} answers do not match the context at answer_start")
    return Dataset(ctx.name, TaskId.ABS_9, "squad", examples, notes=ctx.notes)


def first_answer(answers: Any, context: str) -> tuple[str | None, int | None]:
    """The first answer's text and start, from [{text, answer_start}], {text: [...], answer_start: [...]} or a str."""
    text: Any = None
    start: Any = None
    if isinstance(answers, list) and answers:
        a = answers[0]
        text, start = (a.get("text"), a.get("answer_start")) if isinstance(a, dict) else (a, None)
    elif isinstance(answers, dict):
        texts, starts = answers.get("text"), answers.get("answer_start")
        text = texts[0] if isinstance(texts, list) and texts else texts
        start = starts[0] if isinstance(starts, list) and starts else starts
    elif isinstance(answers, str):
        text = answers
    if not isinstance(text, str) or not text:
        return None, None
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        found = context.find(text)
        start = found if found >= 0 else None
    return text, start


def all_answers(answers: Any) -> tuple[str, ...]:
    """Every non-empty answer text, in order, from the layouts `first_answer` reads (the gold answers a
    question is scored against: SQuAD's dev set gives several)."""
    if isinstance(answers, dict):
        answers = answers.get("text")
    if isinstance(answers, str):
        answers = [answers]
    if not isinstance(answers, list):
        return ()
    texts = (a.get("text") if isinstance(a, dict) else a for a in answers)
    return tuple(t for t in texts if isinstance(t, str) and t)
