"""ABS-9 reading comprehension: a start/end span head over context tokens, long contexts in sliding windows.

- `windows`: question + context to overlapping windows and token spans back to characters.
- `_model`: `SpanQATransformer`, the `TaskModel` `automl run`, predict, serve and export use (family span-qa).
- `generated`: the People's Daily questions (the first-characters reference is automl/baseline.py's).
"""

from automl.models.span_qa._model import DECODE_KEYS, FAMILY, SpanAnswer, SpanQATransformer

__all__ = ["DECODE_KEYS", "FAMILY", "SpanAnswer", "SpanQATransformer"]
