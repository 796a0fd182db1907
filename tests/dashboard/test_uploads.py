"""Uploaded files: sanitized names inside the app's folder, stored once, bad ones refused with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.errors import UserError
from dashboard.uploads import MAX_BYTES, safe_filename, save_upload


@pytest.mark.parametrize(("name", "safe"), [
    ("train.tsv", "train.tsv"), ("../../etc/passwd", "passwd"), ("..\\..\\win.ini", "win.ini"),
    ("评论 train.TSV", "train.tsv"), ("评论.tsv", "upload.tsv"), (".bashrc", "bashrc"), ("a b;rm -rf.json", "a_b_rm_-rf.json"),
    ("", "upload"), ("x" * 300 + ".csv", "x" * 76 + ".csv"),
])
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_save_upload_stays_in_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    first = save_upload("../../escape.tsv", b"a\t1\n", folder)
    assert first.parent == folder and first.name.endswith("-escape.tsv") and first.read_bytes() == b"a\t1\n"
    assert save_upload("escape.tsv", b"a\t1\n", folder) == first  # the same content is stored once
    assert save_upload("escape.tsv", b"b\t0\n", folder) != first  # another file of the same name is kept apart
    assert not (tmp_path / "escape.tsv").exists()


def test_bad_uploads_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UserError, match="empty"):
        save_upload("a.tsv", b"", tmp_path)
    monkeypatch.setattr("dashboard.uploads.MAX_BYTES", 10)
    with pytest.raises(UserError, match="over the"):
        save_upload("a.tsv", b"x" * 11, tmp_path)
    assert MAX_BYTES == 200 * 2**20
