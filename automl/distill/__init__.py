"""`automl distill`: model distillation (DIST-2) and data distillation (DIST-4) on the trial machinery of
`automl run`, with the teacher-vs-student accuracy and QPS frontier.

| module | what |
|---|---|
| `losses` | soft-label CE with temperature, the TD2 sum, MiniLMv2 relation KL (TD1) |
| `teacher` | freezing, cached teacher outputs keyed by example content, teacher labels |
| `wrapper` | `DistillStudent`: a `TaskModel` whose loss is the distillation loss, for `run_trial` |
| `student` | cutting a transformer to fewer layers (DIST-3) and narrowing their feed-forward blocks, building students |
| `augment` | UNK / same-POS (same-tag for tagging data) / n-sampling augmentation |
| `model_distill`, `data_distill` | the two methods, `ModelDistillation` and `DataDistillation`: one `Distillation` interface (trial plans for student and baseline, their ranges) |
| `search` | the sweeps on automl's one Optuna adapter (automl/objective.py), the search ranges, `Distillation` |
| `report`, `run` | report.json / report.md / frontier.html; the command's driver |
"""

from automl.distill.augment import UNK_MARK, AugmentConfig, augment
from automl.distill.losses import kd_loss, relation_kl, soft_cross_entropy
from automl.distill.student import cut_layers, spread_layers
from automl.distill.teacher import example_key, freeze, teacher_outputs
from automl.distill.wrapper import DistillStudent

__all__ = [
    "UNK_MARK",
    "AugmentConfig",
    "DistillStudent",
    "augment",
    "cut_layers",
    "example_key",
    "freeze",
    "kd_loss",
    "relation_kl",
    "soft_cross_entropy",
    "spread_layers",
    "teacher_outputs",
]
