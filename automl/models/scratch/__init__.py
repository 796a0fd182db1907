"""From-scratch networks (BOW, CNN, GRU, LSTM) for the guide's classification, matching and
tagging tasks, each with its own vocabulary built from the training data."""

from automl.models.scratch._build import build_scratch
from automl.models.scratch._crf import CRF, allowed_transitions, repair_bio, viterbi
from automl.models.scratch._hparams import FAMILIES, HPARAM_NAMES, TASKS, default_hparams
from automl.models.scratch._model import ScratchModel
from automl.models.scratch._optim import LazyAdam
from automl.models.scratch._vocab import Tokenizer, Vocab, cjk_ratio

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
