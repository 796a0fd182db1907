"""The ABS-10 entity-relation format (presets/tasks.toml's example) is never read as ABS-3 multi-label."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.errors import UserError
from advisor.formats import read_dataset
from presets.catalog import task

DATA = Path(__file__).resolve().parents[2] / "data" / "formats"


def test_shipped_relation_sample_is_refused_with_the_split(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="ABS-10") as caught:
        read_dataset(DATA / "relations.jsonl")
    assert "ABS-6" in str(caught.value.fix) and "ABS-1" in str(caught.value.fix)


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".txt"])
def test_the_catalog_example_is_not_abs3_whatever_the_extension(tmp_path: Path, suffix: str) -> None:
    record = json.loads(task("ABS-10").format)
    path = tmp_path / f"rel{suffix}"
    path.write_text(json.dumps([record] if suffix == ".json" else record, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    with pytest.raises(UserError, match="ABS-10"):
        read_dataset(path)
