"""The Streamlit dashboard over the advisor and automl: one module a concept.

Pages (`advisor_page`, `data_page`, `sweeps_page`, `models_page`) only lay out what the engine computes:
answers are checked by `advisor.questions.check_one` / `advisor.answers.parse_answers`, the plan is
`advisor.plans.recommend`, data findings are `advisor.inspection.inspect_files`, sweeps are `automl run`
processes, trials come from the Optuna storage and models from their `report.json`. The helpers that
need no Streamlit (`uploads`, `answer_files`, `studies`, `sweep_process`, `reports`) are tested alone.
"""
