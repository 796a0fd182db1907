"""`automl serve`: a saved model behind HTTP (the standard library's threading server), loopback by default.

    GET  /health    {"status": "ok", "task", "family", "labels", "model"}
    POST /predict   {"texts": [...]} -> {"predictions": [{"label": "pos", "probabilities": {...}}, ...]}

Every answer is JSON. A bad request gets a 4xx and a message saying what to send; a failure inside the
model a 500 with the error's message (the traceback goes to the server's log, never to the client).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from advisor.dataset import Example
from automl.models.base import TaskModel
from automl.serve.batcher import MicroBatcher
from automl.serve.outputs import Forward
from automl.serve.requests import BadRequest, Limits, parse_request

S = TypeVar("S", bound=ThreadingHTTPServer)

log = logging.getLogger("automl.serve")


class ModelServer(ThreadingHTTPServer):
    """One model, one batching worker, a thread per connection."""

    daemon_threads = True

    def __init__(self, model: TaskModel, address: tuple[str, int], *, model_dir: str = "",
                 limits: Limits | None = None, max_batch: int = 64, forward: Forward | None = None,
                 runtime: str = "pytorch") -> None:
        """`forward`: logits of a collated batch from elsewhere than the model (an ONNX session), named
        `runtime` in /health; the model still encodes and decodes."""
        from automl.serve.outputs import answers

        model.eval()
        self.model = model
        self.model_dir = model_dir
        self.runtime = runtime
        self.limits = limits or Limits()
        self.n_features = len(getattr(model, "stats", {}).get("feature_mean", []))

        def answer(examples: Sequence[Example]) -> list[dict[str, Any]]:
            return answers(model, examples, batch_size=32, forward=forward)

        self.batcher = MicroBatcher(answer, max_batch=max_batch)
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def health(self) -> dict[str, Any]:
        labels = self.model.labels
        return {"status": "ok", "task": labels.task, "family": self.model.family, "labels": labels.names,
                "regression": labels.regression, "model": self.model_dir, "runtime": self.runtime}

    def server_close(self) -> None:
        super().server_close()
        self.batcher.close()


class _Handler(BaseHTTPRequestHandler):
    server: ModelServer
    protocol_version = "HTTP/1.1"  # keep-alive: a client's requests reuse one connection
    # Headers and body leave in one write, without Nagle's wait: sent as two small writes, each answer on a
    # kept-alive connection waited for the client's delayed ACK (~40 ms), 81 requests/s in the load test.
    wbufsize = -1
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        if self.path.split("?")[0] == "/health":
            self._send(HTTPStatus.OK, self.server.health())
        else:
            self._send(HTTPStatus.NOT_FOUND, {"error": f"no route GET {self.path}: use GET /health or POST /predict"})

    def do_POST(self) -> None:  # noqa: N802
        if self.path.split("?")[0] != "/predict":
            self._send(HTTPStatus.NOT_FOUND, {"error": f"no route POST {self.path}: use POST /predict"})
            return
        try:
            examples = parse_request(self._body(), self.server.model.labels.task, self.server.limits,
                                     self.server.n_features)
        except BadRequest as bad:
            self._send(bad.status, {"error": bad.message})
            return
        try:
            predictions = self.server.batcher.submit(examples)
        except Exception as error:  # noqa: BLE001 - the client gets the message, the log the traceback
            log.exception("POST /predict failed")
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR,
                       {"error": f"the model failed on this request: {type(error).__name__}: {error}"})
            return
        self._send(HTTPStatus.OK, {"predictions": predictions})

    def do_PUT(self) -> None:  # noqa: N802
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "use GET /health or POST /predict"})

    do_DELETE = do_PATCH = do_PUT  # noqa: N815

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True  # a body of unknown size cannot be skipped
            raise BadRequest(411, "send a Content-Length header with the JSON body")
        try:
            size = int(length)
        except ValueError:
            self.close_connection = True
            raise BadRequest(400, f"Content-Length is not a number: {length!r}") from None
        if size > self.server.limits.max_body_bytes:
            self.close_connection = True  # the unread body would be taken for the next request
            raise BadRequest(413, f"the body has {size:,} bytes; the limit is {self.server.limits.max_body_bytes:,}: "
                                  "send fewer texts a request")
        return self.rfile.read(size) if size > 0 else b""

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        log.info("%s %s", self.address_string(), format % args)


def start_server(model: TaskModel, host: str = "127.0.0.1", port: int = 0, **options: Any
                 ) -> tuple[ModelServer, threading.Thread]:
    """A server answering from a background thread (port 0: any free port; read `server.url`).
    Stop it with `server.shutdown(); server.server_close()`."""
    server = ModelServer(model, (host, port), **options)
    thread = threading.Thread(target=server.serve_forever, name="automl-serve", daemon=True)
    thread.start()
    return server, thread


def serve(model_dir: Path, host: str, port: int, threads: int | None, max_batch: int, console: Any,
          onnx: Path | None = None) -> None:
    """Load `model_dir` and answer until interrupted (Ctrl-C); with `onnx`, its forward runs in onnxruntime."""
    import torch

    from advisor.errors import UserError
    from automl.models import load_model
    from automl.pipeline.model import pipeline_dir

    if pipeline_dir(model_dir) is not None:  # ABS-10: the SPLIT-2 pipeline's two models (automl/pipeline/serve.py)
        if onnx is not None:
            raise UserError("--onnx serves one model, and a pipeline folder holds two",
                            fix="serve the pipeline without --onnx, or export and serve its entities/ or relations/ alone")
        from automl.pipeline.serve import serve_pipeline

        serve_pipeline(model_dir, host, port, threads, max_batch, console)
        return
    if threads is not None:
        torch.set_num_threads(threads)
    model = load_model(model_dir)
    forward = _onnx_forward(model, onnx, threads or torch.get_num_threads()) if onnx is not None else None
    server = listen(lambda: ModelServer(model, (host, port), model_dir=str(model_dir), max_batch=max_batch,
                                        forward=forward, runtime="onnxruntime" if onnx is not None else "pytorch"),
                    host, port)
    serve_until_stopped(server, host, console, f"serving {model.family} {model.labels.task} model {model_dir} with "
                        f"{server.runtime} on {server.url} (POST /predict, GET /health; Ctrl-C stops)")


def listen(make: Callable[[], S], host: str, port: int) -> S:
    """The server `make` builds, its bind errors (port taken, address not here) as user errors naming the fix."""
    import errno

    from advisor.errors import UserError

    try:
        return make()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise UserError(f"port {port} on {host} is already in use", fix="pick another with --port") from None
        raise UserError(f"cannot listen on {host}:{port}: {error.strerror}",
                        fix="use --host 127.0.0.1 (this machine only) or an address of this machine") from None


def serve_until_stopped(server: ThreadingHTTPServer, host: str, console: Any, banner: str) -> None:
    """Log requests to stderr, warn when reachable from other machines, answer until Ctrl-C."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]listening on {host}: anyone who can reach this port can use the model "
                      "(no authentication, no TLS)[/]")
    console.print(banner)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.server_close()


def _onnx_forward(model: TaskModel, path: Path, threads: int) -> Forward:
    """The ONNX file's forward, refused unless `automl export` wrote it from these very weights."""
    from functools import partial

    from advisor.errors import UserError
    from automl.export.onnx import exported_digest, run_session, session, weights_digest

    if not path.is_file():
        raise UserError(f"{path}: no such ONNX file", fix="write it with `automl export MODEL_DIR --onnx`")
    stamped = exported_digest(path)
    if stamped != weights_digest(model):
        raise UserError(f"{path} was not exported from this model's weights"
                        + (" (it has no automl stamp)" if stamped is None else ""),
                        fix="export it again: automl export MODEL_DIR --onnx --out FILE")
    return partial(run_session, session(path, threads))
