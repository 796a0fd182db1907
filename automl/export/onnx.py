"""A saved model's network as an ONNX graph: its `forward` on the inputs its own `collate` makes, batch and
sequence axes dynamic. Preprocessing (tokenizer or vocabulary) and decoding (argmax, Viterbi over a tagger's
scores) stay in Python on both sides, so the graph answers exactly what the PyTorch model's forward does.

torch.onnx's dynamo exporter (torch.export, then onnxscript) traces the forward; every axis is declared
`Dim.AUTO`, so the exporter itself finds which axes are dynamic and which are tied (a bigram id row has as
many positions as its text), and the check in `automl.export.check` runs batch 1 and a full batch through
the file to prove the dynamic axes took.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from advisor.dataset import Example
from advisor.errors import UserError
from automl.models.base import TaskModel

OPSET = 18
DIGEST_KEY = "automl_weights_sha256"
# read by decode, not forward (the last three: a reading-comprehension model's windows, automl/models/span_qa)
DECODE_ONLY = frozenset({"labels", "num_tokens", "word_starts", "num_words", "window_of", "offsets", "context_chars"})


@dataclass(frozen=True)
class OnnxExport:
    path: Path
    inputs: list[str]  # the graph's inputs, names of the model's collated batch
    seconds: float
    size_mb: float


class _BagAsGather(nn.Module):
    """`nn.EmbeddingBag` over padded 2-D ids (padding id excluded) as a gather and a masked reduction.

    The exporter writes an EmbeddingBag as an ONNX Loop over the bags, which onnxruntime ran 5.6x slower than
    PyTorch's kernel on a BOW at batch 1 and 15x at batch 32 (measured here, 1 thread); a Gather and a
    ReduceSum are single kernels (README, "Export, serving and predictions"). Same values: the mean divides by the non-padding count, an empty bag is zeros.
    """

    def __init__(self, bag: nn.EmbeddingBag) -> None:
        super().__init__()
        if bag.mode not in ("sum", "mean", "max"):
            raise ValueError(f"unsupported EmbeddingBag mode {bag.mode!r}")
        self.weight = bag.weight
        self.mode = bag.mode
        self.padding_idx = -1 if bag.padding_idx is None else bag.padding_idx

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        keep = (ids != self.padding_idx).unsqueeze(-1)
        vectors = nn.functional.embedding(ids, self.weight)
        if self.mode == "max":
            best = vectors.masked_fill(~keep, float("-inf")).amax(dim=1)
            return torch.where(keep.any(dim=1), best, torch.zeros_like(best))
        total = (vectors * keep.to(vectors.dtype)).sum(dim=1)
        if self.mode == "sum":
            return total
        return total / keep.sum(dim=1).clamp(min=1).to(vectors.dtype)


def _export_ready(model: TaskModel) -> TaskModel:
    """A copy of `model` whose 2-D EmbeddingBags are `_BagAsGather` (the original is left as it is)."""
    if not any(isinstance(m, nn.EmbeddingBag) for m in model.modules()):
        return model
    ready = copy.deepcopy(model)
    for parent in ready.modules():
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.EmbeddingBag):
                setattr(parent, name, _BagAsGather(child))
    return ready


class _LogitsOf(nn.Module):
    """The model's forward as a function of positional tensors (ONNX graphs take positional inputs)."""

    def __init__(self, model: TaskModel, names: list[str]) -> None:
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.names, tensors, strict=True))).logits


def forward_only(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A collated batch without the keys only `decode` reads."""
    return {k: v for k, v in batch.items() if k not in DECODE_ONLY}


def forward_inputs(model: TaskModel, examples: list[Example]) -> dict[str, torch.Tensor]:
    return forward_only(model.collate(examples, with_targets=False))


def export_onnx(model: TaskModel, examples: list[Example], path: Path) -> OnnxExport:
    """Write `model`'s forward to `path`, traced on a batch of `examples` (4 or more of them, so no axis is
    mistaken for a constant 1). The file is self-contained (weights inside)."""
    if len(examples) < 2:
        raise ValueError(f"export_onnx traces a batch: give at least 2 examples, but got {len(examples)}.")
    model = model.eval()
    sample = sorted(examples, key=model.length)[-min(len(examples), 8):]  # the longest: no axis is length 1
    batch = forward_inputs(model, sample)
    names = list(batch)
    auto = torch.export.Dim.AUTO
    shapes = tuple({axis: auto for axis in range(min(t.dim(), 2))} for t in batch.values())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with warnings.catch_warnings(), _quiet_exporter():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracing chatter
        try:
            program = torch.onnx.export(_LogitsOf(_export_ready(model), names).eval(), tuple(batch.values()), dynamo=True,
                                        input_names=names, output_names=["logits"], dynamic_shapes=(shapes,),
                                        opset_version=OPSET, external_data=False, verbose=False)
        except Exception as error:  # torch.export's many error types: one message, what to do
            raise UserError(f"torch.onnx could not export this {model.family} model: {type(error).__name__}: "
                            f"{str(error).splitlines()[0] if str(error) else ''}",
                            fix="serve it with `automl serve` (PyTorch) instead") from error
    assert program is not None
    program.save(str(path), external_data=False)
    _stamp(path, weights_digest(model))
    seconds = time.perf_counter() - started
    return OnnxExport(path=path, inputs=_graph_inputs(path), seconds=seconds, size_mb=path.stat().st_size / 2**20)


def weights_digest(model: TaskModel) -> str:
    """SHA-256 over the model's tensors (names, shapes, values): which model an ONNX file was exported from."""
    import hashlib

    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.detach().contiguous().cpu().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def exported_digest(path: Path) -> str | None:
    """The digest `export_onnx` stamped into the file's metadata (None for a file it did not write)."""
    import onnx

    props = onnx.load(str(path), load_external_data=False).metadata_props
    return next((p.value for p in props if p.key == DIGEST_KEY), None)


def _stamp(path: Path, digest: str) -> None:
    """The weights' digest into the metadata, and no shape frozen to the traced batch: the exporter can declare
    an output's or an inner tensor's sequence axis as the traced length (an LSTM-CRF tagger's {-1, 102, tags})
    although the graph computes it, and onnxruntime then warned at every other length (33 lines a check, values
    right). Output axes become symbolic, the inner shapes (value_info, optional) are dropped: onnxruntime infers them."""
    import onnx

    graph = onnx.load(str(path))
    graph.metadata_props.add(key=DIGEST_KEY, value=digest)
    del graph.graph.value_info[:]
    for output in graph.graph.output:
        for axis, dim in enumerate(output.type.tensor_type.shape.dim):
            if dim.HasField("dim_value"):
                dim.dim_param = f"{output.name}_axis{axis}"
    onnx.save(graph, str(path))


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporter logs its progress and optional-package notes (torchvision) at warning level: errors only."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "onnxscript", "onnx_ir")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _graph_inputs(path: Path) -> list[str]:
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    initializers = {i.name for i in graph.initializer}
    return [i.name for i in graph.input if i.name not in initializers]


def session(path: Path, threads: int) -> Any:
    """An onnxruntime CPU session with `threads` intra-op threads (and 1 inter-op: one query at a time)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: its warnings name graph internals a user cannot act on
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_session(onnx_session: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The graph's logits for a collated batch (the inputs the graph kept, as numpy)."""
    feeds = {i.name: batch[i.name].numpy() for i in onnx_session.get_inputs()}
    return torch.from_numpy(onnx_session.run(["logits"], feeds)[0])
