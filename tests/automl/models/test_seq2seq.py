"""ABS-7's encoder-decoder: decoding, save and load, predict, and a real training run on a constructed task
(a Chinese clause -> its pinyin, automl/demo_data/pinyin.py)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from advisor.dataset import Example
from advisor.errors import UserError
from automl.cli import app
from automl.demo_data.pinyin import pinyin_pairs
from automl.labels import label_space
from automl.metrics import evaluate
from automl.models import build_model, load_model, resolve_model
from automl.models.seq2seq import Seq2SeqModel, beam_search, greedy_search
from automl.models.seq2seq._units import split_units
from automl.serve.outputs import answers
from automl.serve.server import start_server
from automl.training import TrialConfig, predict, run_trial

SMALL = {"d_model": 64, "heads": 2, "encoder_layers": 1, "decoder_layers": 1, "feed_forward": 128}
PAD, BOS, EOS, A, B = range(5)


class TableStepper:
    """Next-token probabilities from a table keyed by the prefix: after BOS, A .55 / B .45; after A, A .7 /
    EOS .3; after A A, EOS; after B, EOS .9. Greedy takes A A (p .385), the best sequence is B (p .405)."""

    table = {(BOS,): {A: 0.55, B: 0.45}, (BOS, A): {A: 0.7, EOS: 0.3}, (BOS, A, A): {EOS: 1.0},
             (BOS, B): {EOS: 0.9, A: 0.1}}

    def encode(self, src: torch.Tensor) -> Any:
        return src

    def repeat(self, state: Any, times: int) -> Any:
        return state.repeat_interleave(times, dim=0)

    def next_log_probs(self, state: Any, prefixes: torch.Tensor) -> torch.Tensor:
        rows = torch.full((prefixes.size(0), 5), 1e-9)
        for i, prefix in enumerate(prefixes.tolist()):
            while prefix and prefix[-1] == EOS:
                prefix = prefix[:-1]
            for token, p in self.table.get(tuple(prefix), {EOS: 1.0}).items():
                rows[i, token] = p
        return rows.log()


def test_beam_finds_the_likelier_answer_greedy_misses() -> None:
    src = torch.zeros(2, 3, dtype=torch.long)
    assert greedy_search(TableStepper(), src, BOS, EOS, 5) == [[A, A], [A, A]]
    assert beam_search(TableStepper(), src, BOS, EOS, 5, beam_size=2, length_penalty=0.0) == [[B], [B]]


def test_beam_one_is_greedy_on_a_real_net() -> None:
    train = [Example(text=s, target=t) for s, t in pinyin_pairs(40)]
    torch.manual_seed(0)
    model = build_model(resolve_model("seq2seq"), label_space("ABS-7", train), train, 32, "zh", **SMALL)
    assert isinstance(model, Seq2SeqModel)
    model.eval()
    net = model.net
    src = model.collate(train[:8], with_targets=False)["src_ids"]
    greedy = greedy_search(net, src, 1, 2, 12)
    assert beam_search(net, src, 1, 2, 12, beam_size=1) == greedy
    assert len(beam_search(net, src, 1, 2, 12, beam_size=3)) == 8
    assert all(len(row) <= 12 for row in greedy)


def test_a_row_without_target_is_refused() -> None:
    with pytest.raises(UserError, match="no target text"):
        label_space("ABS-7", [Example(text="今天", target="jin tian", line=1), Example(text="明天", target="", line=2)])


def _trained(rows: int, epochs: float, **shape: Any) -> tuple[Seq2SeqModel, list[Example], list[Example]]:
    pairs = [Example(text=s, target=t, line=i + 1) for i, (s, t) in enumerate(pinyin_pairs(rows, seed=7, common=300))]
    train, dev, test = pairs[: rows - 100], pairs[rows - 100: rows - 50], pairs[rows - 50:]
    labels = label_space("ABS-7", train, dev, test)
    torch.manual_seed(0)
    model = build_model(resolve_model("seq2seq"), labels, train, 32, "zh", **shape)
    assert isinstance(model, Seq2SeqModel)
    config = TrialConfig(learning_rate=2e-3, batch_size=32, epochs=epochs, threads=1, patience=None, bf16=False)
    run_trial(config, model, train, dev)
    return model, train, test


def test_saved_model_answers_with_text_through_predict_and_serve(tmp_path: Path) -> None:
    model, _, test = _trained(160, 1, **SMALL)
    before = predict(model, test[:6])
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert predict(loaded, test[:6]) == before
    assert [a["text"] for a in answers(loaded, test[:6])] == before
    server, _ = start_server(loaded)  # loopback, any free port
    try:
        body = json.dumps({"texts": [e.text for e in test[:2]]}).encode()
        request = urllib.request.Request(server.url + "/predict", data=body, method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            assert json.loads(response.read())["predictions"] == [{"text": t} for t in before[:2]]
    finally:
        server.shutdown()
        server.server_close()
    (tmp_path / "in.txt").write_text("\n".join(e.text for e in test[:3]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["predict", "--model", str(tmp_path / "m"), "--data", str(tmp_path / "in.txt"),
                                      "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [r["text"] for r in rows] == before[:3] and all("line" in r for r in rows)
    beamed = CliRunner().invoke(app, ["predict", "--model", str(tmp_path / "m"), "--data", str(tmp_path / "in.txt"),
                                      "--format", "jsonl", "--beam", "3", "--max-new-tokens", "2"])
    assert beamed.exit_code == 0, beamed.output
    texts = [json.loads(line)["text"] for line in beamed.stdout.splitlines() if line.startswith("{")]
    assert len(texts) == 3 and all(len(split_units(t)) <= 2 for t in texts)


@pytest.mark.slow
def test_a_short_training_run_beats_copying_the_input() -> None:
    model, _, test = _trained(700, 30, **SMALL)
    golds = model.targets(test)
    trained = evaluate("ABS-7", model.labels, golds, predict(model, test))
    copied = evaluate("ABS-7", model.labels, golds, [e.text for e in test])
    # copying a Chinese clause shares no character with its pinyin: chrF ~0
    assert trained["chrf"] > copied["chrf"] + 0.15, (trained, copied)
