"""MicroBatcher: concurrent requests share forward passes, each gets its own answers in order, and one
request that fails does not fail the others batched with it."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from advisor.dataset import Example
from automl.serve.batcher import MicroBatcher


def test_concurrent_requests_share_passes_and_keep_their_order() -> None:
    sizes: list[int] = []

    def answer(examples: Sequence[Example]) -> list[dict[str, Any]]:
        sizes.append(len(examples))
        time.sleep(0.02)  # a forward pass: requests queue up meanwhile
        return [{"echo": e.text} for e in examples]

    batcher = MicroBatcher(answer, max_batch=64)
    results: dict[int, list[dict[str, Any]]] = {}

    def client(k: int) -> None:
        results[k] = batcher.submit([Example(text=f"{k}-{i}") for i in range(3)])

    threads = [threading.Thread(target=client, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    batcher.close()
    assert all(results[k] == [{"echo": f"{k}-{i}"} for i in range(3)] for k in range(12))
    assert sum(sizes) == 36 and len(sizes) < 12 and max(sizes) > 3  # some passes answered several requests
    assert batcher.requests == 12 and batcher.batches == len(sizes)


def test_a_failing_request_fails_alone() -> None:
    release = threading.Event()

    def answer(examples: Sequence[Example]) -> list[dict[str, Any]]:
        release.wait(5)
        if any(e.text == "bad" for e in examples):
            raise ValueError("cannot answer 'bad'")
        return [{"ok": e.text} for e in examples]

    batcher = MicroBatcher(answer)
    outcomes: dict[str, Any] = {}

    def client(text: str) -> None:
        try:
            outcomes[text] = batcher.submit([Example(text=text)])
        except ValueError as error:
            outcomes[text] = error

    threads = [threading.Thread(target=client, args=(t,)) for t in ("first", "good", "bad", "fine")]
    for t in threads:
        t.start()
        time.sleep(0.05)  # "first" holds the worker; the other three queue up into one group
    release.set()
    for t in threads:
        t.join()
    batcher.close()
    assert outcomes["good"] == [{"ok": "good"}] and outcomes["fine"] == [{"ok": "fine"}]
    assert isinstance(outcomes["bad"], ValueError)


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        MicroBatcher(lambda examples: [], max_batch=0)
