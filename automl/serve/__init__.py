"""Answering with a saved model: JSON answers with probabilities (`outputs`), request parsing (`requests`),
batching of concurrent requests (`batcher`) and the HTTP server of `automl serve` (`server`)."""

from automl.serve.outputs import answer_batch, answers, tag_answer
from automl.serve.requests import BadRequest, Limits, parse_request

__all__ = ["BadRequest", "Limits", "answer_batch", "answers", "parse_request", "tag_answer"]
