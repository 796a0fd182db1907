"""Word neighbours from a transformer teacher's own input embeddings, for the augmentation step that
swaps a word for a similar one (TinyBERT's data augmentation replaces words by their nearest GloVe
neighbours; a pretrained model's word-piece table already holds such a space, and ships with the teacher).

Why it matters for distillation: the other augmentations (UNK, same-tag, n-sampling) only rearrange words
the training data already has, so a student never sees what the teacher knows about other words. Near
"london" in all-MiniLM-L6-v2's table lie "glasgow", "paris", "birmingham"; near "lakers" "celtics",
"knicks", "pistons". Swapping them in and letting the teacher label the result carries that knowledge over.

Only words that are one whole word piece have a row to compare, and only whole alphabetic pieces are
offered as neighbours (no "##" pieces, special tokens, numbers or punctuation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch


def _cased_like(word: str, neighbour: str) -> str:
    """The neighbour in the word's case pattern (uncased vocabularies hold lower-case pieces)."""
    if word.isupper() and len(word) > 1:
        return neighbour.upper()
    if word[:1].isupper():
        return neighbour[:1].upper() + neighbour[1:]
    return neighbour


def _whole_word(piece: str) -> bool:
    return len(piece) > 1 and piece.isalpha() and not piece.startswith("##")


def embedding_neighbours(tokenizer: Any, embeddings: torch.Tensor, words: Iterable[str], k: int = 10,
                         chunk: int = 1024) -> dict[str, list[str]]:
    """word -> its `k` nearest whole-word pieces by cosine similarity of the input embeddings `embeddings`
    (vocab, hidden), in the word's case. Words that are not a single whole piece get no entry."""
    if k < 1:
        raise ValueError(f"k must be at least 1, but got {k=}.")
    vocab: dict[str, int] = tokenizer.get_vocab()
    special = set(getattr(tokenizer, "all_special_ids", []))
    candidates = sorted(i for piece, i in vocab.items() if _whole_word(piece) and i not in special
                        and i < embeddings.shape[0])
    if not candidates:
        return {}
    lower = tokenizer.tokenize("Paris London") == tokenizer.tokenize("paris london")  # an uncased vocabulary
    queries: dict[str, int] = {}
    for word in set(words):
        key = word.lower() if lower else word
        i = vocab.get(key)
        if i is not None and _whole_word(key) and i < embeddings.shape[0]:
            queries[word] = i
    if not queries:
        return {}
    table = torch.nn.functional.normalize(embeddings.detach().float(), dim=-1)
    pool = table[candidates]
    pieces = {i: p for p, i in vocab.items()}
    out: dict[str, list[str]] = {}
    items = sorted(queries.items())
    for start in range(0, len(items), chunk):
        part = items[start:start + chunk]
        sims = table[[i for _, i in part]] @ pool.T
        top = sims.topk(min(k + 1, len(candidates)), dim=-1).indices.tolist()
        for (word, i), row in zip(part, top, strict=True):
            found = [pieces[candidates[j]] for j in row if candidates[j] != i][:k]
            if found:
                out[word] = [_cased_like(word, n) for n in found]
    return out


def neighbour_source(teacher: Any, k: int = 10) -> Callable[[set[str]], dict[str, list[str]]] | None:
    """words -> `embedding_neighbours` in a transformer teacher's table; None for a model without a tokenizer
    and pretrained embeddings (a from-scratch net learned its table on the training data alone: it knows no
    word beyond it)."""
    tokenizer = getattr(teacher, "tokenizer", None)
    network = getattr(teacher, "network", None)
    if tokenizer is None or network is None or not hasattr(network, "get_input_embeddings"):
        return None
    table = network.get_input_embeddings().weight
    return lambda words: embedding_neighbours(tokenizer, table, words, k)
