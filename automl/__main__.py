"""`python -m automl ...`: the `automl` command, as torchrun starts it (`torchrun ... -m automl run ...`)."""

from automl.cli import app

app()
