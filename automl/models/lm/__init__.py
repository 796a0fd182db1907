"""Language models for ABS-8 (one sentence a line): a causal LSTM over the training text's characters,
trained from scratch (`char-lm`). Its prediction is a score per sentence: the log-probability of the sentence
and its end, and the perplexity per character; the sweep's metric is the perplexity of dev and test.

- `_scores`: `SentenceScore` and `perplexity` (pooled over sentences).  `_model`: `CharLM`, `build_char_lm`.
- `_causal`: `CausalLM`, a pretrained transformers causal LM (a folder or hub id) fine-tuned and scored alike.
"""

from automl.models.lm._causal import CausalLM
from automl.models.lm._model import FAMILY, CharLM, build_char_lm
from automl.models.lm._scores import SentenceScore, perplexity

__all__ = ["FAMILY", "CausalLM", "CharLM", "SentenceScore", "build_char_lm", "perplexity"]
