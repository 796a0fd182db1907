"""Golden scenarios from the guide's own examples (presets/golden.toml): answers -> task, distill, fired ids."""

from __future__ import annotations

import pytest

import presets
from advisor.answers import parse_answers
from advisor.plans import recommend

SCENARIOS = presets.load("golden")["scenario"]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_golden_scenario(scenario: dict) -> None:
    rec = recommend(parse_answers(scenario["answers"], origin=scenario["name"]))
    expect = scenario["expect"]
    fired = {f.id for f in rec.fired_rules}
    assert rec.task.id == expect["task"]
    assert rec.distill.method == expect["distill"]
    assert set(expect.get("fired", [])) <= fired, set(expect.get("fired", [])) - fired
    assert not set(expect.get("not_fired", [])) & fired


def test_golden_covers_every_task_and_distill_method() -> None:
    assert {s["expect"]["task"] for s in SCENARIOS} >= {f"ABS-{i}" for i in range(1, 11)}
    assert {s["expect"]["distill"] for s in SCENARIOS} == {"none", "model", "data"}
