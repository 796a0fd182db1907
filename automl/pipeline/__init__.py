"""ABS-10 (entity-relation extraction) as the guide's SPLIT-2 pipeline: an entity tagger (ABS-6), then a
relation classifier (ABS-1) over candidate entity pairs, trained by one `automl run` and answered by
`automl predict` (automl/pipeline/run.py, model.py)."""

from __future__ import annotations

from typing import Any

ABS_10_NAMES = frozenset({"ABS-10", "ABS10", "10", "MULTI-TASK", "RELATIONS", "RELATION-EXTRACTION"})


def wants_pipeline(options: Any) -> bool:
    """`automl run --task ABS-10`, or a training file in the ABS-10 format (text, entities, relations)."""
    from advisor.formats.relations import looks_like_relations

    task = (options.task or "").strip().upper().replace("_", "-")
    return task in ABS_10_NAMES or looks_like_relations(options.data)
