"""`SpanQATransformer`: ABS-9 reading comprehension as a `TaskModel`, so `automl run`'s sweep, the batch-size
probe, predict, serve and export treat it as any other transformer tier.

A pretrained encoder with transformers' QuestionAnswering head (a start and an end logit per token). `collate`
cuts each question + context into overlapping windows (`windows.make_windows`): a batch holds more windows than
examples. Beside the encoder's inputs it carries what `decode` needs to go back to characters, as tensors:
`window_of` (the example of each window), `offsets` (a context token's characters, -1 for other tokens) and
`context_chars` (each context's code points, -1 padded). `forward`'s logits are (windows, tokens, 2); the
loss is the mean of the start and end cross-entropies over each window's tokens, a window whose answer is not
wholly inside it pointing at [CLS] (token 0), as in transformers' question-answering example.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from advisor.dataset import Example
from advisor.errors import UserError
from automl.models.base import Output
from automl.models.span_qa.windows import Windows, best_answers, make_windows
from automl.models.transformer import TransformerModel
from automl.models.transformer._encoding import INPUT_KEYS
from automl.span_metrics import gold_answers

FAMILY = "span-qa"
DECODE_KEYS = frozenset({"window_of", "offsets", "context_chars"})  # read by decode, not by the network
MAX_ANSWER_TOKENS = 30


@dataclass(frozen=True)
class SpanAnswer:
    """An answer: its text, its characters in the context [start, end), and start + end logit as its score.
    Equal answers are the same span (the score is left out of ==)."""

    text: str
    start: int
    end: int
    score: float = field(compare=False)

    def __str__(self) -> str:
        return self.text


def stride_for(max_length: int) -> int:
    """Tokens two windows of a long context share: a quarter of the window, at most 128 (the HF example's)."""
    return max(1, min(128, max_length // 4))


class SpanQATransformer(TransformerModel):
    family = FAMILY

    def length(self, example: Example) -> int:
        """Question + context pieces with the specials (may exceed max_length: the context then takes windows)."""
        return len(self.tokenizer(example.text_b or "", example.text, truncation=False)["input_ids"])

    def collate(self, examples: list[Example], with_targets: bool = True) -> dict[str, torch.Tensor]:
        for e in examples:
            if e.text_b is None:
                raise UserError(f"line {e.line}: a reading-comprehension example needs a question and a context",
                                fix='give {"question": ..., "context": ...} records or SQuAD JSON')
        gold: list[tuple[int, int] | None] | None = None
        if with_targets and all(e.answer and e.answer_start is not None for e in examples):
            gold = [(int(e.answer_start or 0), int(e.answer_start or 0) + len(e.answer or "")) for e in examples]
        questions = [self._short_question(e.text_b or "") for e in examples]
        longest = max(len(ids) for ids in self.tokenizer(questions, add_special_tokens=False)["input_ids"])
        room = self.max_length - longest - self.tokenizer.num_special_tokens_to_add(pair=True)  # context a window
        windows = make_windows(self.tokenizer, questions, [e.text for e in examples], self.max_length,
                               max(1, min(stride_for(self.max_length), room - 1)), gold)
        batch = dict(windows.encoding)
        width = batch["input_ids"].shape[1]
        batch["window_of"] = torch.tensor(windows.question_of, dtype=torch.long)
        batch["offsets"] = torch.tensor([[list(span) if span is not None else [-1, -1] for span in row]
                                         + [[-1, -1]] * (width - len(row)) for row in windows.offsets],
                                        dtype=torch.long).reshape(len(windows.question_of), width, 2)
        chars = max(len(e.text) for e in examples)
        batch["context_chars"] = torch.tensor([[ord(c) for c in e.text] + [-1] * (chars - len(e.text))
                                               for e in examples], dtype=torch.long).reshape(len(examples), chars)
        if gold is not None:
            batch["start_positions"] = torch.tensor(windows.starts, dtype=torch.long)
            batch["end_positions"] = torch.tensor(windows.ends, dtype=torch.long)
        return batch

    def _short_question(self, question: str) -> str:
        """The question cut to half the window (tokens), so every window keeps room for its context and the
        overlap (a longer one made the tokenizer fail: 'sequence to truncate too short')."""
        pieces = self.tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        keep = max(1, self.max_length // 2 - 2)  # a cut piece may tokenize into two
        return question if len(pieces) <= keep else question[:pieces[keep - 1][1]]

    def forward(self, **batch: torch.Tensor) -> Output:  # type: ignore[override]
        out = self.network(**{k: batch[k] for k in INPUT_KEYS if k in batch})
        logits = torch.stack([out.start_logits, out.end_logits], dim=-1)
        starts, ends = batch.get("start_positions"), batch.get("end_positions")
        loss = None
        if starts is not None and ends is not None:
            scores = logits.float()
            loss = (F.cross_entropy(scores[..., 0], starts) + F.cross_entropy(scores[..., 1], ends)) / 2
        return Output(loss=loss, logits=logits)

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        contexts = ["".join(chr(c) for c in row if c >= 0) for row in batch["context_chars"].tolist()]
        offsets = [[(a, b) if a >= 0 else None for a, b in row] for row in batch["offsets"].tolist()]
        windows = Windows({}, batch["window_of"].tolist(), offsets, [], [])
        scores = logits.float().cpu()
        return [SpanAnswer(a.text, a.start, a.end, a.score)
                for a in best_answers(windows, contexts, scores[..., 0], scores[..., 1], MAX_ANSWER_TOKENS)]

    def targets(self, examples: list[Example]) -> list[Any]:
        """Each question's gold answer texts (several in SQuAD's dev set): its score is the best over them."""
        return [gold_answers(e) for e in examples]

    def _top_layer_on_first_token(self) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()  # every token's start and end logits are read
