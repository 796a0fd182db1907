"""Word neighbours from a transformer teacher's own input embeddings, for the augmentation step that
swaps a word for a similar one (TinyBERT's data augmentation swaps words for BERT's masked-LM
candidates or their nearest GloVe neighbours; a pretrained model's word-piece table already holds such a
space, and ships with the teacher).

Why it matters for distillation: the other augmentations (UNK, same-tag, n-sampling) only rearrange words
the training data already has, so a student never sees what the teacher knows about other words. Near
"london" in all-MiniLM-L6-v2's table lie "glasgow", "paris", "birmingham"; near "lakers" "celtics",
"knicks", "pistons". Swapping them in and letting the teacher label the result carries that knowledge over.

Only words that are one whole word piece have a row to compare, and only whole alphabetic pieces are
offered as neighbours (no "##" pieces, special tokens, numbers or punctuation). An uncased vocabulary
matches "London" to "london" through its tokenizer's own normalizer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from automl.distill.augment import Neighbours


def _cased_like(word: str, neighbour: str) -> str:
    """The neighbour in the word's case pattern (uncased vocabularies hold lower-case pieces)."""
    if word.isupper() and len(word) > 1:
        return neighbour.upper()
    if word[:1].isupper():
        return neighbour[:1].upper() + neighbour[1:]
    return neighbour


def _single_pieces(tokenizer: Any, words: list[str]) -> list[int | None]:
    """Each word's id where the tokenizer makes it exactly one piece (alone, as a word), else None."""
    if not words:
        return []
    ids = tokenizer(words, add_special_tokens=False)["input_ids"]
    return [row[0] if len(row) == 1 else None for row in ids]


def embedding_neighbours(tokenizer: Any, embeddings: torch.Tensor, words: Iterable[str], k: int = 10,
                         chunk: int = 1024) -> dict[str, list[str]]:
    """word -> its `k` nearest whole words by cosine similarity of the input embeddings `embeddings`
    (vocab, hidden), in the word's case, none a case variant of the word. Whole words are alphabetic
    pieces the tokenizer gives back as themselves: WordPiece's "paris", not "##aris"; BPE's "Ġparis" as
    "paris". A word that is not one such piece gets no entry."""
    if k < 1:
        raise ValueError(f"k must be at least 1, but got {k=}.")
    special = set(getattr(tokenizer, "all_special_ids", []))
    by_id: dict[int, str] = {}
    for piece, i in tokenizer.get_vocab().items():
        word = tokenizer.convert_tokens_to_string([piece]).strip()
        if i not in special and i < embeddings.shape[0] and len(word) > 1 and word.isalpha():
            by_id[i] = word
    spelled = sorted(by_id.items())
    round_trip = _single_pieces(tokenizer, [w for _, w in spelled])
    candidates = [i for (i, _), back in zip(spelled, round_trip, strict=True) if back == i]
    asked = sorted(set(words))
    queries = {w: i for w, i in zip(asked, _single_pieces(tokenizer, asked), strict=True) if i is not None and i in by_id}
    if not candidates or not queries:
        return {}
    table = torch.nn.functional.normalize(embeddings.detach().float(), dim=-1)
    pool = table[candidates]
    out: dict[str, list[str]] = {}
    items = sorted(queries.items())
    for start in range(0, len(items), chunk):
        part = items[start:start + chunk]
        sims = table[[i for _, i in part]] @ pool.T
        # extra rows: the word itself and its case variants (cased vocabularies) are dropped below
        top = sims.topk(min(k + 4, len(candidates)), dim=-1).indices.tolist()
        for (word, _), row in zip(part, top, strict=True):
            found: dict[str, None] = {}
            for j in row:
                near = _cased_like(word, by_id[candidates[j]])
                if near.lower() != word.lower():
                    found.setdefault(near, None)
            if found:
                out[word] = list(found)[:k]
    return out


def neighbour_source(teacher: Any, k: int = 10) -> Neighbours | None:
    """words -> `embedding_neighbours` in a single transformer teacher's table; None for a model without a
    tokenizer and pretrained embeddings (a from-scratch net learned its table on the training data alone: it
    knows no word beyond it; an ensemble has no one table)."""
    tokenizer = getattr(teacher, "tokenizer", None)
    network = getattr(teacher, "network", None)
    if tokenizer is None or network is None or not hasattr(network, "get_input_embeddings"):
        return None
    table = network.get_input_embeddings().weight
    return lambda words: embedding_neighbours(tokenizer, table, words, k)
