"""A small encoder-decoder transformer trained from scratch (torch.nn's Transformer layers).

Pre-norm layers (they train without a long warmup at small sizes), learned positions, and the output
layer tied to the shared source/target embedding: a copied character is the same vector on both sides.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from automl.models.seq2seq._units import PAD_ID


@dataclass(frozen=True)
class NetShape:
    """Widths of the net. 256 wide, 2 + 2 layers: ~3.3M weights besides the embedding, a few ms a step on
    a CPU core at batch 32 x 40 characters, enough for sentence-length tasks of a few thousand pairs."""

    d_model: int = 256
    heads: int = 4
    encoder_layers: int = 2
    decoder_layers: int = 2
    feed_forward: int = 1024
    dropout: float = 0.1
    max_positions: int = 512

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Seq2SeqNet(nn.Module):
    def __init__(self, vocab_size: int, shape: NetShape) -> None:
        super().__init__()
        self.shape = shape
        d = shape.d_model
        self.embed = nn.Embedding(vocab_size, d, padding_idx=PAD_ID)
        self.src_positions = nn.Embedding(shape.max_positions, d)
        self.tgt_positions = nn.Embedding(shape.max_positions, d)
        self.scale = d ** 0.5
        enc_layer = nn.TransformerEncoderLayer(d, shape.heads, shape.feed_forward, shape.dropout, batch_first=True,
                                               norm_first=True)
        dec_layer = nn.TransformerDecoderLayer(d, shape.heads, shape.feed_forward, shape.dropout, batch_first=True,
                                               norm_first=True)
        self.encoder = nn.TransformerEncoder(enc_layer, shape.encoder_layers, norm=nn.LayerNorm(d),
                                             enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(dec_layer, shape.decoder_layers, norm=nn.LayerNorm(d))
        self.dropout = nn.Dropout(shape.dropout)
        # the tied output layer reads these rows as class vectors: a small start (d^-0.5, the Transformer
        # paper's scale) keeps the first logits near 0 instead of ~sqrt(d) times too large
        for table in (self.embed, self.src_positions, self.tgt_positions):
            nn.init.normal_(table.weight, std=d ** -0.5)

    def _embed(self, ids: torch.Tensor, positions: nn.Embedding) -> torch.Tensor:
        where = torch.arange(ids.size(1), device=ids.device).clamp(max=self.shape.max_positions - 1)
        return self.dropout(self.embed(ids) * self.scale + positions(where)[None])

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's states and the source padding mask (True at padding)."""
        pad = src.eq(PAD_ID)
        return self.encoder(self._embed(src, self.src_positions), src_key_padding_mask=pad), pad

    def decode(self, memory: torch.Tensor, src_pad: torch.Tensor, prefix: torch.Tensor) -> torch.Tensor:
        """Next-token logits at every position of `prefix` (causal: each sees only what precedes it)."""
        length = prefix.size(1)
        causal = torch.triu(torch.ones(length, length, dtype=torch.bool, device=prefix.device), diagonal=1)
        hidden = self.decoder(self._embed(prefix, self.tgt_positions), memory, tgt_mask=causal,
                              tgt_key_padding_mask=prefix.eq(PAD_ID), memory_key_padding_mask=src_pad)
        return hidden @ self.embed.weight.t()

    # the decoding `Stepper` (automl/models/seq2seq/_decoding.py)
    def repeat(self, state: tuple[torch.Tensor, torch.Tensor], times: int) -> tuple[torch.Tensor, torch.Tensor]:
        memory, pad = state
        return memory.repeat_interleave(times, dim=0), pad.repeat_interleave(times, dim=0)

    def next_log_probs(self, state: tuple[torch.Tensor, torch.Tensor], prefixes: torch.Tensor) -> torch.Tensor:
        memory, pad = state
        return self.decode(memory, pad, prefixes)[:, -1].float().log_softmax(-1)
