"""A saturating power law through dev scores at growing training sizes: score(n) = a - b * (n / N)^-c.

Learning curves of this shape (a: the score more data of the same kind approaches; c: how fast the gap
closes) are fitted by least squares (scipy's curve_fit); n is scaled by the largest size N so the three
parameters are of similar size. The uncertainty of a prediction comes from the fit's covariance by the
delta method (the gradient of score(n) in the parameters), which is honest about 5 points and 3 parameters:
few degrees of freedom give wide intervals, and the summary says so.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

MIN_POINTS = 3  # three parameters


@dataclass(frozen=True)
class PowerLawFit:
    a: float
    b: float
    c: float
    scale: float  # N: sizes are n / N inside the law
    covariance: np.ndarray  # of (a, b, c); inf where the data cannot pin a parameter down

    def predict(self, rows: float) -> float:
        return float(self.a - self.b * (rows / self.scale) ** (-self.c))

    def std(self, rows: float) -> float:
        """Standard error of `predict(rows)` (delta method)."""
        return _std(self._gradient(rows), self.covariance)

    def gain_std(self, rows: float, more_rows: float) -> float:
        """Standard error of predict(more_rows) - predict(rows): the asymptote cancels out of the difference."""
        return _std(self._gradient(more_rows) - self._gradient(rows), self.covariance)

    @property
    def asymptote_std(self) -> float:
        return math.sqrt(max(float(self.covariance[0, 0]), 0.0))

    def _gradient(self, rows: float) -> np.ndarray:
        x = rows / self.scale
        power = x ** (-self.c)
        return np.array([1.0, -power, self.b * power * math.log(x)])


def _std(gradient: np.ndarray, covariance: np.ndarray) -> float:
    if not np.all(np.isfinite(covariance)):
        return math.inf
    return math.sqrt(max(float(gradient @ covariance @ gradient), 0.0))


def fit_power_law(rows: list[int] | list[float], scores: list[float], bounded: bool = True) -> PowerLawFit:
    """Least-squares fit of a - b * (n/N)^-c. `bounded`: scores are fractions (accuracy, F1), so a <= 1."""
    from scipy.optimize import curve_fit

    if len(rows) != len(scores) or len(rows) < MIN_POINTS:
        raise ValueError(f"a power-law fit needs at least {MIN_POINTS} (rows, score) points, but got "
                         f"{len(rows)} rows and {len(scores)} scores.")
    if min(rows) <= 0:
        raise ValueError(f"training sizes must be positive, but got {min(rows)=}.")
    n = np.asarray(rows, dtype=float)
    y = np.asarray(scores, dtype=float)
    scale = float(n.max())

    def law(x: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
        return a - b * x ** (-c)

    top = float(y.max())
    gap = max(top - float(y.min()), 1e-3)
    start = (min(top + gap / 2, 1.0) if bounded else top + gap / 2, gap, 0.5)
    upper_a = 1.0 if bounded else np.inf
    with warnings.catch_warnings():  # an unidentifiable parameter gives an inf covariance, reported as such
        warnings.simplefilter("ignore")
        params, covariance = curve_fit(law, n / scale, y, p0=start, bounds=([-np.inf, 0.0, 1e-3], [upper_a, np.inf, 5.0]),
                                       maxfev=20_000)
    a, b, c = (float(v) for v in params)
    return PowerLawFit(a=a, b=b, c=c, scale=scale, covariance=np.asarray(covariance, dtype=float))
