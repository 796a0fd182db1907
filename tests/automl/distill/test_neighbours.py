"""Embedding neighbours from a transformer teacher's word-piece table (automl/distill/neighbours.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from advisor.dataset import Example
from automl.distill.augment import AugmentConfig, augment
from automl.distill.neighbours import embedding_neighbours, neighbour_source
from automl.labels import label_space
from automl.models import build_model, resolve_model
from tests.automl.distill.samples import DATA, read_conll

os.environ["HF_HUB_OFFLINE"] = "1"


def test_embedding_neighbours_are_similar_whole_words_in_the_words_case(minilm_table: Any) -> None:
    tokenizer, table = minilm_table
    near = embedding_neighbours(tokenizer, table, ["London", "lakers", "MONDAY", "@xyzzy123", "42", "playing"], k=8)
    assert {"London", "lakers", "MONDAY", "playing"} <= set(near)
    assert "@xyzzy123" not in near and "42" not in near  # not one whole alphabetic piece: no row to compare
    assert len(near["London"]) == 8 and "London" not in near["London"]
    assert {"Paris", "Glasgow", "Birmingham"} & set(near["London"])  # cities near a city, in its case
    assert all(w[0].isupper() and w[1:].islower() for w in near["London"])
    assert {"celtics", "knicks", "pistons"} & set(near["lakers"])
    assert "TUESDAY" in near["MONDAY"]
    assert all(w.isalpha() for ws in near.values() for w in ws)

def test_neighbour_augmentation_of_tagging_data_says_what_it_did(minilm_table: Any) -> None:
    rows = read_conll(DATA / "optimus_ner_50.conll", 50)
    tokenizer, table = minilm_table
    near = embedding_neighbours(tokenizer, table, {w for e in rows for w in e.tokens})
    config = AugmentConfig(unk_rate=0.0, pos_rate=0.0, neighbour_rate=0.3, nsample_rate=0.0, copies=2, seed=1)
    made = augment(rows, "ABS-6", config, lambda words: embedding_neighbours(tokenizer, table, words))
    assert any("embedding-neighbour replacement" in n for n in made.notes)
    known = {w for ws in near.values() for w in ws}
    originals = {w for e in rows for w in e.tokens}
    swapped = [w for e in made.examples for w in e.tokens if w not in originals]
    assert swapped and all(w in known for w in swapped)
    assert all(len(e.tokens) == len(e.tags) for e in made.examples)
    skipped = augment(rows, "ABS-6", config, None)
    assert not skipped.examples and any("neighbour replacement skipped" in n for n in skipped.notes)

def test_only_a_transformer_teacher_is_a_neighbour_source(tiny_dir: Path, ner: list[Example]) -> None:
    labels = label_space("ABS-6", ner)
    transformer = build_model(resolve_model(str(tiny_dir)), labels, ner, 64, "en")
    scratch = build_model(resolve_model("bow"), labels, ner, 64, "en")
    source = neighbour_source(transformer, k=3)
    assert source is not None and neighbour_source(scratch) is None
    near = source({"Paris", "@someone"})
    assert set(near) == {"Paris"} and len(near["Paris"]) == 3  # random tiny weights: any 3 whole words
    config = AugmentConfig(unk_rate=0.0, pos_rate=0.0, neighbour_rate=0.5, nsample_rate=0.0, copies=1)
    made = augment(ner, "ABS-6", config, neighbour_source(scratch))
    assert any("needs a transformer teacher" in n for n in made.notes)
