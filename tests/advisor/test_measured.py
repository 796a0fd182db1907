"""`advisor recommend --measure`: torch only behind the flag, measured facts in the JSON and the QPS rule."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from advisor.answers import parse_answers
from advisor.cli import app
from advisor.plans import recommend
from advisor.qps_facts import state_measured_facts
from advisor.recommendation import Measured

NEW_USER = ('input = "one_text"\noutput = "one_class"\nnum_labels = 2\nlabeled_rows = 8000\nlanguage = "zh"\n'
            'qps = 2000\ntrain_hardware = "cpu"\nserve_hardware = "cpu"\n')
MEASURED_KEYS = {"qps_batch_1", "qps_batch_32", "train_samples_per_s", "threads", "device", "max_length", "precision"}


def test_without_measure_no_torch_is_imported_and_the_answer_is_fast(tmp_path: Path) -> None:
    answers = tmp_path / "a.toml"
    answers.write_text(NEW_USER, encoding="utf-8")
    script = (
        "import sys, time\n"
        "from typer.testing import CliRunner\n"
        "from advisor.cli import app\n"
        "started = time.process_time()\n"
        f"r = CliRunner().invoke(app, ['recommend', '--answers', {str(answers)!r}, '--json'])\n"
        "elapsed = time.process_time() - started\n"  # CPU seconds: wall time on a shared machine is its load
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in ('torch', 'transformers', 'optuna', 'automl.measure') if m in sys.modules), elapsed)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "[]", out
    assert float(out[1]) < 1.0


def test_measure_fills_every_tier_and_names_the_tier_that_meets_the_target(tmp_path: Path) -> None:
    answers = tmp_path / "a.toml"
    answers.write_text(NEW_USER, encoding="utf-8")
    result = CliRunner().invoke(app, ["recommend", "--answers", str(answers), "--json", "--measure",
                                      "--measure-seconds", "0.5"])
    assert result.exit_code == 0, result.output
    rec = json.loads(result.stdout)
    tiers = rec["model_tiers"]
    assert [t["name"] for t in tiers] == ["lstm", "gru", "cnn", "bow"]
    for tier in tiers:
        assert MEASURED_KEYS <= set(tier["measured"]) and tier["measured"]["qps_batch_32"] > 0
        assert tier["measured"]["threads"] >= 1 and tier["measured"]["hours_per_epoch"] > 0
    qps1 = next(f for f in rec["fired_rules"] if f["id"] == "QPS-1")
    assert "Measured here" in qps1["because"]
    meets = [t["name"] for t in tiers if t["measured"]["meets_qps"]]
    if meets:  # on a loaded machine even BOW may miss it; then the rule says how many machines
        assert f"serve {meets[0]}, the first tier of the ladder that meets it here" in qps1["because"]
        assert rec["training"]["model"] == meets[0]
    else:
        assert f"cluster of {tiers[-1]['measured']['machines_for_qps']} machines" in qps1["because"]


def _measured(qps_b32: float) -> Measured:
    return Measured(qps_batch_1=qps_b32 / 3, qps_batch_32=qps_b32, train_samples_per_s=100.0, threads=2, device="cpu",
                    max_length=64, precision="bf16")


def test_qps_rule_states_who_meets_who_needs_distillation_and_how_many_machines() -> None:
    rec = recommend(parse_answers({"input": "one_text", "output": "one_class", "num_labels": 2, "labeled_rows": 20000,
                                   "qps": 2000}))  # GPU training: ERNIE base teacher, tiny student
    speeds = {"ernie-3.0-base-zh": 150.0, "ernie-3.0-medium-zh": 450.0}
    for tier in rec.model_tiers:
        tier.measured = _measured(speeds.get(tier.name, 5000.0))
    rec.model_tiers.append(rec.model_tiers[-1].model_copy(update={"name": "bow", "family": "bow",
                                                                  "measured": _measured(12_000.0)}))
    state_measured_facts(rec, 2000)
    medium = next(t for t in rec.model_tiers if t.name == "ernie-3.0-medium-zh").measured
    assert medium is not None and not medium.meets_qps and medium.machines_for_qps == 5  # ceil(2000 / 450)
    because = next(f.because for f in rec.fired_rules if f.id == "QPS-1")
    assert "bow 12,000 at batch 32" in because
    assert "ernie-3.0-base-zh serves 150 at batch 32 (50 at batch 1): needs distillation into bow" in because
    assert "cluster of 14 machines" in because  # ceil(2000 / 150)
    assert "model distillation ends at ernie-3.0-medium-zh, which misses it here: data distillation into bow" in because


def test_when_no_tier_meets_the_target_the_fast_scratch_nets_are_measured_and_added() -> None:
    from advisor.measured import add_fast_students

    rec = recommend(parse_answers({"input": "one_text", "output": "one_class", "num_labels": 2, "labeled_rows": 20000,
                                   "qps": 2000}))
    asked: list[str] = []

    def fake_measure(tier) -> None:  # bow serves 9,000, cnn 1,500 (misses)
        asked.append(tier.name)
        tier.measured = _measured(9000.0 if tier.name == "bow" else 1500.0)

    add_fast_students(rec, fake_measure, 2000)
    assert asked == ["bow", "cnn"]
    assert rec.model_tiers[-1].name == "bow" and rec.model_tiers[-1].rule == "QPS (measured)"
    assert "cnn" not in [t.name for t in rec.model_tiers]
