"""Question + context to overlapping windows, and token spans back to context characters.

The fast tokenizer truncates the context only (`only_second`), cuts a long one into windows that overlap by
`stride` tokens, and gives each token's character offsets; a window's gold span is the tokens that cover the
answer's characters, or (0, 0) (the [CLS] token) where the answer is not wholly inside that window.
The best answer is picked over every window of a question, by start + end logit, at most `max_answer_tokens` long.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Windows:
    encoding: dict[str, torch.Tensor]  # input_ids, attention_mask (, token_type_ids): one row a window
    question_of: list[int]  # the question (index into the batch) each window belongs to
    offsets: list[list[tuple[int, int] | None]]  # a context token's characters, None for other tokens
    starts: list[int]  # gold start token per window (0 where the answer is not inside it)
    ends: list[int]


def make_windows(tokenizer: Any, questions: list[str], contexts: list[str], max_length: int, stride: int,
                 answers: list[tuple[int, int] | None] | None = None) -> Windows:
    """`answers` are (first character, end character) in the context, or None when unknown (prediction)."""
    enc = tokenizer(questions, contexts, truncation="only_second", max_length=max_length, stride=stride,
                    return_overflowing_tokens=True, return_offsets_mapping=True, padding=True,
                    return_tensors="pt")
    question_of = [int(i) for i in enc.pop("overflow_to_sample_mapping")]
    raw_offsets = enc.pop("offset_mapping").tolist()
    offsets: list[list[tuple[int, int] | None]] = []
    starts: list[int] = []
    ends: list[int] = []
    for w, q in enumerate(question_of):
        seq_ids = enc.sequence_ids(w)
        row = [(int(a), int(b)) if seq_ids[t] == 1 else None for t, (a, b) in enumerate(raw_offsets[w])]
        offsets.append(row)
        gold = answers[q] if answers is not None else None
        start, end = _gold_tokens(row, gold)
        starts.append(start)
        ends.append(end)
    keys = ("input_ids", "attention_mask", "token_type_ids")
    return Windows({k: enc[k] for k in keys if k in enc}, question_of, offsets, starts, ends)


def _gold_tokens(row: list[tuple[int, int] | None], gold: tuple[int, int] | None) -> tuple[int, int]:
    if gold is None:
        return 0, 0
    first, last = gold
    inside = [t for t, span in enumerate(row) if span is not None and span[1] > span[0]]
    if not inside or row[inside[0]][0] > first or row[inside[-1]][1] < last:  # type: ignore[index]
        return 0, 0
    start = next(t for t in inside if row[t][1] > first)  # type: ignore[index]
    end = next(t for t in reversed(inside) if row[t][0] < last)  # type: ignore[index]
    return start, end


@dataclass(frozen=True)
class Answer:
    text: str
    start: int  # character in the context
    end: int
    score: float  # start logit + end logit


def best_answers(windows: Windows, contexts: list[str], start_logits: torch.Tensor, end_logits: torch.Tensor,
                 max_answer_tokens: int = 30) -> list[Answer]:
    """One answer a question: the highest-scoring valid span over all of its windows (start and end on context
    tokens, end not before start, at most `max_answer_tokens`): every pair scored at once, no top-k cut, so a
    question whose context has a token always gets an answer."""
    best: dict[int, Answer] = {}
    start_logits, end_logits = start_logits.detach(), end_logits.detach()
    for w, q in enumerate(windows.question_of):
        row = windows.offsets[w]
        n = min(len(row), start_logits.shape[1])
        context = torch.tensor([span is not None for span in row[:n]])
        if not bool(context.any()):
            continue
        pairs = start_logits[w, :n, None].float() + end_logits[w, None, :n].float()
        span = torch.arange(n)[None, :] - torch.arange(n)[:, None]  # end - start
        valid = context[:, None] & context[None, :] & (span >= 0) & (span < max_answer_tokens)
        flat = int(pairs.masked_fill(~valid, float("-inf")).argmax())
        s, e = divmod(flat, n)
        score = float(pairs[s, e])
        first, last = row[s], row[e]
        if first is not None and last is not None and (q not in best or score > best[q].score):
            best[q] = Answer(contexts[q][first[0]:last[1]], first[0], last[1], score)
    return [best.get(q, Answer("", 0, 0, float("-inf"))) for q in range(len(contexts))]
