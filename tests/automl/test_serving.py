"""measure_qps on a tiny random BERT: real timings, the bf16 check, the median-length sample."""

from __future__ import annotations

import copy
import os

import pytest
import torch

from advisor.dataset import Example
from automl.labels import label_space
from automl.models import build_model, resolve_model
from automl.serving import measure_qps, median_sample
from automl.training import bf16_available

os.environ["HF_HUB_OFFLINE"] = "1"

ROWS = [Example(text=" ".join(["word"] * n), label=("pos" if n % 2 else "neg")) for n in range(1, 42)]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, make_tiny_transformer):  # noqa: ANN001, ANN201
    spec = resolve_model(str(make_tiny_transformer(tmp_path_factory.mktemp("tiny") / "bert")))
    return build_model(spec, label_space("ABS-1", ROWS), ROWS, 64, "en")


def test_median_sample_is_typical(model) -> None:  # noqa: ANN001
    sample = median_sample(model, ROWS, 5)
    assert sorted(model.length(e) for e in sample) == [21, 22, 23, 24, 25]  # 41 rows of 3..43 tokens


def test_measure_qps_reports_both_batch_sizes(model) -> None:  # noqa: ANN001
    before = torch.get_num_threads()
    result = measure_qps(model, ROWS, batch_size=8, seconds=0.2, threads=1, bf16=False)
    assert torch.get_num_threads() == before  # restored
    assert result["qps_batch1"] > 0 and result["qps_batch"] > 0
    assert result["batch_size"] == 8 and result["threads"] == 1 and result["device"] == "cpu"
    assert result["bf16"] is False and result["bf16_identical"] is None
    assert 0 < result["latency_ms_p50"] <= result["latency_ms_p95"]
    assert result["sample_length"] == pytest.approx(23, abs=1)
    assert next(model.parameters()).dtype == torch.float32  # the served copy is separate


def _constant_head(model, bias: list[float]):  # noqa: ANN001, ANN202
    """A copy whose logits are `bias` for every text (classifier weights zeroed)."""
    constant = copy.deepcopy(model)
    with torch.no_grad():
        constant.network.classifier.weight.zero_()
        constant.network.classifier.bias.copy_(torch.tensor(bias))
    return constant


def test_bf16_weights_only_when_predictions_match(model) -> None:  # noqa: ANN001
    clear = _constant_head(model, [0.0, 1.0])  # the second class by a margin bf16 keeps
    result = measure_qps(clear, ROWS, batch_size=4, seconds=0.1, threads=1, bf16=True)
    assert result["bf16_identical"] is True and result["bf16"] is True
    assert next(clear.parameters()).dtype == torch.float32  # the served copy is separate
    close = _constant_head(model, [1.0, 1.0 + 2**-10])  # bf16 keeps 8 significant bits: both logits become 1.0,
    result = measure_qps(close, ROWS, batch_size=4, seconds=0.1, threads=1, bf16=True)  # argmax flips to the first
    assert result["bf16_identical"] is False and result["bf16"] is False
    auto = measure_qps(model, ROWS, batch_size=4, seconds=0.1, threads=1)
    assert (auto["bf16_identical"] is not None) == bf16_available(torch.device("cpu"))
    with pytest.raises(ValueError, match="example texts"):
        measure_qps(model, [], seconds=0.1)


def test_every_text_is_served_once_before_the_timing_starts(model, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """A text's first call builds kernels for its shape: the warm-up serves each of the sample's texts once,
    so a short timing (--measure's) times a warm server, as measure_qps's longer one does."""
    import time

    from automl import serving

    served: list[tuple[float, str]] = []
    real = serving._serve
    def spy(m, batch):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202
        served.append((time.perf_counter(), batch[0].text))
        return real(m, batch)

    monkeypatch.setattr(serving, "_serve", spy)
    sample = [Example(text="好" * n) for n in range(10, 42)]
    before = time.perf_counter()
    _, latencies = serving.serving_throughput(model, sample, 1, seconds=0.2)
    timed_from = served[-len(latencies)][0]
    warm = {text for at, text in served if before <= at < timed_from}
    assert warm == {e.text for e in sample}  # all 32 shapes before the first timed call
