"""The transformers encoder-decoder path of ABS-7 (a hub id where there is a network): a tiny T5 built here
from a config, with the packaged MiniLM's tokenizer, saved to a folder; nothing downloaded."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from advisor.dataset import Example
from advisor.errors import UserError
from automl.labels import label_space
from automl.models import build_model, load_model, resolve_model
from automl.models.seq2seq import HubSeq2SeqModel
from automl.training import TrialConfig, predict, run_trial
from presets.catalog import tier


@pytest.fixture
def tiny_t5(tmp_path: Path) -> Path:
    from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

    minilm = tier("minilm-l6")
    assert minilm is not None and minilm.local_path() is not None
    tokenizer = AutoTokenizer.from_pretrained(str(minilm.local_path()))
    special = {"pad_token_id": tokenizer.pad_token_id, "decoder_start_token_id": tokenizer.pad_token_id,
               "eos_token_id": tokenizer.sep_token_id}  # BERT's [PAD] starts, [SEP] ends (T5's own: pad, </s>)
    config = T5Config(vocab_size=tokenizer.vocab_size, d_model=32, d_ff=64, d_kv=16, num_layers=1,
                      num_decoder_layers=1, num_heads=2, **special)
    torch.manual_seed(0)
    T5ForConditionalGeneration(config).save_pretrained(tmp_path / "t5")
    tokenizer.save_pretrained(tmp_path / "t5")
    return tmp_path / "t5"


WORDS = "the cat sat on a mat while my dog ran to her red ball".split()


def _reversed(n: int) -> list[Example]:
    """English word sequences -> the same words in reverse order (a constructed task)."""
    rows = []
    for i in range(n):
        words = [WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(3 + i % 3)]
        rows.append(Example(text=" ".join(words), target=" ".join(reversed(words)), line=i + 1))
    return rows


def test_a_local_encoder_decoder_trains_generates_and_reloads(tiny_t5: Path, tmp_path: Path) -> None:
    train, dev = _reversed(48), _reversed(8)
    labels = label_space("ABS-7", train, dev)
    model = build_model(resolve_model(str(tiny_t5)), labels, train, 32, "en")
    assert isinstance(model, HubSeq2SeqModel)
    result = run_trial(TrialConfig(learning_rate=1e-3, batch_size=16, epochs=2, threads=1, bf16=False), model, train, dev)
    assert result.metric == "chrf" and 0.0 <= result.score <= 1.0
    before = predict(model, dev)
    assert all(isinstance(text, str) for text in before)
    model.save(tmp_path / "saved")
    assert predict(load_model(tmp_path / "saved"), dev) == before


def test_an_encoder_only_model_is_refused_for_generation() -> None:
    minilm = tier("minilm-l6")
    assert minilm is not None
    train = _reversed(4)
    with pytest.raises(UserError, match="no encoder-decoder"):
        build_model(resolve_model("minilm-l6"), label_space("ABS-7", train), train, 32, "en")
