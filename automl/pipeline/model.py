"""The SPLIT-2 pipeline as one model: the tagger finds the entities, the classifier names the relation of
each candidate pair of them. Saved as a folder: `pipeline.json` (the manifest), `entities/` and
`relations/` (two models `automl` saved, each loadable alone)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.dataset import Example
from advisor.errors import UserError
from advisor.formats.relations import Entity, Relation, RelationRecord
from automl.models.base import TaskModel
from automl.pipeline.data import NO_RELATION, PairRule, candidates, char_tokens, marked, spans_to_entities

MANIFEST = "pipeline.json"
FAMILY = "pipeline"


@dataclass
class Extraction:
    text: str
    entities: tuple[Entity, ...]
    relations: tuple[Relation, ...]
    probabilities: tuple[float, ...]  # the classifier's probability of each relation's type

    def record(self) -> RelationRecord:
        return RelationRecord(self.text, self.entities, self.relations)

    def answer(self) -> dict[str, Any]:
        """The JSON answer: the ABS-10 format itself, with each relation's probability."""
        ents = [{"text": self.text[e.start:e.end], "type": e.type, "start": e.start, "end": e.end} for e in self.entities]
        rels = [{"head": r.head, "tail": r.tail, "type": r.type, "probability": round(p, 6)}
                for r, p in zip(self.relations, self.probabilities, strict=True)]
        return {"entities": ents, "relations": rels}


class Pipeline:
    def __init__(self, tagger: TaskModel, classifier: TaskModel, rule: PairRule) -> None:
        self.tagger, self.classifier, self.rule = tagger, classifier, rule

    def find_entities(self, texts: Sequence[str], batch_size: int = 32) -> list[tuple[Entity, ...]]:
        from automl.serve.outputs import answers

        examples = [Example(text=t, tokens=char_tokens(t)) for t in texts]
        return [spans_to_entities(a["spans"]) for a in answers(self.tagger, examples, batch_size=batch_size)]

    def relate(self, texts: Sequence[str], entities: Sequence[tuple[Entity, ...]], batch_size: int = 32
               ) -> list[Extraction]:
        """The classifier over every candidate pair of the given entities (gold ones, or the tagger's)."""
        from automl.serve.outputs import answers

        asked: list[tuple[int, int, int]] = []
        examples: list[Example] = []
        for n, (text, ents) in enumerate(zip(texts, entities, strict=True)):
            for i, j in candidates(ents, self.rule):
                asked.append((n, i, j))
                examples.append(Example(text=marked(text, ents[i], ents[j])))
        found: list[list[tuple[Relation, float]]] = [[] for _ in texts]
        for (n, i, j), got in zip(asked, answers(self.classifier, examples, batch_size=batch_size), strict=True):
            if got["label"] != NO_RELATION:
                found[n].append((Relation(i, j, str(got["label"])), float(got["probabilities"][got["label"]])))
        return [Extraction(text, ents, tuple(r for r, _ in rels), tuple(p for _, p in rels))
                for text, ents, rels in zip(texts, entities, found, strict=True)]

    def extract(self, texts: Sequence[str], batch_size: int = 32) -> list[Extraction]:
        return self.relate(texts, self.find_entities(texts, batch_size), batch_size)

    def save(self, directory: Path, tagger_dir: Path, classifier_dir: Path, facts: dict[str, Any]) -> None:
        """The folder `load` reads: both models copied from where the sweeps kept them, and the manifest."""
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        shutil.copytree(tagger_dir, directory / "entities")
        shutil.copytree(classifier_dir, directory / "relations")
        manifest = {"family": FAMILY, "task": "ABS-10", "entities": "entities", "relations": "relations",
                    "no_relation": NO_RELATION, "pairs": self.rule.to_dict(), **facts}
        (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def pipeline_dir(directory: Path) -> Path | None:
    """The pipeline folder `directory` is, or holds (a run's --out), or None."""
    for d in (directory, directory / "pipeline"):
        if (d / MANIFEST).is_file():
            return d
    return None


def load_pipeline(directory: Path) -> Pipeline:
    from automl.models import load_model

    folder = pipeline_dir(directory)
    if folder is None:
        raise UserError(f"{directory} is not a pipeline folder (no {MANIFEST})",
                        fix="give the pipeline/ folder an `automl run` on an ABS-10 file wrote")
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return Pipeline(load_model(folder / manifest["entities"]), load_model(folder / manifest["relations"]),
                    PairRule.from_dict(manifest["pairs"]))
