"""From-scratch networks (BOW, CNN, GRU, LSTM) for the guide's classification, matching and tagging
tasks, each with its own vocabulary built from the training examples only.

    model = build_scratch("lstm", labels, train, language="zh", max_length=128)   # defaults per task
    model.save(folder); ScratchModel.load(folder)                                # safetensors + JSON

- Units: characters for Chinese (`language` zh, or >= 30% CJK in the data), regex words otherwise,
  jieba words with `word_level=True`; [PAD] = 0, [UNK] = 1.
- ABS-1/4 one text, ABS-2/5 pairs ([u, v, |u-v|, u*v]; ABS-5 scores by regression), ABS-3 multi-label
  (BCE, sigmoid > 0.5), ABS-6 taggers (char + bigram embeddings, CRF with BIO/BIOES constraints).
- `configure_optimizer(lr, weight_decay)` switches embeddings to sparse gradients with `LazyAdam`;
  clip only dense gradients then (`clip_grad_norm_` rejects sparse ones).
"""

from automl.models.lazy_adam import LazyAdam
from automl.models.scratch._build import build_scratch
from automl.models.scratch._crf import CRF
from automl.models.scratch._hparams import FAMILIES, HPARAM_NAMES, TASKS, default_hparams
from automl.models.scratch._model import ScratchModel
from automl.models.scratch._vocab import Tokenizer, Vocab, cjk_ratio
from automl.models.tag_scheme import allowed_transitions, repair_bio, viterbi

__all__ = [
    "CRF",
    "FAMILIES",
    "HPARAM_NAMES",
    "TASKS",
    "LazyAdam",
    "ScratchModel",
    "Tokenizer",
    "Vocab",
    "allowed_transitions",
    "build_scratch",
    "cjk_ratio",
    "default_hparams",
    "repair_bio",
    "viterbi",
]
