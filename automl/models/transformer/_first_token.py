"""Two speed-ups of BERT-shaped encoders that keep their outputs: the top layer run for the first token
only (sequence tasks), and the self-attention input cast to bf16 once under CPU autocast."""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F

from automl.models.byte_dropout import TRAIN_ATTENTION

# Sequence classifiers whose head reads only the top layer's first token (BERT's pooler, RoBERTa's and
# ELECTRA's classification heads: features[:, 0]).
_FIRST_TOKEN_HEADS = frozenset({"bert", "roberta", "xlm-roberta", "camembert", "ernie", "electra"})


def top_layer_on_first_token(network: Any) -> contextlib.AbstractContextManager[Any]:
    """Run the top encoder layer for the first token only, while the context lasts (see `first_token_forward`).

    The head of a BERT-shaped sequence classifier reads the top layer's output at the first token
    ([CLS]) and nothing else, so the top layer's query, attention output and feed-forward at every other
    position are wasted: 10 of its 12 H^2 matmul units per token, 1/7 of MiniLM-L6's encoder matmuls,
    forward and backward. Same logits (the test checks to 1e-5). A no-op for models whose head or layer
    is shaped otherwise, and while hooks watch the top layer (distillation's TD1 captures its query, key
    and value at every token). Token tasks must not use it: they read every position.
    """
    layer = first_token_layer(network)
    if layer is None:
        return contextlib.nullcontext()
    return _patched_forward(layer, first_token_forward)


def first_token_layer(network: Any) -> Any:
    """The top encoder layer when it may run for the first token only, else None."""
    config = network.config
    if config.model_type not in _FIRST_TOKEN_HEADS or config.is_decoder or config.add_cross_attention:
        return None
    if getattr(config, "_attn_implementation", "eager") not in ("eager", "sdpa", TRAIN_ATTENTION):
        return None
    layers = getattr(getattr(getattr(network, "base_model", None), "encoder", None), "layer", None)
    if not layers:
        return None
    layer = layers[-1]
    attention = getattr(getattr(layer, "attention", None), "self", None)
    needed = ("query", "key", "value", "num_attention_heads", "attention_head_size", "scaling", "dropout")
    if attention is None or any(not hasattr(attention, name) for name in needed):
        return None
    if not hasattr(layer.attention, "output") or not hasattr(layer, "feed_forward_chunk"):
        return None
    if any(m._forward_hooks or any(h is not cast_input_once for h in m._forward_pre_hooks.values())
           for m in layer.modules()):
        return None
    return layer


def cast_attention_input_once(network: Any) -> None:
    """Hook every self-attention whose query, key and value are Linear layers with `cast_input_once`
    (once: a network copied from a model that has the hooks brings them along)."""
    for module in network.modules():
        if all(isinstance(getattr(module, name, None), torch.nn.Linear) for name in ("query", "key", "value")) \
                and cast_input_once not in module._forward_pre_hooks.values():
            module.register_forward_pre_hook(cast_input_once, with_kwargs=True)


def cast_input_once(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
                    ) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    """Under CPU autocast, the self-attention's input cast to bf16 once, for its query, key and value.

    Autocast caches the casts of weights only, so the fp32 layer input (a LayerNorm's output) was cast
    three times forward and its three gradients cast back and summed in fp32 backward. Same forward values
    (the same rounding, once); the three bf16 input gradients are summed in bf16. The residual branch
    still gets the fp32 input (BertAttention passes it to the output block itself).
    """
    if args and isinstance(args[0], torch.Tensor) and args[0].dtype == torch.float32 \
            and args[0].device.type == "cpu" and torch.is_autocast_enabled("cpu"):
        return (args[0].to(torch.get_autocast_dtype("cpu")), *args[1:]), kwargs
    return None


def first_token_forward(layer: Any, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None,
                        *args: Any, **kwargs: Any) -> torch.Tensor:
    """A BERT layer's forward whose output is the first position only, shape (batch, 1, hidden).

    Keys and values still come from every token; the query, the attention output, the residual, the layer
    norms and the feed-forward run for position 0 alone.
    """
    attention = layer.attention.self
    batch, length, _ = hidden_states.shape
    heads, size = attention.num_attention_heads, attention.attention_head_size
    first = hidden_states[:, :1]
    cast = cast_input_once(attention, (hidden_states,), {})
    projected = hidden_states if cast is None else cast[0][0]
    query = attention.query(projected[:, :1]).view(batch, 1, heads, size).transpose(1, 2)
    key = attention.key(projected).view(batch, length, heads, size).transpose(1, 2)
    value = attention.value(projected).view(batch, length, heads, size).transpose(1, 2)
    mask = attention_mask
    if mask is not None:
        if mask.dim() == 4 and mask.shape[-2] > 1:
            mask = mask[:, :, :1, :]  # the first query's row
        if mask.dtype != torch.bool:
            mask = mask.to(query.dtype)  # an additive mask (eager) in the query's dtype under autocast
    dropout = attention.dropout.p if attention.training else 0.0
    context = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout,
                                             scale=attention.scaling)
    context = context.transpose(1, 2).reshape(batch, 1, heads * size)
    return layer.feed_forward_chunk(layer.attention.output(context, first))


@contextlib.contextmanager
def _patched_forward(module: Any, forward: Any) -> Iterator[None]:
    """`module.forward` replaced by `forward(module, ...)` for the duration (an instance attribute, so the
    class and every other instance are untouched; a deepcopy taken meanwhile would carry it, hence brief)."""
    module.forward = types.MethodType(forward, module)
    try:
        yield
    finally:
        module.__dict__.pop("forward", None)  # another thread may have restored it first: same output either way
