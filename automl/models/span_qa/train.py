"""Fine-tune a transformer tier's encoder with a start/end span head (transformers' QuestionAnswering head)
on question + context windows, and answer questions with the best span over all windows."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import torch

from automl.models.span_qa.windows import Answer, best_answers, make_windows
from automl.span_metrics import span_scores


@dataclass(frozen=True)
class QA:
    question: str
    context: str
    answers: tuple[str, ...]
    answer_start: int  # the first answer's first character in the context


@dataclass
class SpanSettings:
    max_length: int = 128
    stride: int = 32
    max_answer_tokens: int = 30
    lr: float = 5e-5
    batch_size: int = 16
    epochs: int = 3
    seed: int = 0


class SpanQAModel:
    def __init__(self, source: str, settings: SpanSettings, local_files_only: bool = True) -> None:
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        from automl.models.transformer._hub import quiet_transformers

        with quiet_transformers():
            self.tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_files_only)
            self.model = AutoModelForQuestionAnswering.from_pretrained(source, local_files_only=local_files_only)
        self.settings = settings

    def _windows(self, items: list[QA], with_gold: bool) -> Any:
        gold: list[tuple[int, int] | None] | None = [(q.answer_start, q.answer_start + len(q.answers[0])) for q in items] if with_gold else None
        return make_windows(self.tokenizer, [q.question for q in items], [q.context for q in items],
                            self.settings.max_length, self.settings.stride, gold)

    def fit(self, train: list[QA]) -> list[float]:
        """Mean loss an epoch (the transformers head's mean of start and end cross-entropy)."""
        s = self.settings
        torch.manual_seed(s.seed)
        rng = random.Random(s.seed)
        optimizer = torch.optim.AdamW(self.model.parameters(), lr=s.lr)
        losses: list[float] = []
        self.model.train()
        for _ in range(s.epochs):
            order = list(range(len(train)))
            rng.shuffle(order)
            total, batches = 0.0, 0
            for b in range(0, len(order), s.batch_size):
                w = self._windows([train[i] for i in order[b:b + s.batch_size]], with_gold=True)
                out = self.model(**w.encoding, start_positions=torch.tensor(w.starts),
                                 end_positions=torch.tensor(w.ends))
                optimizer.zero_grad()
                out.loss.backward()
                optimizer.step()
                total, batches = total + out.loss.item(), batches + 1
            losses.append(total / max(batches, 1))
        return losses

    @torch.no_grad()
    def answer(self, items: list[QA]) -> list[Answer]:
        self.model.eval()
        answers: list[Answer] = []
        for b in range(0, len(items), 32):
            chunk = items[b:b + 32]
            w = self._windows(chunk, with_gold=False)
            out = self.model(**w.encoding)
            answers += best_answers(w, [q.context for q in chunk], out.start_logits, out.end_logits,
                                    self.settings.max_answer_tokens)
        return answers

    def evaluate(self, items: list[QA]) -> dict[str, float]:
        return span_scores([a.text for a in self.answer(items)], [q.answers for q in items])


def first_chars_baseline(train: list[QA], test: list[QA]) -> dict[str, float]:
    """A trivial reader: the context's first n characters, n the training answers' mean length."""
    n = round(sum(len(q.answers[0]) for q in train) / max(len(train), 1))
    return span_scores([q.context[:n] for q in test], [q.answers for q in test])


def squad_items(paragraphs: list[dict[str, Any]]) -> list[QA]:
    return [QA(qa["question"], p["context"], tuple(a["text"] for a in qa["answers"]),
               int(qa["answers"][0]["answer_start"]))
            for p in paragraphs for qa in p["qas"] if qa.get("answers")]
