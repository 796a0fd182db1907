"""`automl predict` with a pipeline folder: entities and relations for each text, in the ABS-10 format
(each relation with its probability). An ABS-10 file with gold entities and relations also gets its scores
(the three F1s, on stderr)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console

from advisor.errors import UserError
from advisor.formats.relations import looks_like_relations, read_relations


def predict_pipeline(model_dir: Path, data: Path, output: Path | None, batch_size: int, console: Console,
                     output_format: str | None = None) -> None:
    from automl.pipeline.model import load_pipeline
    from automl.pipeline.run import evaluate
    from automl.predict import read_inputs

    fmt = output_format or ("jsonl" if output is not None and output.suffix.lower() == ".jsonl" else "tsv")
    if fmt not in ("tsv", "jsonl"):
        raise UserError(f"unknown output format {fmt!r}", fix="use --format tsv or --format jsonl")
    pipe = load_pipeline(model_dir)
    gold = read_relations(data).records if looks_like_relations(data) else None
    if gold is not None:
        texts, lines = [r.text for r in gold], [r.line for r in gold]
    else:
        examples, _ = read_inputs(data, "ABS-1")
        texts, lines = [e.text for e in examples], [e.line for e in examples]
    found = pipe.extract(texts, batch_size)
    rows = []
    for line, x in zip(lines, found, strict=True):
        answer = x.answer()
        if fmt == "jsonl":
            rows.append(json.dumps({"line": line, "text": x.text, **answer}, ensure_ascii=False))
        else:
            cells = [x.text, json.dumps(answer["entities"], ensure_ascii=False), json.dumps(answer["relations"], ensure_ascii=False)]
            rows.append("\t".join(c.replace("\t", " ").replace("\n", " ") for c in cells))
    text = "\n".join(rows) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {len(texts):,} predictions to {output}")
    else:
        sys.stdout.write(text)
    if gold is not None:
        scores = evaluate(pipe, gold)
        Console(stderr=True).print("scores: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items() if k.endswith("_f1")))
