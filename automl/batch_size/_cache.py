"""The found batch sizes, kept in one JSON file so that a second sweep does not probe again.

The file is `$NLP_ADVISOR_CACHE/batch_size.json`, or `~/.cache/nlp-advisor/batch_size.json`; one entry per
key (model name, max length, device, budget, cap, precision), holding the whole `SearchResult` so the report can still show
the probe log.  Writes go through a temporary file and `os.replace`, so a reader never sees half a file; two
processes writing at once may drop one entry, which only costs a probe next time.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

from automl.batch_size._policy import SearchResult

CACHE_ENV = "NLP_ADVISOR_CACHE"
CACHE_FILE = "batch_size.json"
_VERSION = 1


def cache_path() -> Path:
    """Where the cache lives: $NLP_ADVISOR_CACHE (a directory) or ~/.cache/nlp-advisor."""
    directory = os.environ.get(CACHE_ENV)
    base = Path(directory).expanduser() if directory else Path.home() / ".cache" / "nlp-advisor"
    return base / CACHE_FILE


def cache_key(key: Sequence[Hashable] | str) -> str:
    """(model_name, max_length, device, budget, ...) -> "model_name|max_length|device|budget|..."."""
    return key if isinstance(key, str) else "|".join(str(part) for part in key)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or damaged: start afresh rather than fail a sweep over a cache
    if (
        not isinstance(data, dict)
        or data.get("version") != _VERSION
        or not isinstance(data.get("entries"), dict)
    ):
        return {}
    return data["entries"]


def _write(path: Path, entries: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"version": _VERSION, "entries": entries}, indent=1, sort_keys=True)
    handle, temporary = tempfile.mkstemp(prefix=".batch_size.", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_cached(key: Sequence[Hashable] | str, path: Path | None = None) -> SearchResult | None:
    entry = _read(path or cache_path()).get(cache_key(key))
    if not isinstance(entry, dict):
        return None
    try:
        result = SearchResult.from_dict(entry["result"])
    except (KeyError, TypeError, ValueError):
        return None
    result.cached = True
    return result


def cached_max_batch_size(
    key: Sequence[Hashable] | str,
    compute: Callable[[], SearchResult],
    *,
    path: Path | None = None,
    refresh: bool = False,
) -> SearchResult:
    """The cached result for `key`, or `compute()`'s, stored for next time.

    key: (model_name, max_length, device, budget, cap, precision); anything whose parts print stably.
    refresh: probe again even when cached (after a driver or torch upgrade, say).
    A result of 0 (nothing fitted), or of a search stopped early, is returned but not stored: it is more often a busy device than a fact.
    Nor is one probed in this process because its isolated child could not start: the next run tries the child again.
    """
    path = path or cache_path()
    if not refresh:
        cached = load_cached(key, path)
        if cached is not None:
            return cached
    result = compute()
    if result.best > 0 and not result.stopped and not result.fallback:  # cut short, or probed without its child
        entries = _read(path)  # re-read: another process may have added entries meanwhile
        stored = result.to_dict()
        stored["cached"] = False
        entries[cache_key(key)] = {"result": stored, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        _write(path, entries)
    return result
