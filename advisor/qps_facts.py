"""What the measured speeds say about the QPS target: which tiers meet it on one machine like this one,
which need distillation, and which need a GPU or a cluster of how many such machines.

Pure arithmetic over `Tier.measured` (filled by `advisor recommend --measure`); no torch here. A tier
meets the target when its batch-32 QPS in its serving precision does (PaddleNLP's recipe measures batch 1
and 32; a server that batches requests reaches the batch-32 figure, one that does not, batch 1's).
"""

from __future__ import annotations

import math

from advisor.recommendation import Recommendation, Tier


def _qps(value: float) -> str:
    return f"{value:,.0f}"


def mark_tiers(tiers: list[Tier], target: float) -> None:
    """Fill each measured tier's `meets_qps` and `machines_for_qps` for the answers' target."""
    for tier in tiers:
        m = tier.measured
        if m is None:
            continue
        m.meets_qps = m.qps_batch_32 >= target
        m.machines_for_qps = max(1, math.ceil(target / m.qps_batch_32)) if m.qps_batch_32 > 0 else None


def qps_statement(tiers: list[Tier], target: float) -> str:
    """One paragraph of measured facts about `target`, in ladder order ("" when nothing was measured)."""
    measured = [t for t in tiers if t.measured is not None]
    if not measured:
        return ""
    mark_tiers(measured, target)
    first = measured[0].measured
    assert first is not None
    where = f"{first.device}, {first.threads} thread(s), serving in {first.precision}"
    meets = [t for t in measured if t.measured and t.measured.meets_qps]
    misses = [t for t in measured if t.measured and not t.measured.meets_qps]
    parts = [f"Measured here ({where}) against QPS {target:g}:"]
    if meets:
        listed = ", ".join(f"{t.name} {_qps(t.measured.qps_batch_32)} at batch 32 "
                           f"({_qps(t.measured.qps_batch_1)} at batch 1)" for t in meets if t.measured)
        parts.append(f"meet it on one machine: {listed}; serve {meets[0].name}, the first tier of the ladder "
                     f"that meets it here.")
    fastest = max(meets, key=lambda t: t.measured.qps_batch_32 if t.measured else 0.0, default=None)
    for t in misses:
        m = t.measured
        assert m is not None
        need = f"a cluster of {m.machines_for_qps} machines like this one" + (
            "" if m.device.startswith("cuda") else ", or a GPU (not measured here)")
        if t.family == "transformer" and fastest is not None:
            how = "DIST-1" if fastest.family == "transformer" else "DIST-4"  # model / data distillation
            fix = f"needs distillation into {fastest.name} ({how}) or {need}"
        elif t.family == "transformer":
            fix = f"needs distillation into a from-scratch student (DIST-4), {need}"
        else:
            fix = f"needs {need}"
        parts.append(f"{t.name} serves {_qps(m.qps_batch_32)} at batch 32 ({_qps(m.qps_batch_1)} at batch 1): {fix}.")
    if not meets:
        parts.append("No tier of the ladder meets it on one machine like this one.")
    return " ".join(parts)


def state_measured_facts(rec: Recommendation, target: float) -> None:
    """Append the measured facts to the QPS rule that fired (and to the advice), so the rule's trace says
    what this machine does instead of thresholds alone."""
    text = qps_statement(rec.model_tiers, target)
    if not text:
        return
    student = next((t for t in rec.model_tiers if t.name == rec.distill.student), None)
    fast = [t for t in rec.model_tiers if t.family != "transformer" and t.measured and t.measured.meets_qps]
    if rec.distill.method == "model" and student and student.measured and not student.measured.meets_qps and fast:
        text += (f" The plan's model distillation ends at {student.name}, which misses it here: data distillation "
                 f"into {fast[0].name} (DIST-4) meets it.")
    for fired in rec.fired_rules:
        if fired.id.startswith("QPS-"):
            fired.because = f"{fired.because} {text}"
    rec.advice.insert(0, f"QPS (measured): {text}")
    train_on_first_that_meets(rec)


def train_on_first_that_meets(rec: Recommendation) -> None:
    """The training plan starts from the first tier that meets the target here, when the planned one does
    not and both are of one kind (from-scratch or pretrained: the plan's batch and rate stay right)."""
    planned = next((t for t in rec.model_tiers if t.name == rec.training.model), None)
    meets = [t for t in rec.model_tiers if t.measured is not None and t.measured.meets_qps]
    if planned is None or planned.measured is None or planned.measured.meets_qps or not meets:
        return
    same_kind = [t for t in meets if (t.family == "transformer") == (planned.family == "transformer")]
    if same_kind:
        rec.training.model = same_kind[0].name
        rec.training.rules.append("QPS (measured)")
