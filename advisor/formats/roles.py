"""What a named column or JSON key holds: its role (text, label, tags, ...), from the name and its aliases."""

from __future__ import annotations

from collections.abc import Sequence

from advisor.formats._base import ReadContext

# Column / key names -> role. Roles: text, text_b, label, labels, tokens, tags, target, context, question,
# answers, answer, answer_start, features, id (ignored).
ALIASES: dict[str, str] = {
    **dict.fromkeys(["text", "text_a", "sentence", "sentence1", "sentence_a", "query", "q1", "question1",
                     "content", "review", "comment", "document", "doc", "src", "source", "input", "premise",
                     "文本", "句子", "内容", "评论"], "text"),
    **dict.fromkeys(["text_b", "sentence2", "sentence_b", "title", "q2", "question2", "hypothesis",
                     "文本2", "句子2", "标题"], "text_b"),
    **dict.fromkeys(["label", "class", "category", "sentiment", "score", "similarity", "intent", "rating",
                     "stars", "click", "clicked", "标签", "类别"], "label"),
    "labels": "labels",
    **dict.fromkeys(["tokens", "words", "chars"], "tokens"),
    **dict.fromkeys(["tags", "ner_tags", "bio", "tag_seq"], "tags"),
    **dict.fromkeys(["tgt", "target", "summary", "output", "translation", "response"], "target"),
    **dict.fromkeys(["context", "passage", "paragraph"], "context"),
    "question": "question",
    "answers": "answers",
    "answer": "answer",
    "answer_start": "answer_start",
    "features": "features",
    **dict.fromkeys(["id", "idx", "guid", "qid", "uid", "_id"], "id"),
}
_LIST_SEPARATORS = (",", "|", ";", "，", "、")


def norm(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def roles(keys: Sequence[str], ctx: ReadContext) -> dict[str, str]:
    """Roles from column names or JSON keys; the first name of a role wins, a second one is ignored."""
    found: dict[str, str] = {}
    for key in keys:
        role = ALIASES.get(norm(key))
        if role == "id":
            continue
        if role is None:
            found[f"feature:{key}"] = key  # a feature if all its values are numbers, else ignored
        elif role in found:
            ctx.notes.append(f"column {key!r} ignored: {role} is read from {found[role]!r}")
        else:
            found[role] = key
    if "text" not in found and "context" not in found and "tokens" not in found:
        for promote in ("question", "text_b"):
            if promote in found:
                found["text"] = found.pop(promote)
                ctx.notes.append(f"{found['text']!r} read as the text")
                break
    return found


def list_separator(values: list[str]) -> str | None:
    """A separator that splits label cells into a small set of short, repeated labels, if one does."""
    best = None
    for sep in _LIST_SEPARATORS:
        holding = sum(sep in v for v in values)
        if not holding:
            continue
        items = [x.strip() for v in values for x in v.split(sep) if x.strip()]
        distinct = set(items)
        if (len(distinct) <= max(10, len(values) // 2) and len(items) > len(distinct)
                and all(len(x) <= 30 and len(x.split()) <= 4 for x in distinct)):
            if best is None or holding > best[0]:
                best = (holding, sep)
    return best[1] if best else None
