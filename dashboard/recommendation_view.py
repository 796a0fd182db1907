"""The recommendation on a page: drawn from the same `Recommendation` object the terminal renders
(`advisor.render.render_recommendation`, shown verbatim in an expander) and `--json` prints."""

from __future__ import annotations

import io

import streamlit as st
from rich.console import Console

from advisor.recommendation import Recommendation
from advisor.render import render_recommendation as render_terminal

VERDICT_BOX = {"sufficient": st.success, "more_than_needed": st.info, "insufficient": st.warning,
               "unknown": st.info}


def terminal_text(rec: Recommendation, width: int = 130) -> str:
    """What `advisor recommend` prints for this recommendation, as plain text."""
    console = Console(file=io.StringIO(), record=True, width=width, color_system=None)
    render_terminal(rec, console, verbose=True)
    return console.export_text()


def _rules(names: list[str]) -> str:
    return f" — *{', '.join(names)}*" if names else ""


def render_task(rec: Recommendation) -> None:
    t = rec.task
    st.subheader(f"{t.id} {t.name} ({t.name_zh})")
    st.caption(f"task abstraction chosen by {t.rule}" if t.rule else "task abstraction")
    metric = rec.answers.get("metric") or (f"{t.default_metric} (the task's default: no metric given)"
                                           if t.default_metric else "none given, and the task has no default")
    st.markdown(f"**Metric:** {metric} · **automl runs it:** {'yes' if t.supported_by_automl else 'no'}")
    st.markdown("**Data format** (the guide's example):")
    st.code(t.format, language=None)
    if not t.supported_by_automl:
        st.warning(f"automl: {t.unsupported_hint}")
    if rec.decomposition.steps:
        steps = " → ".join(f"{s.id} {s.name}" for s in rec.decomposition.steps)
        st.info(f"Decompose ({rec.decomposition.rule}): {steps}")


def render_ladder(rec: Recommendation) -> None:
    st.markdown("#### Models to try, in order")
    rows = [{"#": i, "model": tier.name, "family": tier.family, "size": tier.size,
             "params (M)": tier.params_millions, "layers": tier.layers, "hidden": tier.hidden, "role": tier.role,
             "weights": "built from data" if tier.family != "transformer" else
             "on this machine" if tier.offline else "hub download",
             "rule": tier.rule} for i, tier in enumerate(rec.model_tiers, 1)]
    st.dataframe(rows, hide_index=True, width="stretch")


def render_plans(rec: Recommendation) -> None:
    d, h, tr, dv = rec.distill, rec.hardware, rec.training, rec.data_verdict
    left, right = st.columns(2)
    with left:
        st.markdown("#### Distillation")
        if d.method == "none":
            st.markdown(f"none{_rules(d.rules)}")
        else:
            st.markdown(f"**{d.method}**: {d.teacher} → {d.student}{_rules(d.rules)}")
            for stage in d.stages:
                st.markdown(f"- {stage}")
        st.markdown("#### Hardware")
        cards = f" ({h.cards} cards: {h.gpus_per_machine}/machine × {h.machines})" if h.cards else ""
        lines = [f"- train on **{h.train_device}**{cards}", f"- serve on **{h.serve_device}**",
                 f"- {h.data_files} data file(s) (≥ cards)"]
        if h.gpu_model:
            lines.append(f"- {h.gpu_model} at {h.price_per_card_hour} {h.currency}/card-hour")
        if h.estimated_train_cost:
            lines.append(f"- ≈ {h.estimated_train_cost} {h.currency} for the budget")
        st.markdown("\n".join(lines) + _rules(h.rules))
    with right:
        st.markdown("#### Training")
        st.markdown("\n".join([
            f"- model **{tr.model}**", f"- batch size {tr.batch_size} (then {tr.batch_size_search})",
            f"- learning rate {tr.learning_rate:g}, {tr.epochs} epochs, max_length {tr.max_length}",
            f"- {tr.steps_per_epoch} steps/epoch; log / eval / save every "
            f"{tr.train_log_step} / {tr.eval_step} / {tr.save_model_step} steps",
            f"- mixed precision: {'yes' if tr.mixed_precision else 'no'}"]) + _rules(tr.rules))
        st.markdown("#### Data")
        per_label = (f", {dv.rows_per_label:.0f} per label (need {dv.needed_rows:,})"
                     if dv.rows_per_label is not None and dv.needed_rows else "")
        VERDICT_BOX.get(dv.verdict, st.info)(f"**{dv.verdict}**: {dv.labeled_rows:,} labeled rows{per_label}. "
                                             + " ".join(dv.notes) + _rules(dv.rules))


def render_rules(rec: Recommendation) -> None:
    with st.expander(f"Rules that fired ({len(rec.fired_rules)}), with the guide's sentences", expanded=True):
        for rule in rec.fired_rules:
            held = ", ".join(f"`{c.field} = {c.actual}`" for c in rule.conditions) or "always"
            st.markdown(f"**{rule.id}** ({rule.kind}, §{rule.section}): {rule.because}  \n"
                        f"when: {held}  \n> {rule.source}")


def render_recommendation(rec: Recommendation) -> None:
    from dashboard.measured_view import render_measured  # --measure and --curve: fill rec before it is drawn

    render_measured(rec)
    render_task(rec)
    render_ladder(rec)
    render_plans(rec)
    for warning in rec.warnings:
        st.warning(warning, icon=":material/warning:")
    for advice in rec.advice:
        st.info(advice, icon=":material/lightbulb:")
    render_rules(rec)
    with st.expander("As the terminal shows it (`advisor recommend`)"):
        st.code(terminal_text(rec), language=None)
    st.caption(f"Source: [{rec.guide.title}]({rec.guide.url}) ({rec.guide.license})")
