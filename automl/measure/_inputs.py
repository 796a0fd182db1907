"""What a measurement feeds the networks: the user's own rows when there are some, else synthetic text of
the user's length, and a tokenizer with the tier's vocabulary size when no real one ships offline.

Speed depends on the number of tokens and on the shapes, not on what the tokens mean, so random
characters (Chinese) or made-up words (other languages) of the right length stand in for real text.
"""

from __future__ import annotations

import random
import string
from typing import Any

from advisor.dataset import Example
from presets.catalog import task as task_type

SYNTHETIC_ROWS = 512  # enough for 8 training batches of 64 and a serving sample of 32
COMMON_CJK = 3500  # the first 3,500 code points of the CJK block stand in for the common characters
LEXICON_WORDS = 5000
SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def label_names(task: str, num_labels: int | None) -> list[str]:
    """Class or tag names for a measured head: ABS-6 gets BIO tags of `num_labels` entity types."""
    count = max(2, num_labels or 2)
    if task_type(task).is_tagging:
        types = [f"T{i}" for i in range(max(1, num_labels or 1))]
        return ["O", *(f"{p}-{t}" for t in types for p in ("B", "I"))]
    return [str(i) for i in range(count)]


def _lexicon(rng: random.Random) -> list[str]:
    letters = string.ascii_lowercase
    return ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(LEXICON_WORDS)]


def _zh_text(rng: random.Random, chars: int) -> str:
    return "".join(chr(0x4E00 + rng.randrange(COMMON_CJK)) for _ in range(chars))


def _word_text(rng: random.Random, chars: int, lexicon: list[str]) -> str:
    words: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(lexicon)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)


def synthetic_examples(task: str, language: str, p95_chars: int, names: list[str], rows: int = SYNTHETIC_ROWS,
                       seed: int = 0, lexicon: list[str] | None = None) -> list[Example]:
    """Rows whose lengths spread evenly over half to all of `p95_chars` (the answers' text length is the
    95th percentile), with random labels. Pair tasks get two such texts, tagging one tag per character.
    Words (not Chinese) come from `lexicon` (a shipped tokenizer's whole words, so they tokenize as real
    words do), else made-up ones that the synthetic tokenizer holds whole."""
    rng = random.Random(seed)
    lexicon = lexicon or _lexicon(rng)
    zh = language.lower().startswith("zh")
    top = max(2, p95_chars)

    def text() -> str:
        chars = rng.randint(max(1, top // 2), top)
        return _zh_text(rng, chars) if zh else _word_text(rng, chars, lexicon)

    kind = task_type(task)
    out: list[Example] = []
    for _ in range(rows):
        if kind.is_tagging:
            tokens = tuple(text()) if zh else tuple(text().split())
            out.append(Example(text="".join(tokens) if zh else " ".join(tokens), tokens=tokens,
                               tags=tuple(rng.choice(names) for _ in tokens)))
        elif kind.is_multilabel:
            out.append(Example(text=text(), labels=tuple(n for n in names if rng.random() < 0.3)))
        elif kind.is_pair:
            out.append(Example(text=text(), text_b=text(), label=rng.choice(names)))
        elif kind.is_span:  # ABS-9: a context, a short question, an answer inside the context
            out.append(span_example(text(), text()[:16], rng))
        else:
            out.append(Example(text=text(), label=rng.choice(names)))
    return out


def span_example(context: str, question: str, rng: random.Random) -> Example:
    """A reading-comprehension row whose answer is a random run of up to 8 characters of its context."""
    start = rng.randrange(max(1, len(context) - 1))
    answer = context[start:start + rng.randint(1, 8)] or context[:1]
    return Example(text=context, text_b=question, answer=answer, answer_start=start)


def synthetic_tokenizer(vocab_size: int, language: str, seed: int = 0) -> Any:
    """A fast WordPiece tokenizer (BERT's normaliser and pre-tokenizer) with exactly `vocab_size` entries:
    the specials, the CJK characters, ASCII and the synthetic lexicon, then unused fillers. Chinese text
    becomes one token a character, as with the ERNIE and Chinese BERT vocabularies."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from transformers import PreTrainedTokenizerFast

    entries = list(SPECIALS) + list(string.ascii_lowercase + string.digits + string.punctuation)
    if language.lower().startswith("zh"):
        entries += [chr(0x4E00 + i) for i in range(min(COMMON_CJK * 4, 20_902))]
    entries += _lexicon(random.Random(seed))
    entries = list(dict.fromkeys(entries))[:vocab_size]
    entries += [f"[unused{i}]" for i in range(vocab_size - len(entries))]
    vocab = {token: i for i, token in enumerate(entries)}
    core = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    core.normalizer = normalizers.BertNormalizer(lowercase=True, handle_chinese_chars=True)
    core.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    core.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")
