"""Read a data file in one of the guide's formats (section 2.1) and say which task abstraction it is.

`read_dataset(path, task=None)` returns a `Dataset` whose `task` is an ABS id and whose `notes` say how
every ambiguous choice was made. One reader per format, each behind the `Reader` protocol
(`sniff` + `read`), tried in the order of `READERS`:

- `json_files`: SQuAD JSON (`squad`, ABS-9), a JSON list of records, or JSON lines.
- `lines`: `<s> ... <e>` sentences (ABS-8).
- `conll`: one `token tag` a line, blank lines between sentences (ABS-6).
- `tables`: CSV and TSV, with or without a header. TSV without a header: `text<TAB>label` (ABS-1);
  `text_a<TAB>text_b<TAB>label` (ABS-2, or ABS-5 when the labels are 0/1 or decimal scores);
  `text<TAB>0 1 0` or `text<TAB>sports,finance` or `text<TAB>["a","b"]` (ABS-3);
  `海 钓 比 赛<TAB>O O B-LOC I-LOC` (ABS-6, one sentence a line); `src<TAB>tgt` (ABS-7).
Named columns (a header or JSON keys) are read by `roles` (text, label, text_a, text_b, labels, tokens,
tags, src, tgt, context, question, answers and common aliases); numeric columns that are not labels are
features (ABS-4). `records` turns them into the task's examples through `makers`.

Any bad input raises `UserError` naming the file and the line. Pure Python: no numpy, no pandas.
"""

from advisor.formats._base import ReadContext, Reader
from advisor.formats.detect import READERS, read_dataset, read_text
from advisor.formats.tasks import TASK_NAMES, normalize_task

__all__ = ["READERS", "TASK_NAMES", "ReadContext", "Reader", "normalize_task", "read_dataset", "read_text"]
