"""`automl run` on an ABS-10 file: the guide's SPLIT-2 pipeline, trained with one command.

1. Read the records (advisor/formats/relations.py) and split them (seeded 10% dev, 10% test when not given).
2. Write the two sub-tasks' files under OUT/data: character BIO for the entity tagger (ABS-6, CoNLL) and one
   marked text a candidate entity pair for the relation classifier (ABS-1, TSV; automl/pipeline/data.py).
3. Run the usual sweep (automl/run.py: batch-size search, Optuna, test score, QPS) on each, in OUT/entities
   and OUT/relations, with its own share of the time budget.
4. Among the models each sweep kept, pick the (tagger, classifier) pair with the best dev end-to-end relation
   F1: the sub-studies optimise their own dev metric, the pipeline is chosen on end-to-end F1.
5. Score it on test (entity F1, relation F1 on gold entities, end-to-end F1), save OUT/pipeline (both models
   and the manifest `automl predict` loads), write OUT/report.md and OUT/pipeline_report.json.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console

from advisor.errors import UserError
from advisor.formats.relations import RelationRecord, read_relations
from automl.pipeline.data import NO_RELATION, PairRule, conll_text, learn_rule, pair_examples, tsv_text
from automl.pipeline.model import Pipeline
from automl.pipeline.scores import pipeline_scores
from automl.run import RunOptions
from automl.splits import HOLDOUT

ENTITY_MODELS = ["lstm"]  # the fastest char tagger measured on People's Daily (automl/models/scratch/_hparams.py)
RELATION_MODELS = ["cnn", "bow"]  # short marked texts: the fast from-scratch classifiers
BUDGET_SHARES = {"entities": 0.4, "relations": 0.4}  # the rest: the sweeps' last stages and the pairing
KEEP = 3  # models each sweep keeps for the pairing


def split_records(options: RunOptions) -> tuple[dict[str, list[RelationRecord]], list[str]]:
    train = read_relations(options.data)
    notes = list(train.notes)
    rows = list(train.records)
    held = max(1, round(len(rows) * HOLDOUT))
    parts: dict[str, list[RelationRecord]] = {}
    for name, given in (("test", options.test), ("dev", options.dev)):
        if given is not None:
            parts[name] = read_relations(given).records
            continue
        random.Random(f"{options.seed}-{name}").shuffle(rows)
        parts[name], rows = rows[:held], rows[held:]
        notes.append(f"no {name} file: a seeded {HOLDOUT:.0%} of train ({held:,} records, seed {options.seed}) "
                     f"is the {name} set")
    if len(rows) < 2:
        raise UserError(f"{options.data}: only {len(rows)} training record(s) left", "give at least a few hundred records")
    parts["train"] = rows
    return parts, notes


def write_subtasks(parts: dict[str, list[RelationRecord]], rule: PairRule, folder: Path, seed: int
                   ) -> tuple[dict[str, Path], dict[str, Path], list[str]]:
    """The tagger's CoNLL files and the classifier's TSV files; what train never shows is left out of dev and
    test (an entity type becomes O, a relation pair is dropped), said in the notes, and still counts as
    missed in the pipeline's scores."""
    notes: list[str] = []
    types = {e.type for r in parts["train"] for e in r.entities}
    train_pairs = pair_examples(parts["train"], rule, sample_seed=seed)
    labels = {e.label for e in train_pairs}
    entity_files, relation_files = {}, {}
    for name in ("train", "dev", "test"):
        recs = parts[name]
        unseen = sum(e.type not in types for r in recs for e in r.entities)
        if unseen:
            notes.append(f"{name}: {unseen} entities of a type train never shows are O in the tagger's {name} file")
        pairs = train_pairs if name == "train" else pair_examples(recs, rule)
        kept = [e for e in pairs if e.label in labels]
        if len(kept) < len(pairs):
            notes.append(f"{name}: {len(pairs) - len(kept)} pairs of a relation type train never shows left out "
                         "of the classifier's file")
        entity_files[name] = folder / "entities" / f"{name}.conll"
        relation_files[name] = folder / "relations" / f"{name}.tsv"
        for path, text in ((entity_files[name], conll_text(recs, types)), (relation_files[name], tsv_text(kept))):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    n_pos = sum(e.label != NO_RELATION for e in train_pairs)
    notes.append(f"relation candidates: entity pairs of types {', '.join('>'.join(p) for p in rule.type_pairs)} at "
                 f"most {rule.max_gap} characters apart; train {len(train_pairs):,} pairs ({n_pos:,} relations, "
                 f"no-relation pairs sampled to at most 4 a relation), dev and test every candidate pair")
    missed = {n: sum(len(r.triples()) for r in parts[n]) for n in ("dev", "test")}
    if not all(missed.values()):
        raise UserError("the dev or test records hold no relation: the pipeline's relation F1 cannot be measured",
                        "give more records with relations, or --dev / --test files that hold some")
    return entity_files, relation_files, notes


def sub_options(options: RunOptions, what: str, files: dict[str, Path], task: str, models: list[str]) -> RunOptions:
    """A sub-sweep's options: its files, task, models, share of the budget and --out; the relation classifier
    optimises macro F1 (no_relation is most pairs: accuracy would reward saying it always)."""
    budget = None if options.budget_minutes is None else options.budget_minutes * BUDGET_SHARES[what]
    return replace(options, data=files["train"], dev=files["dev"], test=files["test"], task=task,
                   models=options.models or models, budget_minutes=budget, out=options.out / what,
                   study=f"{options.study}-{what}" if options.study else None, answers=None,
                   metric="macro_f1" if what == "relations" else None,
                   ensemble=min(max(1, options.ensemble), KEEP))


def kept_dirs(report: Any, out: Path) -> list[Path]:
    """The sweep's best model (or ensemble) first, then the other models it kept on disk."""
    dirs = [Path(report.model.dir)]
    dirs += sorted((p for p in (out / "models").glob("trial-*") if (p / "automl_model.json").is_file()),
                   key=lambda p: int(p.name.split("-")[1]))
    return list(dict.fromkeys(dirs))[:KEEP + 1]


def choose_pair(taggers: list[Path], classifiers: list[Path], dev: list[RelationRecord], rule: PairRule,
                console: Console) -> tuple[Path, Path, float, list[dict[str, Any]]]:
    """The (tagger, classifier) pair with the best dev end-to-end F1 (ties: the sweeps' own best)."""
    from automl.models import load_model
    from automl.pipeline.scores import relation_scores

    texts = [r.text for r in dev]
    tried: list[dict[str, Any]] = []
    best: tuple[Path, Path, float] | None = None
    for tagger_dir in taggers:
        tagger = load_model(tagger_dir)
        found = None
        for classifier_dir in classifiers:
            pipe = Pipeline(tagger, load_model(classifier_dir), rule)
            found = found or pipe.find_entities(texts)
            score = relation_scores(dev, [x.record() for x in pipe.relate(texts, found)])["f1"]
            tried.append({"entities": str(tagger_dir), "relations": str(classifier_dir), "dev_end_to_end_f1": round(score, 4)})
            if best is None or score > best[2]:
                best = (tagger_dir, classifier_dir, score)
    assert best is not None
    console.print(f"pipeline: {len(tried)} (tagger, classifier) pairs tried on dev; best end-to-end F1 {best[2]:.4f} "
                  f"({best[0].name} + {best[1].name})")
    return best[0], best[1], best[2], tried


def evaluate(pipe: Pipeline, records: list[RelationRecord]) -> dict[str, float]:
    texts = [r.text for r in records]
    given_gold = pipe.relate(texts, [r.entities for r in records])
    end_to_end = pipe.extract(texts)
    return pipeline_scores(records, [x.record() for x in given_gold], [x.record() for x in end_to_end])


def pipeline_qps(pipe: Pipeline, texts: list[str], seconds: float = 2.0) -> dict[str, float]:
    """Texts per second through both models (tagger, candidate pairs, classifier), one torch thread as the
    sub-runs' QPS: one text a call, and 32 a call, each for about `seconds` after a warm-up call."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    out: dict[str, float] = {"threads": 1}
    try:
        for size in (1, 32):
            batches = [texts[i:i + size] for i in range(0, max(1, min(len(texts), 256)), size)]
            pipe.extract(batches[0], size)  # warm-up
            done, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                for batch in batches:
                    done += len(pipe.extract(batch, size))
                    if time.perf_counter() - started >= seconds:
                        break
            out[f"batch_{size}"] = round(done / (time.perf_counter() - started), 1)
    finally:
        torch.set_num_threads(previous)
    return out


def run_pipeline(options: RunOptions, console: Console) -> dict[str, Any]:
    from automl.models import load_model
    from automl.pipeline.report import render, write
    from automl.run import sweep
    from automl.run_guard import record_options

    if os.environ.get("WORLD_SIZE", "1") != "1":
        raise UserError("the ABS-10 pipeline trains in one process (two sweeps one after the other)",
                        "drop --nproc (or torchrun) for an entity-relation file")
    if options.metric not in (None, "end_to_end_f1"):
        raise UserError(f"--metric {options.metric}: the ABS-10 pipeline is chosen on end-to-end relation F1 (its "
                        "tagger's sweep on entity F1, its classifier's on macro F1)", "drop --metric")
    started = time.time()
    options.out.mkdir(parents=True, exist_ok=True)
    parts, notes = split_records(options)
    rule = learn_rule(parts["train"])
    record_options(options.out, options)  # --out now belongs to this data and these options (run_guard)
    entity_files, relation_files, more = write_subtasks(parts, rule, options.out / "data", options.seed)
    notes += more
    console.print(f"[bold]ABS-10[/] (SPLIT-2 pipeline) on {len(parts['train']):,} train / {len(parts['dev']):,} dev / "
                  f"{len(parts['test']):,} test records: entity tagger, then relation classifier")
    for note in notes:
        console.print(f"[dim]note: {note}[/]")
    reports = {}
    for what, files, task, models in (("entities", entity_files, "ABS-6", ENTITY_MODELS),
                                      ("relations", relation_files, "ABS-1", RELATION_MODELS)):
        console.rule(f"{what}: {task}")
        reports[what] = sweep(sub_options(options, what, files, task, models), console)
        if reports[what] is None:
            raise UserError(f"the {what} sweep wrote no report (another worker of its study writes it)",
                            "run the ABS-10 pipeline in one process with its own --out")
    tagger_dir, classifier_dir, dev_f1, tried = choose_pair(
        kept_dirs(reports["entities"], options.out / "entities"), kept_dirs(reports["relations"], options.out / "relations"),
        parts["dev"], rule, console)
    pipe = Pipeline(load_model(tagger_dir), load_model(classifier_dir), rule)
    test = evaluate(pipe, parts["test"])
    qps = pipeline_qps(pipe, [r.text for r in parts["test"]])
    report = {"task": "ABS-10", "metric": "end_to_end_f1", "test": test, "dev": {"end_to_end_f1": round(dev_f1, 4)},
              "qps": qps,
              "pipeline": str(options.out / "pipeline"), "entities": str(tagger_dir), "relations": str(classifier_dir),
              "pairs_tried": tried, "pair_rule": rule.to_dict(),
              "data": {n: len(parts[n]) for n in ("train", "dev", "test")} | {"file": str(options.data)},
              "sub_runs": {w: {"out": str(options.out / w), "metric": r.metric, "test": r.test, "model": r.model.name}
                           for w, r in reports.items() if r is not None},
              "notes": notes, "seconds": round(time.time() - started, 1)}
    pipe.save(options.out / "pipeline", tagger_dir, classifier_dir,
              {"test": test, "entity_model": reports["entities"].model.name, "relation_model": reports["relations"].model.name})  # type: ignore[union-attr]
    write(report, options.out)
    render(report, console)
    return report

