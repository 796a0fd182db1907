"""Pretrained transformers (BERT, RoBERTa, ERNIE, MiniLM, ...) behind the `TaskModel` interface.

One class for every task automl trains, through the transformers Auto classes:

| task | head | targets | decode |
|---|---|---|---|
| ABS-1, ABS-2 (pair: the tokenizer's text pair) | sequence classification | class index | label name |
| ABS-3 | sequence classification, `multi_label_classification`, BCE | multi-hot | names with p > 0.5 |
| ABS-5 binary ("0"/"1") | sequence classification, 2 classes | class index | "0" or "1" |
| ABS-5 score | sequence classification, 1 output, MSE | float | float |
| ABS-6 | token classification | tag on each word's first sub-token, -100 elsewhere | one tag per word |

Modules: `_model` (the class: construction, training mode, optimizer, save/load), `_encoding` (examples to
tensors: tokenization, word alignment, targets), `_decoding` (logits to predictions, the loss),
`_first_token` (the top layer for the first token only; the attention input cast once), `_hub` (Auto
classes, tokenizer, quiet loading).
"""

from automl.models.transformer._hub import auto_class, head_shape, quiet_transformers
from automl.models.transformer._model import FORMAT_VERSION, MODEL_JSON, TransformerModel

__all__ = ["FORMAT_VERSION", "MODEL_JSON", "TransformerModel", "auto_class", "head_shape", "quiet_transformers"]
