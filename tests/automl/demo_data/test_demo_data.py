"""automl.demo_data on the real package data: dedup, split ratios, BIO validity, determinism."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from advisor.dataset import MULTI_TASK, SEQUENCE_LABELING, SINGLE_TEXT_CLASSIFICATION
from advisor.errors import UserError
from automl.demo_data import (
    DEMO_SETS,
    SPLITS,
    DemoSet,
    pd_char_bio,
    split_pd_sentences,
    split_sizes,
    to_bio,
    write_demo_data,
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DemoSet]:
    return write_demo_data(tmp_path_factory.mktemp("demo"), seed=13)


def read_tsv(path: Path) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").split("\n")[:-1]:
        assert line.count("\t") == 1, f"{path.name}: {line[:80]!r}"
        text, label = line.split("\t")
        assert text and text == text.strip()
        rows.append((text, label))
    return rows


def read_conll(path: Path) -> list[list[tuple[str, str]]]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") and not text.endswith("\n\n")
    sentences = []
    for block in text[:-1].split("\n\n"):
        pairs = [tuple(line.split(" ")) for line in block.split("\n")]
        assert all(len(p) == 2 and p[0] and p[1] for p in pairs), block[:200]
        sentences.append([(tok, tag) for tok, tag in pairs])
    return sentences


def assert_valid_bio(tags: list[str]) -> None:
    prev = "O"
    for t in tags:
        assert t == "O" or t[:2] in ("B-", "I-"), t
        if t.startswith("I-"):
            assert prev != "O" and prev[2:] == t[2:], f"I- after {prev}: {tags}"
        prev = t


def test_all_sets_written(demo: dict[str, DemoSet]) -> None:
    assert list(demo) == DEMO_SETS
    assert {n: d.task for n, d in demo.items()} == {
        "reviews": SINGLE_TEXT_CLASSIFICATION,
        "peoples_daily_ner": SEQUENCE_LABELING,
        "inews": SINGLE_TEXT_CLASSIFICATION,
        "twitter_ner": SEQUENCE_LABELING,
        "pd_relations": MULTI_TASK,
        "peoples_daily_qa": "ABS-9",
    }
    for d in demo.values():
        assert set(d.files) == set(SPLITS) and all(p.is_file() for p in d.files.values())
        assert d.readme is not None and d.readme.is_file()
        readme = d.readme.read_text(encoding="utf-8")
        assert "seed 13" in readme and "Licence" in readme and f"{d.counts['train']:,}" in readme


def test_split_sizes_are_80_10_10() -> None:
    assert split_sizes(100) == (80, 10, 10)
    assert split_sizes(17_361) == (13_889, 1_736, 1_736)
    assert sum(split_sizes(7)) == 7


def test_reviews_deduplicated_and_stratified(demo: dict[str, DemoSet]) -> None:
    d = demo["reviews"]
    splits = {s: read_tsv(p) for s, p in d.files.items()}
    assert {s: len(r) for s, r in splits.items()} == d.counts
    every = [row for rows in splits.values() for row in rows]
    texts = [t for t, _ in every]
    assert len(texts) == len(set(texts)), "a text appears twice (within or across splits)"
    assert {lab for _, lab in every} == {"0", "1"}
    # field notes: 8,379 + 9,078 unique, 47 in both (8,377 pos once whitespace runs are one space)
    per_label = Counter(lab for _, lab in every)
    assert per_label == {"1": 8_377 - 47, "0": 9_078 - 47}
    for s, rows in splits.items():
        frac = len(rows) / len(every)
        assert abs(frac - {"train": 0.8, "dev": 0.1, "test": 0.1}[s]) < 0.002
        pos = sum(lab == "1" for _, lab in rows) / len(rows)
        assert abs(pos - per_label["1"] / len(every)) < 0.005, "not stratified"


def test_inews_uses_package_split_without_leaks(demo: dict[str, DemoSet]) -> None:
    d = demo["inews"]
    splits = {s: read_tsv(p) for s, p in d.files.items()}
    texts = [t for rows in splits.values() for t, _ in rows]
    assert len(texts) == len(set(texts))
    assert {lab for rows in splits.values() for _, lab in rows} == {"0", "1", "2"}
    # the package ships 5,355 / 999 / 999; cleaning removes a few dozen at most
    assert (
        5_200 < d.counts["train"] <= 5_355 and 950 < d.counts["dev"] <= 999 and 950 < d.counts["test"] <= 999
    )
    assert max(len(t) for t in texts) > 30_000, "long news must not be truncated"


def test_peoples_daily_tags(demo: dict[str, DemoSet]) -> None:
    d = demo["peoples_daily_ner"]
    sentences = {s: read_conll(p) for s, p in d.files.items()}
    assert {s: len(x) for s, x in sentences.items()} == d.counts
    every = [sent for x in sentences.values() for sent in x]
    assert 43_000 < len(every) < 44_600  # field notes: 44.5k sentences before dedup
    texts = ["".join(ch for ch, _ in sent) for sent in every]
    assert len(texts) == len(set(texts))
    by_text = dict(zip(texts, every, strict=True))
    for sent in every:
        assert all(len(ch) == 1 and not ch.isspace() for ch, _ in sent)  # one char, one tag
        assert_valid_bio([t for _, t in sent])
    # line 2 of 199801.txt: 中共中央/nt 总书记/n 、/w 国家/n 主席/n 江/nr 泽民/nr
    sent = dict(by_text["中共中央总书记、国家主席江泽民"])
    tags = [t for _, t in by_text["中共中央总书记、国家主席江泽民"]]
    assert tags[:4] == ["B-ORG", "I-ORG", "I-ORG", "I-ORG"]
    assert tags[-3:] == ["B-PER", "I-PER", "I-PER"]
    assert sent["江"] == "B-PER" and sent["泽"] == "I-PER" and sent["民"] == "I-PER"
    # line 7: １９９７年/t ，/w 是/v 中国/ns 发展/vn ...
    loc = by_text["１９９７年，是中国发展历史上非常重要的很不平凡的一年。"]
    assert [t for ch, t in loc if ch in "中国"] == ["B-LOC", "I-LOC"]
    assert sum(t != "O" for _, t in loc) == 2
    types = Counter(t[2:] for sent in every for _, t in sent if t.startswith("B-"))
    assert set(types) == {"PER", "LOC", "ORG"} and types["LOC"] > types["PER"] > types["ORG"] > 3_000


def test_peoples_daily_qa_answers_sit_at_their_offsets(demo: dict[str, DemoSet]) -> None:
    import json

    contexts: dict[str, set[str]] = {}
    for s, path in demo["peoples_daily_qa"].files.items():
        paragraphs = json.loads(path.read_text(encoding="utf-8"))["data"][0]["paragraphs"]
        assert len(paragraphs) == demo["peoples_daily_qa"].counts[s]
        for p in paragraphs:
            (qa,) = p["qas"]
            answer = qa["answers"][0]
            assert p["context"][answer["answer_start"]:answer["answer_start"] + len(answer["text"])] == answer["text"]
            assert qa["question"].startswith("与") and qa["question"].endswith("一起被提到的人物是谁？")
        contexts[s] = {p["context"] for p in paragraphs}
    assert [len(contexts[s]) for s in SPLITS] == [1200, 150, 150]
    assert not (contexts["train"] & contexts["test"]) and not (contexts["train"] & contexts["dev"])


def test_pd_helpers() -> None:
    words = [("江", "nr"), ("泽民", "nr"), ("在", "p"), ("北京", "ns"), ("。", "w"), ("”", "w"), ("好", "a")]
    first, second = split_pd_sentences(words)
    assert first[-2:] == [("。", "w"), ("”", "w")] and second == [("好", "a")]
    text, tags = pd_char_bio(first)
    assert text == "江泽民在北京。”"
    assert tags == ("B-PER", "I-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "O")
    # two ns words in a row are two places; a nr after a non-nr word starts a new person
    assert pd_char_bio([("北京", "ns"), ("上海", "ns")])[1] == ("B-LOC", "I-LOC", "B-LOC", "I-LOC")
    assert pd_char_bio([("李", "nr"), ("和", "c"), ("王", "nr")])[1] == ("B-PER", "O", "B-PER")


def test_twitter_ner(demo: dict[str, DemoSet]) -> None:
    d = demo["twitter_ner"]
    sentences = [sent for p in d.files.values() for sent in read_conll(p)]
    assert len(sentences) == sum(d.counts.values()) and 2_200 < len(sentences) <= 2_394
    keys = [" ".join(tok for tok, _ in sent) for sent in sentences]
    assert len(keys) == len(set(keys))
    for sent in sentences:
        assert_valid_bio([t for _, t in sent])
    types = {t[2:] for sent in sentences for _, t in sent if t != "O"}
    assert len(types) == 10 and {"person", "geo-loc", "company"} <= types
    assert d.counts["train"] / len(sentences) == pytest.approx(0.8, abs=0.003)


def test_to_bio_converts_io_and_bioes() -> None:
    assert to_bio(["B-a", "I-a", "O"]) == ("B-a", "I-a", "O")
    assert to_bio(["I-a", "I-a", "O", "I-b"]) == ("B-a", "I-a", "O", "B-b")
    assert to_bio(["S-a", "B-b", "E-b", "O"]) == ("B-a", "B-b", "I-b", "O")
    assert to_bio(["B-a", "I-b"]) == ("B-a", "B-b")


def test_rerun_is_byte_identical(demo: dict[str, DemoSet], tmp_path: Path) -> None:
    again = write_demo_data(tmp_path, seed=13)
    for name, d in demo.items():
        for s in SPLITS:
            assert again[name].files[s].read_bytes() == d.files[s].read_bytes(), (name, s)
        assert again[name].readme and d.readme
        assert again[name].readme.read_bytes() == d.readme.read_bytes()
    # rewriting in place changes nothing
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    write_demo_data(tmp_path, seed=13, only=["reviews", "twitter_ner"])
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == before


def test_other_seed_other_split(demo: dict[str, DemoSet], tmp_path: Path) -> None:
    other = write_demo_data(tmp_path, seed=14, only=["reviews"])
    assert list(other) == ["reviews"]
    assert other["reviews"].counts == demo["reviews"].counts
    assert other["reviews"].files["test"].read_bytes() != demo["reviews"].files["test"].read_bytes()
    same_texts = {t for s in SPLITS for t, _ in read_tsv(other["reviews"].files[s])}
    assert same_texts == {t for s in SPLITS for t, _ in read_tsv(demo["reviews"].files[s])}


def test_unknown_set_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="Unknown demo set") as err:
        write_demo_data(tmp_path, only=["reviewz"])
    assert "reviews" in err.value.fix


def test_the_advisors_reader_reads_each_file_as_its_task(demo: dict[str, DemoSet]) -> None:
    from advisor.formats import read_dataset
    from advisor.formats.relations import read_relations

    for d in demo.values():
        for s, path in d.files.items():
            if d.task == MULTI_TASK:  # ABS-10: two tasks, read by its own reader (read_dataset refuses it)
                assert len(read_relations(path).records) == d.counts[s]
                continue
            ds = read_dataset(path)
            assert ds.task == d.task, (d.name, s, ds.task)
            assert len(ds) == d.counts[s], (d.name, s)
