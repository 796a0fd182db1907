"""compile_charsmap: a code-point map that `tokenizers`' own Precompiled normalizer applies exactly."""

from __future__ import annotations

import pytest

from automl.pretrained.charsmap import compile_charsmap


def normalize(mapping: dict[str, str], text: str) -> str:
    from tokenizers import normalizers

    return normalizers.Precompiled(compile_charsmap(mapping)).normalize_str(text)


def test_replacements_deletions_and_multibyte_keys() -> None:
    mapping = {"Ａ": "A", "！": "!", "\t": " ", "\x07": "", "ﬁ": "fi", "😀": "😀", "½": "1⁄2"}
    assert normalize(mapping, "Ａ！\tb\x07ﬁ½ 中😀") == "A! bfi1⁄2 中😀"
    assert normalize(mapping, "untouched text 中文") == "untouched text 中文"


def test_keys_sharing_utf8_prefixes_do_not_leak_into_each_other() -> None:
    # U+FF01..U+FF5E share their first two UTF-8 bytes: each must land on its own replacement
    mapping = {chr(0xFF01 + i): chr(0x21 + i) for i in range(94)}
    text = "".join(mapping)
    assert normalize(mapping, text) == "".join(mapping.values())
    assert normalize(mapping, "\uff00\uff5f") == "\uff00\uff5f"  # neighbours outside the map stay


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        compile_charsmap({"": "x"})
