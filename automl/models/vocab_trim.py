"""Vocabulary trimming: a fine-tuned model keeps only the word pieces its training text uses.

multilingual-e5-small carries XLM-R's 250k-piece vocabulary for ~100 languages: 96M of its 118M parameters
are word embeddings (presets/models.toml), while one task's text uses a few thousand pieces. Trimming keeps

- the pieces the training text is encoded into (the model's own encoding: prefix, specials, truncation),
- the single-character pieces (with and without the `▁` word start) of every character of that text, so
  new text written with known characters never falls back to `<unk>`,
- a reserve: the `reserve` most probable pieces of the unigram model (punctuation, digits, common words
  of every language), for text unlike the training set,

and cuts the embedding rows and the tokenizer to exactly those, in the same order: the training step's
embedding gradient and optimizer state shrink with the table, and so does the saved model.

The trimmed tokenizer is the same unigram model over the kept pieces: on text whose best segmentation uses
kept pieces only, it gives the same pieces (the best path over a superset that lies in the subset is still
the best), hence the same logits; other text is segmented with what is kept, and what no kept piece covers
becomes `<unk>`. Only unigram tokenizers (SentencePiece's: XLM-R, e5) are trimmed; `worth_trimming` says when.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from advisor.dataset import Example

RESERVE = 1000  # most probable unused pieces kept: 1,000 x 384 floats = 1.5 MB for e5-small
EMBEDDING_SHARE = 0.5  # trim when the word embeddings are more than half of the network's parameters
_CHUNK = 256


@dataclass(frozen=True)
class TrimResult:
    before: int  # embedding rows
    after: int
    from_text: int  # pieces the training text uses


def worth_trimming(model: Any) -> bool:
    """A unigram tokenizer and a word-embedding table holding over half the parameters (e5: 82%)."""
    tokenizer = getattr(model, "tokenizer", None)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or type(backend.model).__name__ != "Unigram":
        return False
    embeddings = model.network.get_input_embeddings()
    total = sum(p.numel() for p in model.network.parameters())
    return isinstance(embeddings, torch.nn.Embedding) and embeddings.weight.numel() > EMBEDDING_SHARE * total


def trim_vocabulary(model: Any, examples: list[Example], reserve: int = RESERVE) -> TrimResult:
    """Cut `model`'s (a TransformerModel) tokenizer and word embeddings to the pieces `examples` need."""
    state = json.loads(model.tokenizer.backend_tokenizer.to_str())
    vocab: list[list[Any]] = state["model"]["vocab"]
    used = pieces_used(model, examples)
    kept = sorted(used | single_characters(model.tokenizer, examples, vocab) | protected_ids(state)
                  | most_probable(vocab, reserve))
    new_id = {old: new for new, old in enumerate(kept)}
    state["model"]["vocab"] = [vocab[i] for i in kept]
    state["model"]["unk_id"] = new_id[state["model"]["unk_id"]]
    for token in state.get("added_tokens", []):
        token["id"] = new_id[token["id"]]
    _post_processor_ids(state, new_id)
    before = model.network.get_input_embeddings().weight.shape[0]
    model.tokenizer = _reloaded(model.tokenizer, state)
    _cut_embeddings(model.network, kept, new_id)
    return TrimResult(before=before, after=len(kept), from_text=len(used))


def pieces_used(model: Any, examples: list[Example]) -> set[int]:
    used: set[int] = set()
    for start in range(0, len(examples), _CHUNK):
        batch = model.collate(examples[start:start + _CHUNK], with_targets=False)
        used.update(batch["input_ids"][batch["attention_mask"].bool()].unique().tolist())
    return used


def single_characters(tokenizer: Any, examples: list[Example], vocab: list[list[Any]]) -> set[int]:
    normalize = tokenizer.backend_tokenizer.normalizer
    chars: set[str] = set()
    for e in examples:
        for text in (e.text, e.text_b, *(e.tokens or ())):
            if text:
                chars.update(normalize.normalize_str(text) if normalize else text)
    index = {piece: i for i, (piece, _) in enumerate(vocab)}
    wanted = chars | {"▁" + c for c in chars}
    return {index[p] for p in wanted if p in index}


def protected_ids(state: dict[str, Any]) -> set[int]:
    """Specials, the unknown piece and the post-processor's prefix (e5's `query:`)."""
    ids = {state["model"]["unk_id"], *(t["id"] for t in state.get("added_tokens", []))}
    return ids | _post_processor_ids(state)


def _post_processor_ids(state: dict[str, Any], new_id: dict[int, int] | None = None) -> set[int]:
    """The ids the post-processor inserts (TemplateProcessing's special tokens, RoBERTa/BERT processing's
    cls and sep), renumbered in place through `new_id` when given."""
    found: set[int] = set()
    processors = [state.get("post_processor") or {}]
    processors += processors[0].get("processors", []) if processors[0].get("type") == "Sequence" else []
    for processor in processors:
        for special in processor.get("special_tokens", {}).values():
            found.update(special["ids"])
            if new_id is not None:
                special["ids"] = [new_id[i] for i in special["ids"]]
        for key in ("cls", "sep"):
            if isinstance(processor.get(key), list):
                found.add(processor[key][1])
                if new_id is not None:
                    processor[key][1] = new_id[processor[key][1]]
    return found


def most_probable(vocab: list[list[Any]], reserve: int) -> set[int]:
    order = sorted(range(len(vocab)), key=lambda i: -float(vocab[i][1]))
    return set(order[:reserve])


def _reloaded(tokenizer: Any, state: dict[str, Any]) -> Any:
    """The same tokenizer class and settings over the trimmed tokenizer.json (saved and loaded back, which
    keeps special tokens, model_max_length and input names as `save_pretrained` wrote them)."""
    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory(prefix="trim-") as folder:
        tokenizer.save_pretrained(folder)
        Path(folder, "tokenizer.json").write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
        return AutoTokenizer.from_pretrained(folder, local_files_only=True)


def _cut_embeddings(network: Any, kept: list[int], new_id: dict[int, int]) -> None:
    old = network.get_input_embeddings()
    config = network.config
    pad_id = getattr(config, "pad_token_id", None)
    pad = None if pad_id is None else new_id.get(pad_id)
    table = torch.nn.Embedding(len(kept), old.weight.shape[1], padding_idx=pad,
                               device=old.weight.device, dtype=old.weight.dtype)
    with torch.no_grad():
        table.weight.copy_(old.weight[torch.tensor(kept, device=old.weight.device)])
    table.weight.requires_grad_(old.weight.requires_grad)
    network.set_input_embeddings(table)
    config.vocab_size = len(kept)
    for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
        if getattr(config, name, None) is not None:
            setattr(config, name, new_id.get(getattr(config, name)))
