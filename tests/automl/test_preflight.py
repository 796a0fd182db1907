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
