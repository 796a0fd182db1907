"""The three F1s of the SPLIT-2 pipeline, all micro over exact matches:

- entity F1: (start, end, type) of the tagger's entities against the gold ones;
- relation F1 given gold entities: the classifier run on the gold entities' candidate pairs, a relation
  right when its (head, tail, type) is a gold one;
- end-to-end relation F1: the tagger's entities, then the classifier; a relation is right only when both
  entities are right (boundaries and type) and the relation type too.
A gold relation outside the candidate pairs counts as missed in both relation F1s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from advisor.formats.relations import RelationRecord


def f1(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": score}


def entity_scores(gold: Sequence[RelationRecord], predicted: Iterable[RelationRecord]) -> dict[str, float]:
    tp = n_pred = n_gold = 0
    for g, p in zip(gold, predicted, strict=True):
        g_set, p_set = {e.key() for e in g.entities}, {e.key() for e in p.entities}
        tp, n_pred, n_gold = tp + len(g_set & p_set), n_pred + len(p_set), n_gold + len(g_set)
    return f1(tp, n_pred, n_gold)


def relation_scores(gold: Sequence[RelationRecord], predicted: Iterable[RelationRecord]) -> dict[str, float]:
    tp = n_pred = n_gold = 0
    for g, p in zip(gold, predicted, strict=True):
        g_set, p_set = g.triples(), p.triples()
        tp, n_pred, n_gold = tp + len(g_set & p_set), n_pred + len(p_set), n_gold + len(g_set)
    return f1(tp, n_pred, n_gold)


def pipeline_scores(gold: Sequence[RelationRecord], given_gold: Sequence[RelationRecord],
                    end_to_end: Sequence[RelationRecord]) -> dict[str, float]:
    """The report's flat scores: entity_f1, relation_f1_gold_entities, end_to_end_f1 (+ precision, recall)."""
    out: dict[str, float] = {}
    for name, scores in (("entity", entity_scores(gold, end_to_end)),
                         ("relation_gold_entities", relation_scores(gold, given_gold)),
                         ("end_to_end", relation_scores(gold, end_to_end))):
        out.update({f"{name}_{k}": round(v, 4) for k, v in scores.items()})
    return out
