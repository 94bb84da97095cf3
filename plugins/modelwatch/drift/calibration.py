"""Calibrated thresholds: each statistic's null distribution, learnt from the reference.

The reference is cut into windows of the monitoring window's size (stored in the profile). Each
reference window is compared with the *rest* of the reference (leave-one-out, by subtracting its
counts) with the same method and bins a live window gets. The values spread exactly as much as a
normal window's do — sampling noise, weekly seasonality, normal day-to-day wobble — for this
feature and this statistic. A gamma distribution fitted to them by moments (drift statistics are
non-negative and right-skewed) gives the level a normal window exceeds with the configured
false-alarm rate.

Statistics shrink with n: a comparison with fewer rows (a small window, or a slice whose
reference is small) is noisier, so its levels are raised by the ratio of sampling variances,
``(1/n_window + 1/n_reference) / (1/n_null_window + 1/n_null_rest)``, to the power 1 for PSI/KL
(whose noise goes as 1/n) and 0.5 for the distances (1/sqrt(n)). Levels are never lowered for
bigger windows, and never below the effect-size floor (``min_warn``/``min_alert``): a huge
window does not alert on a negligible shift.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from modelwatch.config.schema import CalibratedThreshold

NOISE_POWER = {"psi": 1.0, "kl": 1.0}
MIN_WINDOWS = 4


@dataclass(frozen=True)
class NullDistribution:
    values: tuple[float, ...]
    window_rows: float
    reference_rows: float = math.inf

    @property
    def usable(self) -> bool:
        return len(self.values) >= MIN_WINDOWS

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - values are small frozen tuples
    def _gamma(self) -> tuple[float, float] | None:
        arr = np.asarray(self.values, dtype=float)
        mean, var = float(arr.mean()), float(arr.var(ddof=1))
        if mean <= 0 or var <= 0:
            return None
        return mean * mean / var, var / mean

    @functools.lru_cache(maxsize=4096)  # noqa: B019
    def quantile(self, upper_tail: float) -> float:
        """Level exceeded with probability ``upper_tail`` under a moment-matched gamma."""
        from scipy import stats

        fit = self._gamma()
        if fit is None:
            return float(max(self.values))
        return float(stats.gamma.isf(upper_tail, fit[0], scale=fit[1]))

    def p_value(self, value: float) -> float:
        """Chance that a normal window reaches ``value`` (the gamma's upper tail)."""
        from scipy import stats

        fit = self._gamma()
        if fit is None:
            return 0.0 if value > max(self.values) else 1.0
        return float(stats.gamma.sf(value, fit[0], scale=fit[1]))


def null_distribution(method: str, windows: list[tuple[np.ndarray, float]],
                      statistic: Callable[[np.ndarray, np.ndarray], float]) -> NullDistribution:
    """Leave-one-out values of ``statistic(reference_rest, window)`` over reference windows."""
    if not windows:
        return NullDistribution((), 0.0)
    total = np.sum([counts for counts, _ in windows], axis=0)
    values = []
    for counts, _ in windows:
        rest = total - counts
        if counts.sum() > 0 and rest.sum() > 0:
            value = statistic(rest, counts)
            if math.isfinite(value):
                values.append(value)
    rows = float(np.mean([counts.sum() for counts, _ in windows]))
    return NullDistribution(tuple(values), rows, float(total.sum()) - rows)


def small_window_factor(method: str, null: NullDistribution, window_rows: float,
                        reference_rows: float = math.inf) -> float:
    """How much noisier this comparison is than the null's: sampling variance goes as
    ``1/n_window + 1/n_reference``; PSI/KL scale with it, distances with its square root."""
    if window_rows <= 0 or null.window_rows <= 0:
        return 1.0
    power = NOISE_POWER.get(method, 0.5)
    now = 1.0 / window_rows + (1.0 / reference_rows if reference_rows > 0 else 0.0)
    then = 1.0 / null.window_rows + 1.0 / max(null.reference_rows, 1.0)
    return float(max(1.0, (now / then) ** power))


def calibrated_levels(spec: CalibratedThreshold, method: str, null: NullDistribution,
                      window_rows: float, value: float | None = None,
                      reference_rows: float = math.inf) -> tuple[float, float, dict]:
    """(warn, alert, details) for a window of ``window_rows`` rows.

    ``details`` carries ``null_p_value``, the chance of ``value`` in a normal window, which the
    false-discovery control across features × slices uses.
    """
    factor = small_window_factor(method, null, window_rows, reference_rows)
    warn = max(null.quantile(spec.warn_false_alarm_rate) * factor, spec.min_warn)
    alert = max(null.quantile(spec.alert_false_alarm_rate) * factor, spec.min_alert, warn)
    details = {"threshold_type": "calibrated", "null_windows": len(null.values),
               "null_median": float(np.median(null.values)), "small_window_factor": factor}
    if value is not None and math.isfinite(value):
        details["null_p_value"] = null.p_value(value / factor)
    return warn, alert, details
