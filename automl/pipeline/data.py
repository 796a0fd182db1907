"""ABS-10 records as the two sub-tasks of SPLIT-2: character BIO tags for the entity tagger (ABS-6), and one
text a candidate entity pair, the pair marked in it, for the relation classifier (ABS-1).

Candidate pairs: ordered pairs of two entities of a record whose (head type, tail type) occurs in a training
relation and whose gap (characters between them) is at most the longest training gap. A pair that is no
relation has the class `NO_RELATION`. A gold relation outside the candidates can never be predicted: the
scores count it as missed, never drop it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from advisor.dataset import Example
from advisor.errors import UserError
from advisor.formats.relations import Entity, RelationRecord

NO_RELATION = "no_relation"
HEAD_OPEN, HEAD_CLOSE, TAIL_OPEN, TAIL_CLOSE = "⟦", "⟧", "⟪", "⟫"
SPACE_TOKEN = "␣"  # a whitespace character as a tagger token: CoNLL lines split on spaces
CONTEXT_CHARS = 10  # characters kept on each side of the pair in the classifier's text (short: faster, less noise)
NEGATIVES_PER_POSITIVE = 4  # training pairs that are no relation, at most, per relation (seeded sample)


@dataclass(frozen=True)
class PairRule:
    """Which entity pairs the classifier is asked about (learnt from the training relations)."""

    type_pairs: tuple[tuple[str, str], ...]
    max_gap: int

    def to_dict(self) -> dict[str, object]:
        return {"type_pairs": [list(p) for p in self.type_pairs], "max_gap": self.max_gap}

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> PairRule:
        pairs = raw["type_pairs"]
        assert isinstance(pairs, list)
        return cls(tuple((str(a), str(b)) for a, b in pairs), int(str(raw["max_gap"])))


def gap(a: Entity, b: Entity) -> int:
    return max(0, max(a.start, b.start) - min(a.end, b.end))


def learn_rule(train: Sequence[RelationRecord]) -> PairRule:
    pairs: set[tuple[str, str]] = set()
    widest = 0
    for rec in train:
        for r in rec.relations:
            h, t = rec.entities[r.head], rec.entities[r.tail]
            pairs.add((h.type, t.type))
            widest = max(widest, gap(h, t))
    if not pairs:
        raise UserError("the training records hold no relation: nothing for the relation classifier to learn",
                        'give relations, e.g. "relations": [{"head": 0, "tail": 1, "type": "works_for"}]')
    return PairRule(tuple(sorted(pairs)), widest)


def candidates(entities: Sequence[Entity], rule: PairRule) -> list[tuple[int, int]]:
    allowed = set(rule.type_pairs)
    return [(i, j) for i, h in enumerate(entities) for j, t in enumerate(entities)
            if i != j and (h.type, t.type) in allowed and gap(h, t) <= rule.max_gap]


def marked(text: str, head: Entity, tail: Entity) -> str:
    """The pair's neighbourhood with both entities marked and typed: `... ⟦PER 江泽民⟧ ... ⟪ORG 中共中央⟫ ...`."""
    left = max(0, min(head.start, tail.start) - CONTEXT_CHARS)
    right = min(len(text), max(head.end, tail.end) + CONTEXT_CHARS)
    inserts = sorted([(head.start, 0, f"{HEAD_OPEN}{head.type} "), (head.end, 1, HEAD_CLOSE),
                      (tail.start, 0, f"{TAIL_OPEN}{tail.type} "), (tail.end, 1, TAIL_CLOSE)],
                     key=lambda x: (x[0], -x[1]))
    out, at = [], left
    for pos, _, mark in inserts:
        out.append(text[at:pos])
        out.append(mark)
        at = pos
    out.append(text[at:right])
    return " ".join("".join(out).split())  # one line: tabs and newlines out of the TSV


def pair_examples(records: Iterable[RelationRecord], rule: PairRule, *, sample_seed: int | None = None
                  ) -> list[Example]:
    """One ABS-1 example a candidate pair, labeled with its relation or NO_RELATION; with `sample_seed`
    (training) at most NEGATIVES_PER_POSITIVE no-relation pairs per relation are kept, seeded."""
    positives: list[Example] = []
    negatives: list[Example] = []
    for rec in records:
        gold = {(r.head, r.tail): r.type for r in rec.relations}
        for i, j in candidates(rec.entities, rule):
            label = gold.get((i, j), NO_RELATION)
            example = Example(text=marked(rec.text, rec.entities[i], rec.entities[j]), label=label, line=rec.line)
            (negatives if label == NO_RELATION else positives).append(example)
    if sample_seed is not None:
        keep = max(len(positives) * NEGATIVES_PER_POSITIVE, 1)
        if len(negatives) > keep:
            negatives = random.Random(sample_seed).sample(negatives, keep)
    return positives + negatives


def char_tokens(text: str) -> tuple[str, ...]:
    return tuple(SPACE_TOKEN if c.isspace() else c for c in text)


def bio_tags(rec: RelationRecord, known_types: set[str] | None = None) -> tuple[str, ...]:
    """Character BIO tags of the record's entities; types outside `known_types` (unseen in train) are O."""
    tags = ["O"] * len(rec.text)
    for e in rec.entities:
        if known_types is None or e.type in known_types:
            tags[e.start:e.end] = [f"B-{e.type}"] + [f"I-{e.type}"] * (e.end - e.start - 1)
    return tuple(tags)


def conll_text(records: Iterable[RelationRecord], known_types: set[str] | None = None) -> str:
    blocks = ["".join(f"{tok} {tag}\n" for tok, tag in zip(char_tokens(rec.text), bio_tags(rec, known_types),
                                                          strict=True)) for rec in records]
    return "\n".join(blocks)


def tsv_text(examples: Iterable[Example]) -> str:
    return "".join(f"{e.text}\t{e.label}\n" for e in examples)


def spans_to_entities(spans: Iterable[dict[str, object]]) -> tuple[Entity, ...]:
    """A tagger's answer spans (tokens = characters) as entities."""
    return tuple(Entity(int(str(s["start"])), int(str(s["end"])), str(s["type"])) for s in spans)
