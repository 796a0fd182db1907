"""TransformerModel on a tiny random BERT (2 layers, hidden 32) with the real MiniLM tokenizer, and
model resolution: every task's collate/forward/decode, ABS-6 alignment, save/load, tiers and errors."""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import types
from pathlib import Path

import pytest
import torch

from advisor.dataset import Example
from advisor.errors import UserError
from automl.labels import label_space
from automl.models import ModelSpec, build_model, load_model, resolve_model
from automl.models.base import LabelSpace
from automl.models.transformer import TransformerModel
from automl.training import predict

os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, make_tiny_transformer) -> ModelSpec:  # noqa: ANN001
    return resolve_model(str(make_tiny_transformer(tmp_path_factory.mktemp("tiny") / "bert")))


CLASSES = [Example(text="a great film", label="pos"), Example(text="dull and far too long", label="neg"),
           Example(text="fine", label="pos")]
PAIRS = [Example(text="how old are you", text_b="what is your age", label="1"),
         Example(text="how old are you", text_b="where do you live", label="0")]
MULTI = [Example(text="cheap and fast delivery", labels=("price", "shipping")), Example(text="ok", labels=()),
         Example(text="too expensive", labels=("price",))]
SCORES = [Example(text="a cat sits", text_b="a cat is sitting", label="4.6"),
          Example(text="a cat sits", text_b="stocks fell", label="0.2")]
TAGS = [Example(text="我爱北京", tokens=("我", "爱", "北", "京"), tags=("O", "O", "B-LOC", "I-LOC")),
        Example(text="Barack Obama visited Washingtonville",
                tokens=("Barack", "Obama", "visited", "Washingtonville"),
                tags=("B-PER", "I-PER", "O", "B-LOC"))]


@pytest.mark.parametrize(("task", "rows", "n_out"), [
    ("ABS-1", CLASSES, 2), ("ABS-2", PAIRS, 2), ("ABS-3", MULTI, 2), ("ABS-5", SCORES, None),
])
def test_sequence_tasks_collate_forward_decode(tiny: ModelSpec, task: str, rows: list[Example],
                                               n_out: int | None) -> None:
    labels = label_space(task, rows)
    model = build_model(tiny, labels, rows, 32, "en")
    batch = model.collate(rows)
    assert batch["input_ids"].shape == batch["attention_mask"].shape
    assert batch["input_ids"].shape[1] == max(model.length(e) for e in rows)  # dynamic padding
    out = model(**batch)
    assert out.loss is not None and torch.isfinite(out.loss)
    expected = (len(rows),) if n_out is None else (len(rows), n_out)
    assert tuple(out.logits.shape) == expected
    decoded = model.decode(out.logits, batch)
    golds = model.targets(rows)
    assert len(decoded) == len(golds)
    for prediction, gold in zip(decoded, golds, strict=True):
        assert type(prediction) is type(gold)
    if task == "ABS-3":
        assert all(set(p) <= {"price", "shipping"} for p in decoded)
    if task == "ABS-2":
        assert batch["token_type_ids"].max() == 1  # the pair went in as a text pair
    assert "labels" not in model.collate(rows, with_targets=False)


def test_binary_match_is_two_classes(tiny: ModelSpec) -> None:
    model = build_model(tiny, label_space("ABS-5", PAIRS), PAIRS, 32, "en")
    assert model.labels.names == ["0", "1"] and not model.labels.regression
    assert set(predict(model, PAIRS)) <= {"0", "1"}


def test_tags_align_to_words(tiny: ModelSpec) -> None:
    model = build_model(tiny, label_space("ABS-6", TAGS), TAGS, 32, "zh")
    assert isinstance(model, TransformerModel)
    tokenizer = model.tokenizer
    assert tokenizer.convert_tokens_to_ids("爱") == tokenizer.unk_token_id  # MiniLM lacks this character
    assert len(tokenizer.tokenize("Washingtonville")) > 1  # one word, several pieces
    assert model.unk_ratio(TAGS[:1]) == pytest.approx(0.25)  # 1 of 4 characters
    batch = model.collate(TAGS)
    labels = batch["labels"]
    # one target per word, on its first piece; [CLS], [SEP], later pieces and padding are ignored
    assert (labels[0] != -100).sum() == 4 and (labels[1] != -100).sum() == 4
    ids = model.labels.names
    first_of_last_word = int(batch["word_starts"][1, 3])
    assert labels[1, first_of_last_word] == ids.index("B-LOC")
    assert labels[1, first_of_last_word + 1] == -100
    assert int(batch["input_ids"][0, int(batch["word_starts"][0, 1])]) == tokenizer.unk_token_id
    out = model(**batch)
    assert out.logits.shape[:2] == batch["input_ids"].shape
    decoded = model.decode(out.logits, batch)
    assert [len(d) for d in decoded] == [4, 4]
    assert all(tag in ids for row in decoded for tag in row)


def test_tags_decode_to_the_best_well_formed_path(tiny: ModelSpec) -> None:
    """Per-position argmax would leave an I- tag that follows no entity; decode gives the best path of
    well-formed BIO instead, the same one brute force over every tag sequence finds."""
    model = build_model(tiny, label_space("ABS-6", TAGS), TAGS, 32, "en")
    assert isinstance(model, TransformerModel)
    names = list(model.labels.names)
    batch = model.collate(TAGS[1:], with_targets=False)  # 4 words, "Washingtonville" in several pieces
    starts = batch["word_starts"][0].tolist()
    torch.manual_seed(0)
    logits = torch.randn(1, batch["input_ids"].shape[1], len(names))
    logits[0, starts[0], names.index("I-PER")] += 6  # argmax: an entity that starts with I-
    logits[0, starts[2], names.index("I-LOC")] += 6  # and an I-LOC right after a PER word
    greedy = [names[int(logits[0, p].argmax())] for p in starts]
    assert greedy[0] == "I-PER" and greedy[2] == "I-LOC"

    def well_formed(path: tuple[str, ...]) -> bool:
        before = ["O", *path]
        return all(not t.startswith("I-") or before[i][2:] == t[2:] and before[i] != "O" for i, t in enumerate(path))

    log_probs = logits[0].log_softmax(-1)
    best = max((p for p in itertools.product(names, repeat=4) if well_formed(p)),
               key=lambda p: sum(float(log_probs[s, names.index(t)]) for s, t in zip(starts, p, strict=True)))
    assert model.decode(logits, batch) == [best]
    assert best[0] != "I-PER" and well_formed(best)


def test_dropped_and_truncated_words_still_get_a_tag(tiny: ModelSpec) -> None:
    rows = [Example(text="北 京", tokens=("北", " ", "京", "\u200b"), tags=("B-LOC", "I-LOC", "I-LOC", "O"))]
    model = build_model(tiny, label_space("ABS-6", rows + TAGS), rows, 32, "zh")
    assert isinstance(model, TransformerModel)
    assert model.tokenizer.tokenize(" ") == []  # the tokenizer drops it...
    batch = model.collate(rows)
    assert (batch["word_starts"][0] >= 0).all()  # ...we send it as [UNK], so it is tagged like the others
    assert (batch["labels"][0] != -100).sum() == 4
    assert len(predict(model, rows)[0]) == 4
    long = [Example(text="x", tokens=tuple("abcdefghijklmnopqrst"), tags=("B-PER",) + ("O",) * 19)]
    short = build_model(tiny, label_space("ABS-6", long), long, 8, "en")
    assert short.length(long[0]) == 8
    tags = predict(short, long)[0]
    assert len(tags) == 20 and tags[6:] == ("O",) * 14  # 6 words fit between [CLS] and [SEP]


@pytest.mark.parametrize(("task", "rows"), [("ABS-1", CLASSES), ("ABS-3", MULTI), ("ABS-5", SCORES),
                                             ("ABS-6", TAGS)])
def test_save_load_same_predictions(tiny: ModelSpec, tmp_path: Path, task: str, rows: list[Example]) -> None:
    model = build_model(tiny, label_space(task, rows), rows, 24, "en")
    with torch.no_grad():  # move the head away from its init so a reload of the wrong weights shows
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    model.save(tmp_path / "m")
    assert (tmp_path / "m" / "model.safetensors").is_file()
    assert not list((tmp_path / "m").glob("*.bin")) and not list((tmp_path / "m").glob("*.pt"))
    loaded = load_model(tmp_path / "m")
    assert isinstance(loaded, TransformerModel)
    assert loaded.labels == model.labels and loaded.max_length == 24
    batch = model.collate(rows)
    model.eval()
    loaded.eval()
    with torch.no_grad():
        assert torch.allclose(model(**batch).logits, loaded(**batch).logits, atol=1e-6)
    # the same weights in other memory may round differently in the last bit: labels equal, scores to 1e-6
    expected, got = predict(model, rows), predict(loaded, rows)
    assert got == (pytest.approx(expected, abs=1e-6) if model.labels.regression else expected)
    assert resolve_model(str(tmp_path / "m")).family == "transformer"


def test_dropout_hparam(tiny: ModelSpec) -> None:
    model = build_model(tiny, label_space("ABS-1", CLASSES), CLASSES, 16, "en", dropout=0.3)
    assert isinstance(model, TransformerModel)
    assert model.network.config.hidden_dropout_prob == 0.3
    with pytest.raises(ValueError, match="learning_rate"):
        build_model(tiny, label_space("ABS-1", CLASSES), CLASSES, 16, "en", learning_rate=1e-3)


def test_resolve_tiers_directories_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    minilm = resolve_model("minilm-l6")
    assert minilm.local and (Path(minilm.source) / "model.safetensors").is_file()
    assert minilm.size == "tiny" and minilm.language == "en"
    assert 22_000_000 < (minilm.approx_parameters() or 0) < 23_000_000  # MiniLM-L6-H384: 22.7M
    lstm = resolve_model("lstm")
    assert lstm.family == "lstm" and lstm.source == ""
    with pytest.raises(UserError, match="did you mean minilm-l6"):
        resolve_model("minilm-l7")
    with pytest.raises(UserError, match="needs a network") as error:
        resolve_model("ernie-3.0-base-zh")
    assert "local directory" in str(error.value)
    with pytest.raises(UserError, match="needs a network"):
        resolve_model("someone/some-model")
    with pytest.raises(UserError, match="does not exist"):
        resolve_model(str(tmp_path / "nope") + "/")
    with pytest.raises(UserError, match="not a model folder"):
        resolve_model(str(tmp_path))


def test_scratch_families_dispatch_lazily(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[object, ...]] = []

    class FakeScratch:
        @classmethod
        def load(cls, directory: Path) -> str:
            calls.append(("load", directory))
            return "loaded"

    def build_scratch(family: str, labels: LabelSpace, train: list[Example], language: str, max_length: int,
                      **hparams: object) -> str:
        calls.append((family, labels.task, len(train), language, max_length, hparams))
        return "built"

    fake = types.ModuleType("automl.models.scratch")
    fake.build_scratch = build_scratch  # type: ignore[attr-defined]
    fake.ScratchModel = FakeScratch  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "automl.models.scratch", fake)
    labels = label_space("ABS-1", CLASSES)
    assert build_model(resolve_model("cnn"), labels, CLASSES, 64, "zh", hidden=32) == "built"
    assert calls[-1] == ("cnn", "ABS-1", 3, "zh", 64, {"hidden": 32})
    (tmp_path / "automl_model.json").write_text('{"family": "bow"}')
    assert load_model(tmp_path) == "loaded"
    with pytest.raises(UserError, match="no automl_model.json"):
        load_model(tmp_path / "missing")


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
@pytest.mark.parametrize(("task", "rows"), [("ABS-1", CLASSES), ("ABS-2", PAIRS), ("ABS-5", SCORES)])
def test_top_layer_on_first_token_gives_the_same_logits_and_gradients(tiny: ModelSpec, task: str,
                                                                      rows: list[Example], attention: str) -> None:
    """The top layer run for [CLS] only (a training speed-up) changes nothing the head sees."""
    labels = label_space(task, rows)
    model = build_model(tiny, labels, rows, 32, "en")
    model.network.config._attn_implementation = attention
    model.eval()  # no dropout: the two paths draw their masks differently
    batch = model.collate(rows)
    if task == "ABS-1":
        assert batch["attention_mask"].min() == 0, "the rows should differ in length (padding)"

    def run(shortcut: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        model.zero_grad(set_to_none=True)
        if not shortcut:
            model._top_layer_on_first_token = contextlib.nullcontext  # type: ignore[method-assign]
        try:
            out = model(**batch)
        finally:
            model.__dict__.pop("_top_layer_on_first_token", None)
        assert out.loss is not None
        out.loss.backward()
        return out.logits.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    fast_logits, fast_grads = run(True)
    full_logits, full_grads = run(False)
    torch.testing.assert_close(fast_logits, full_logits, atol=1e-5, rtol=1e-4)
    assert len(fast_grads) == len(full_grads)
    for fast, full in zip(fast_grads, full_grads, strict=True):
        torch.testing.assert_close(fast, full, atol=1e-5, rtol=1e-3)


def test_top_layer_shortcut_steps_aside_for_hooks_and_tags(tiny: ModelSpec) -> None:
    from automl.models.transformer._first_token import first_token_layer

    model = build_model(tiny, label_space("ABS-1", CLASSES), CLASSES, 32, "en")
    layer = first_token_layer(model.network)
    assert layer is model.network.base_model.encoder.layer[-1]
    handle = layer.attention.self.query.register_forward_hook(lambda *_: None)  # distillation's TD1 capture
    assert first_token_layer(model.network) is None
    handle.remove()
    tagger = build_model(tiny, label_space("ABS-6", TAGS), TAGS, 32, "en")
    assert isinstance(tagger._top_layer_on_first_token(), contextlib.nullcontext)


def test_attention_input_is_cast_once_under_autocast(tiny: ModelSpec) -> None:
    """Under CPU bf16 autocast each self-attention gets its input cast once for query, key and value
    (autocast alone casts it three times): the same logits, gradients within bf16 rounding, fewer casts."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from automl.models.transformer._first_token import cast_input_once

    class CountCasts(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.casts = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            if func is torch.ops.aten._to_copy.default and args[0].dim() == 3:  # activations, not weights
                self.casts += 1
            return func(*args, **(kwargs or {}))

    model = build_model(tiny, label_space("ABS-1", CLASSES), CLASSES, 32, "en").eval()
    hooked = [m for m in model.network.modules() if cast_input_once in m._forward_pre_hooks.values()]
    layers = model.network.base_model.encoder.layer
    assert len(hooked) == len(layers)
    batch = model.collate(CLASSES)

    def run() -> tuple[torch.Tensor, list[torch.Tensor], int]:
        model.zero_grad(set_to_none=True)
        with CountCasts() as counter, torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(**batch)
        assert out.loss is not None
        out.loss.backward()
        return out.logits.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None], counter.casts

    once_logits, once_grads, once_casts = run()
    saved = [dict(m._forward_pre_hooks) for m in hooked]
    for module in hooked:
        module._forward_pre_hooks.clear()
    try:
        plain_logits, plain_grads, plain_casts = run()
    finally:
        for module, hooks in zip(hooked, saved, strict=True):
            module._forward_pre_hooks.update(hooks)
    assert once_logits.dtype == torch.bfloat16
    torch.testing.assert_close(once_logits, plain_logits, atol=0, rtol=0)
    for once, plain in zip(once_grads, plain_grads, strict=True):
        torch.testing.assert_close(once, plain, atol=2e-3, rtol=2e-2)
    assert once_casts < plain_casts
    TransformerModel(model.network, model.tokenizer, model.labels, 32)  # as a copied network brings its hooks
    assert all(list(m._forward_pre_hooks.values()).count(cast_input_once) == 1 for m in hooked)


def test_cpu_training_uses_byte_dropout_sparse_word_embeddings_and_saves_plain(tiny: ModelSpec,
                                                                               tmp_path: Path) -> None:
    """Training on a CPU: `automl_eager` attention and ByteDropout; the word-embedding table steps with
    LazyAdam's sparse rows. Saved and loaded, the model is a plain transformers model with SDPA."""
    from automl.models.byte_dropout import TRAIN_ATTENTION, ByteDropout
    from automl.models.lazy_adam import LazyAdam

    model = build_model(tiny, label_space("ABS-1", CLASSES), CLASSES, 16, "en")
    assert isinstance(model, TransformerModel)
    assert any(isinstance(m, ByteDropout) for m in model.network.modules())
    model.train()
    assert model.network.config._attn_implementation == TRAIN_ATTENTION
    optimizer = model.configure_optimizer(1e-2, 0.01)
    assert isinstance(optimizer, LazyAdam)
    table = model.network.get_input_embeddings()
    start = table.weight.detach().clone()
    batch = model.collate(CLASSES)
    out = model(**batch)
    assert out.loss is not None
    out.loss.backward()
    assert table.weight.grad is not None and table.weight.grad.is_sparse
    optimizer.step()
    used = torch.zeros(table.weight.shape[0], dtype=torch.bool)
    used[batch["input_ids"].unique()] = True
    used[model.tokenizer.pad_token_id] = False  # the padding row's gradient is zero: Adam leaves it
    moved = (table.weight.detach() != start).any(dim=1)
    assert moved[used].all() and not moved[~used].any()
    model.save(tmp_path / "m")
    model.eval()
    assert model.network.config._attn_implementation == "sdpa"
    loaded = load_model(tmp_path / "m")
    assert TRAIN_ATTENTION not in (tmp_path / "m" / "config.json").read_text()
    assert predict(loaded, CLASSES) == predict(model, CLASSES)
    loaded.eval()
    assert loaded.network.config._attn_implementation == "sdpa"
