"""The teacher-output cache (automl/distill/teacher.py)."""

from __future__ import annotations

import os
from pathlib import Path

from advisor.dataset import Example
from automl.distill.teacher import example_key, freeze, teacher_outputs
from automl.labels import label_space
from automl.models import build_model, resolve_model

os.environ["HF_HUB_OFFLINE"] = "1"


def test_teacher_outputs_are_cached_per_word(tiny_dir: Path, ner: list[Example]) -> None:
    labels = label_space("ABS-6", ner)
    teacher = freeze(build_model(resolve_model(str(tiny_dir)), labels, ner, 64, "en"))
    cache = teacher_outputs(teacher, ner[:5] + ner[:2])
    assert len(cache) == 5
    rows = cache[example_key(ner[0])]
    assert rows.shape == (len(ner[0].tokens), len(labels.names))
    assert example_key(ner[0]) == example_key(Example(text=ner[0].text, tokens=ner[0].tokens, tags=()))
