"""automl/metrics.py's metric table (`metric_names`, which automl/preflight.py checks --metric against) is what
its `evaluate` computes, and accepts every task's default."""

from __future__ import annotations

from typing import Any

import pytest

from advisor.errors import UserError
from automl.metrics import default_metric, evaluate, metric_names
from automl.models.base import LabelSpace
from automl.preflight import check_metric
from presets.catalog import tasks

EXAMPLES: dict[str, tuple[list[str], bool, list[Any]]] = {  # task: label names, regression, golds (= predictions)
    "ABS-1": (["neg", "pos"], False, ["neg", "pos", "pos"]),
    "ABS-3": (["a", "b"], False, [("a",), ("a", "b"), ()]),
    "ABS-5": ([], True, [0.1, 0.5, 0.9]),
    "ABS-6": (["O", "B-LOC", "I-LOC", "B-PER"], False, [("B-LOC", "I-LOC", "O"), ("B-PER", "O", "O")]),
    "ABS-7": ([], False, ["你好", "再见"]),
    "ABS-9": ([], False, ["北京", "上海"]),
}


@pytest.mark.parametrize("task", list(EXAMPLES))
def test_the_table_is_what_evaluate_computes(task: str) -> None:
    names, regression, golds = EXAMPLES[task]
    computed = set(evaluate(task, LabelSpace(task, names, regression), golds, golds)) | {"loss"}
    computed = {k for k in computed if not k.startswith(("support/", "entities_"))}  # counts, not scores
    table = metric_names(task, regression, tag_types=["LOC", "PER"])
    assert table is not None and set(table) == computed


def test_every_tasks_default_metric_passes_and_a_wrong_one_is_refused() -> None:
    for task in tasks():
        for regression in (False, True) if task == "ABS-5" else (False,):
            check_metric(default_metric(task, LabelSpace(task, [], regression) if regression else None), task, regression)
    check_metric("f1/LOC", "ABS-6")  # entity types are known only once the data is read
    with pytest.raises(UserError, match="f1/PER"):
        check_metric("f1/ORG", "ABS-6", tag_types=["LOC", "PER"])
    with pytest.raises(UserError, match="Use one of"):
        check_metric("pearson", "ABS-5", regression=False)  # a binary label has no correlation
    with pytest.raises(UserError, match="Did you mean 'perplexity'"):
        check_metric("perplexty", "ABS-8")
    with pytest.raises(UserError, match="Did you mean 'exact_match'"):
        check_metric("exact_matc", "ABS-9")  # refused before any model loads, as for every other task


def test_the_metric_table_imports_no_torch() -> None:
    """automl/preflight.py reads it before any model loads: importing it must stay fast (no torch)."""
    import subprocess
    import sys

    code = "import sys, automl.metrics, automl.preflight; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_the_storage_check_closes_its_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """`check_storage` connects to a server once (reachable, credentials, database) and closes that connection
    before returning: Optuna opens its own later, so a worker's connections stay the pool's (automl/workers.py).
    Its connections are told apart from other tests' by their application name (PGAPPNAME)."""
    import os
    import uuid

    from sqlalchemy import create_engine, text

    from automl.preflight import check_storage

    url = os.environ.get("AUTOML_TEST_POSTGRES")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("AUTOML_TEST_POSTGRES is unset: .ci/run starts PostgreSQL with scripts/postgres.sh")
        pytest.skip("no PostgreSQL: export AUTOML_TEST_POSTGRES=$(bash scripts/postgres.sh)")
    name = f"preflight-{uuid.uuid4().hex[:8]}"
    observer = create_engine(url)

    def open_connections() -> int:
        with observer.connect() as conn:  # the observer's own has no PGAPPNAME yet: not counted
            query = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name")
            return int(conn.execute(query, {"name": name}).scalar_one())

    try:
        open_connections()
        monkeypatch.setenv("PGAPPNAME", name)
        held = create_engine(url).connect()  # the count sees a connection that stays open
        assert open_connections() == 1
        held.close()
        held.engine.dispose()
        check_storage(url)
        assert open_connections() == 0
    finally:
        observer.dispose()
