"""The rule book: every numbered rule is carried, and the loader rejects broken presets at start-up."""

from __future__ import annotations

import pytest

import presets
from advisor.rules import PresetError, parse_rulebook, rulebook

# The numbered list of the guide's rules (seed-rules.md), copied here so no test reads ../shared.
SEED_RULE_IDS = (
    [f"ABS-{i}" for i in range(1, 11)] + [f"SPLIT-{i}" for i in range(1, 7)] + ["GOAL-1", "GOAL-2"]
    + [f"QPS-{i}" for i in range(1, 5)] + [f"QUAL-{i}" for i in range(1, 6)] + ["HW-1", "HW-2"]
    + [f"TIME-{i}" for i in range(1, 9)] + [f"DATA-{i}" for i in range(1, 7)] + ["ITER-1", "ITER-2"]
    + [f"FLOW-{i}" for i in range(1, 4)] + [f"DIST-{i}" for i in range(1, 5)]
)
TASKS = tuple(f"ABS-{i}" for i in range(1, 11))


def test_every_seed_rule_is_carried_with_its_source() -> None:
    book = rulebook()
    assert sorted(book.by_id) == sorted(SEED_RULE_IDS)
    for rule in book.rules:
        assert rule.because and rule.source
        # the source is the guide's own (Chinese) sentence, not a paraphrase
        assert any("\u4e00" <= ch <= "\u9fff" for ch in rule.source), rule.id
    assert book.guide.url.startswith("https://") and book.guide.title


def test_every_task_abstraction_has_a_format_and_a_rule() -> None:
    tasks = presets.load("tasks")["tasks"]
    assert sorted(tasks) == sorted(TASKS)
    setters = {r.then["task"] for r in rulebook().rules if "task" in r.then}
    assert setters == set(TASKS)


def _book(rule: dict) -> None:
    base = {"id": "X-1", "section": "1", "kind": "decision", "because": "b", "source": "源"}
    parse_rulebook({"rules": [{**base, **rule}]}, {"title": "t", "url": "u", "license": "l"}, TASKS)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"when": {"all": [{"field": "qsp", "op": "gt", "value": 1}]}}, "Did you mean 'qps'"),
        ({"when": {"all": [{"field": "qps", "op": "greater", "value": 1}]}}, "unknown operator"),
        ({"when": {"all": [{"field": "input", "op": "eq", "value": "one_txt"}]}}, "Did you mean 'one_text'"),
        ({"when": {"all": [{"field": "task", "op": "eq", "value": "ABS-11"}]}}, "not one of"),
        ({"when": {"all": [{"field": "qps", "op": "in", "value": 3}]}}, "needs a list"),
        ({"when": {"all": [{"field": "qps", "op": "gt"}]}}, "needs a value"),
        ({"then": {"distil": "model"}}, "Did you mean 'distill'"),
        ({"then": {"ladder": ["tiny", "huge"]}}, "not one of"),
        ({"kind": "advise"}, "Did you mean 'advice'"),
        ({"becuase": "x"}, "unknown key"),
        ({"kind": "advice", "then": {"distill": "model"}}, "only decision rules"),
    ],
)
def test_broken_presets_fail_at_load_with_a_suggestion(rule: dict, message: str) -> None:
    with pytest.raises(PresetError, match=message):
        _book(rule)


def test_duplicate_ids_are_rejected() -> None:
    base = {"id": "X-1", "section": "1", "kind": "advice", "because": "b", "source": "源"}
    with pytest.raises(PresetError, match="twice"):
        parse_rulebook({"rules": [base, base]}, {"title": "t", "url": "u", "license": "l"}, TASKS)
