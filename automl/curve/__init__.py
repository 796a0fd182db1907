"""Learning curves: dev score against training rows, a saturating power-law fit, and what doubling the
labels would buy (`automl curve`; the advisor's data verdict shows it with --curve)."""

from automl.curve.fit import PowerLawFit, fit_power_law
from automl.curve.run import CURVE_JSON, FRACTIONS, learning_curve, summarize, write_curve

__all__ = ["CURVE_JSON", "FRACTIONS", "PowerLawFit", "fit_power_law", "learning_curve", "summarize", "write_curve"]
