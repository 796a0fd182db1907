"""Encoder-decoders for ABS-7 generation (`src<TAB>tgt`): a small transformer trained from scratch on the
data's characters (`seq2seq`), with greedy and beam decoding.

- `_units`: the character table.  `_net`: the network.  `_decoding`: greedy and beam search.
- `_model`: `Seq2SeqModel`, the `TaskModel` the training loop, predict and serve use; `build_seq2seq`.
- `_hub`: `HubSeq2SeqModel`, a transformers encoder-decoder (a hub id with a network, or a local folder).
"""

from automl.models.seq2seq._decoding import beam_search, greedy_search
from automl.models.seq2seq._hub import HubSeq2SeqModel, is_encoder_decoder
from automl.models.seq2seq._model import FAMILY, Seq2SeqModel, build_seq2seq
from automl.models.seq2seq._net import NetShape

SCRATCH_NAME = "seq2seq"  # the model name `--models` and the generation ladder use

__all__ = ["FAMILY", "SCRATCH_NAME", "HubSeq2SeqModel", "NetShape", "Seq2SeqModel", "beam_search", "build_seq2seq",
           "greedy_search", "is_encoder_decoder"]
