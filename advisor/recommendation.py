"""The recommendation: one object rendered by the terminal, printed as JSON, shown by the dashboard."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ConditionTrace(BaseModel):
    """One leaf condition of a fired rule, with the value it was checked against."""

    field: str
    op: str
    value: Any = None
    actual: Any = None


class FiredRule(BaseModel):
    id: str
    kind: str  # decision | warning | advice
    section: str
    because: str  # the reason, with the user's own values filled in
    source: str  # the guide's sentence
    conditions: list[ConditionTrace] = Field(default_factory=list)  # empty: the rule always applies


class Task(BaseModel):
    id: str  # ABS id
    name: str
    name_zh: str = ""
    format: str = ""  # the guide's data format example
    default_metric: str = ""
    supported_by_automl: bool = False
    unsupported_hint: str = ""
    rule: str = ""  # the rule that chose it


class Decomposition(BaseModel):
    steps: list[Task] = Field(default_factory=list)
    rule: str = ""


class Measured(BaseModel):
    """A tier timed on this machine with random weights (`advisor recommend --measure`, automl/measure/)."""

    qps_batch_1: float  # in `precision`, the one automl would serve in
    qps_batch_32: float
    qps_batch_1_fp32: float | None = None
    qps_batch_32_fp32: float | None = None
    train_samples_per_s: float
    train_precision: str = "fp32"
    threads: int
    device: str
    max_length: int  # in the model's own units (tokens, characters or words)
    precision: str  # fp32 | bf16
    hours_per_epoch: float | None = None  # at the answers' labeled_rows
    core_hours_per_epoch: float | None = None
    cost_per_epoch: float | None = None
    currency: str = "USD"
    text_source: str = "synthetic"  # data | synthetic
    seconds: float | None = None  # what the measurement took
    meets_qps: bool | None = None  # qps_batch_32 >= the answers' qps on one machine like this one
    machines_for_qps: int | None = None  # machines like this one that serve the answers' qps at batch 32


class Tier(BaseModel):
    name: str
    family: str  # transformer | bow | cnn | gru | lstm
    size: str  # tiny | base | large | scratch
    language: str
    layers: int
    hidden: int
    params_millions: float
    source: str  # where the weights come from
    offline: bool  # trains here with no network: built from data, or weights on this machine (ModelTier.offline)
    role: str = ""  # teacher | student | ""
    rule: str = ""  # the rule that put it on the ladder
    measured: Measured | None = None  # only with --measure


class Distill(BaseModel):
    method: str = "none"  # none | model | data
    teacher: str = ""
    student: str = ""
    stages: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)


class Hardware(BaseModel):
    train_device: str
    serve_device: str
    gpus_per_machine: int
    machines: int
    cards: int
    data_files: int  # >= cards (TIME-5)
    gpu_model: str | None = None
    price_per_card_hour: float | None = None
    estimated_train_cost: float | None = None
    currency: str = "USD"
    rules: list[str] = Field(default_factory=list)


class Training(BaseModel):
    model: str
    batch_size: int
    batch_size_search: str  # how to optimise it (TIME-8)
    learning_rate: float
    epochs: int
    max_length: int
    steps_per_epoch: int
    train_log_step: int
    eval_step: int
    save_model_step: int
    mixed_precision: bool
    rules: list[str] = Field(default_factory=list)


class CurvePoint(BaseModel):
    fraction: float  # of the training rows
    rows: int
    score: float  # dev score of the model trained on them


class LearningCurve(BaseModel):
    """Dev score against training rows, fitted by score(n) = a - b * n^-c (automl/curve/)."""

    model: str
    metric: str
    points: list[CurvePoint]
    asymptote: float | None = None  # a: the score more rows of the same kind approach
    asymptote_std: float | None = None
    exponent: float | None = None  # c
    rows: int  # all the training rows
    score_at_rows: float | None = None  # the fit at `rows`
    score_at_double: float | None = None  # the fit at 2 x `rows`
    gain_at_double: float | None = None  # what doubling the labels buys
    gain_at_double_std: float | None = None  # its uncertainty (from the fit's covariance)
    summary: str = ""


class DataVerdict(BaseModel):
    verdict: str  # sufficient | insufficient | more_than_needed | unknown
    labeled_rows: int
    rows_per_label: float | None = None
    needed_rows: int | None = None  # 200 per label (DATA-6)
    pretrained_band: str
    scratch_band: str
    notes: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    curve: LearningCurve | None = None  # `automl curve`'s curve.json, when given (--curve)


class Guide(BaseModel):
    title: str
    url: str
    license: str


class Recommendation(BaseModel):
    task: Task
    decomposition: Decomposition
    model_tiers: list[Tier]
    distill: Distill
    hardware: Hardware
    training: Training
    data_verdict: DataVerdict
    warnings: list[str]
    advice: list[str]
    fired_rules: list[FiredRule]
    answers: dict[str, Any]
    guide: Guide
