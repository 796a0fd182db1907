"""The engine's trace and the plans it builds, on concrete answers."""

from __future__ import annotations

import pytest

from advisor.answers import parse_answers
from advisor.errors import UserError
from advisor.plans import recommend


def rec_for(**answers):
    return recommend(parse_answers({"input": "one_text", "output": "one_class", **answers}))


def test_trace_names_the_conditions_that_held_with_actual_values() -> None:
    rec = rec_for(qps=5000, labeled_rows=20000, num_labels=2)
    qps1 = next(f for f in rec.fired_rules if f.id == "QPS-1")
    held = {(c.field, c.op): c.actual for c in qps1.conditions}
    assert held[("qps", "gt")] == 5000
    assert "5000" in qps1.because  # the reason carries the user's own value
    assert rec.distill.method == "model" and rec.distill.teacher and rec.distill.student
    roles = {t.role for t in rec.model_tiers}
    assert {"teacher", "student"} <= roles


def test_rules_that_did_not_hold_do_not_fire() -> None:
    rec = rec_for(qps=50, labeled_rows=20000, num_labels=2)
    fired = {f.id for f in rec.fired_rules}
    assert "QPS-4" in fired and not {"QPS-1", "QPS-2", "QPS-3"} & fired
    assert rec.distill.method == "none"


def test_training_plan_follows_time_8() -> None:
    long = rec_for(labeled_rows=20000, num_labels=2, text_chars=300).training
    short = rec_for(labeled_rows=20000, num_labels=2, text_chars=40).training
    assert short.batch_size == 2 * long.batch_size  # short inputs: larger batch
    assert long.max_length == 304 and short.max_length == 48
    cpu = rec_for(labeled_rows=50000, num_labels=2, train_hardware="cpu").training
    assert cpu.batch_size > long.batch_size  # not pretrained: larger batch
    assert long.steps_per_epoch == -(-20000 // long.batch_size)


def test_data_verdict_counts_200_per_label() -> None:
    verdict = rec_for(labeled_rows=1500, num_labels=10).data_verdict
    assert verdict.verdict == "insufficient" and verdict.needed_rows == 2000
    assert rec_for(labeled_rows=5000, num_labels=10).data_verdict.verdict == "sufficient"
    assert rec_for(labeled_rows=3_000_000, num_labels=2).data_verdict.verdict == "more_than_needed"


def test_hardware_plan_cards_files_and_price() -> None:
    hw = rec_for(labeled_rows=20000, num_labels=2, gpus=2, machines=2, gpu_model="v100", train_hours=10).hardware
    assert hw.cards == 4 and hw.data_files == 8  # TIME-5: more data files than cards, two each
    assert hw.gpu_model == "V100" and hw.price_per_card_hour and hw.estimated_train_cost == round(hw.price_per_card_hour * 40, 2)
    with pytest.raises(UserError, match="V100"):
        rec_for(labeled_rows=20000, gpu_model="V10O")


def test_ladder_uses_the_answers_language() -> None:
    zh = rec_for(labeled_rows=20000, num_labels=2, language="zh").model_tiers
    assert zh[0].name.startswith("ernie-3.0") and all(t.language in ("zh", "any", "multi") for t in zh)
    en = rec_for(labeled_rows=20000, num_labels=2, language="en", qps=500, serve_hardware="gpu").model_tiers
    assert en[0].name == "minilm-l6" and en[0].offline
    fr = rec_for(labeled_rows=20000, num_labels=2, language="fr")
    assert any("'fr'" in w for w in fr.warnings)
    assert [t.name for t in fr.model_tiers if t.family == "transformer"] == ["multilingual-e5-small"]


def test_hub_only_chinese_ladders_get_the_offline_multilingual_tier() -> None:
    rec = rec_for(labeled_rows=14000, num_labels=2, language="zh", train_hardware="cpu")
    pretrained = [t for t in rec.model_tiers if t.family == "transformer"]
    assert pretrained[0].name == "ernie-3.0-base-zh"  # the guide's named default stays first
    assert [t.name for t in pretrained if t.offline] == ["multilingual-e5-small"]
    assert pretrained[-1].name == "multilingual-e5-small" and pretrained[-1].rule == pretrained[0].rule
    assert any("multilingual-e5-small is the pretrained tier that trains here" in w for w in rec.warnings)
    en = rec_for(labeled_rows=14000, num_labels=2, language="en", train_hardware="cpu").model_tiers
    assert "multilingual-e5-small" not in [t.name for t in en]  # English has its own offline tier (MiniLM)


def test_cpu_training_puts_scratch_networks_on_the_ladder() -> None:
    rec = rec_for(labeled_rows=50000, num_labels=2, train_hardware="cpu")
    families = [t.family for t in rec.model_tiers]
    assert {"lstm", "gru", "cnn", "bow"} <= set(families)
    assert families.index("lstm") < families.index("bow")  # QUAL-2 order
    assert rec.hardware.train_device == "cpu"
