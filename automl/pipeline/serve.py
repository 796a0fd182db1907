"""`automl serve` with a pipeline folder (ABS-10): POST /predict {"texts": [...]} answers each text with its
entities and relations (each with its probability), in the ABS-10 format; GET /health names both models.
The HTTP side is automl/serve/server.py's, unchanged: the same limits, 4xx messages and micro-batching."""

from __future__ import annotations

import json
from collections.abc import Sequence
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from advisor.dataset import Example
from automl.models.base import LabelSpace
from automl.pipeline.model import MANIFEST, Pipeline, pipeline_dir
from automl.serve.batcher import MicroBatcher
from automl.serve.requests import Limits
from automl.serve.server import ModelServer, _Handler, listen, serve_until_stopped


class _Facade:
    """What the server's handler and /health read of a model: its labels (the task decides the request shape)
    and family."""

    family = "pipeline"

    def __init__(self, pipe: Pipeline) -> None:
        self.labels = LabelSpace("ABS-10", list(pipe.classifier.labels.names))  # the relation types


class PipelineServer(ModelServer):
    def __init__(self, pipe: Pipeline, address: tuple[str, int], *, model_dir: str = "",
                 limits: Limits | None = None, max_batch: int = 64) -> None:
        pipe.tagger.eval()
        pipe.classifier.eval()
        self.model = _Facade(pipe)  # type: ignore[assignment]
        self.model_dir, self.runtime, self.limits, self.n_features = model_dir, "pytorch", limits or Limits(), 0
        manifest = pipeline_dir(Path(model_dir)) if model_dir else None
        self.models = json.loads((manifest / MANIFEST).read_text(encoding="utf-8")) if manifest else {}

        def answer(examples: Sequence[Example]) -> list[dict[str, Any]]:
            return [x.answer() for x in pipe.extract([e.text for e in examples])]

        self.batcher = MicroBatcher(answer, max_batch=max_batch)
        ThreadingHTTPServer.__init__(self, address, _Handler)

    def health(self) -> dict[str, Any]:
        return {**super().health(), "entity_model": self.models.get("entity_model"),
                "relation_model": self.models.get("relation_model")}


def serve_pipeline(model_dir: Path, host: str, port: int, threads: int | None, max_batch: int, console: Any) -> None:
    """`automl serve OUT/pipeline`: load both models and answer until interrupted."""
    import torch

    from automl.pipeline.model import load_pipeline

    if threads is not None:
        torch.set_num_threads(threads)
    pipeline = load_pipeline(model_dir)
    server = listen(lambda: PipelineServer(pipeline, (host, port), model_dir=str(model_dir), max_batch=max_batch),
                    host, port)
    serve_until_stopped(server, host, console, f"serving the ABS-10 pipeline {model_dir} on {server.url} "
                        "(POST /predict {\"texts\": [...]}, GET /health; Ctrl-C stops)")
