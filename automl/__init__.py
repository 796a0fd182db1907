"""Real fine-tune trials: Optuna sweeps, batch-size search, QPS measurement, distillation."""
