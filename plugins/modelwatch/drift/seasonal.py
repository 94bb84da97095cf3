"""Seasonal levels: a window judged against the same weekday (or weekday-hour) band of its history.

Traffic with a weekly pattern differs from the reference in the same way every Saturday. The
reference-based thresholds see that as drift (or, calibrated on a reference spanning whole weeks,
widen every day's levels to cover it). A seasonal threshold instead reads back the same
statistic — same check, feature and slice — on the same band of earlier weeks and asks whether
this window is unusual *for a Saturday*: it warns above ``median + k_warn · 1.4826 · MAD`` of
those values (1.4826 · MAD estimates a standard deviation and ignores a bad week or two).

A handful of weeks gives a noisy MAD, possibly near zero, which would alert on sampling noise: the
spread is never taken below the statistic's own sampling noise, measured on the reference
windows (the calibrated null distribution), and the levels never below the effect-size floors.

Everything here is pure; the history is read once per window by ``checks.seasonal``. Only windows
that start before the current one enter the history, so a rerun or a backfill of a window gives
the same answer. The median adapts: a lasting shift becomes the band's normal once it fills
about half of the ``lookback`` weeks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from modelwatch.config.schema import SeasonalThreshold

MAD_TO_SD = 1.4826  # MAD of a normal distribution times this is its standard deviation
WEEK = timedelta(weeks=1)


@dataclass(frozen=True)
class Band:
    """The band of a window in its own week: ``[start, start + length)`` holds its start."""

    period: str
    start: datetime
    length: timedelta

    @property
    def label(self) -> str:
        if self.period == "weekday":
            return f"weekday {self.start:%A}"
        return f"weekday {self.start:%A}, hour {self.start:%H}"

    def in_week(self, weeks_back: int) -> tuple[datetime, datetime]:
        """The same band ``weeks_back`` weeks earlier, as a half-open interval of window starts."""
        start = self.start - weeks_back * WEEK
        return start, start + self.length


def band_of(window_start: datetime, period: str) -> Band:
    """The weekday (midnight to midnight) or weekday-hour band containing ``window_start``."""
    if period == "weekday":
        return Band(period, window_start.replace(hour=0, minute=0, second=0, microsecond=0),
                    timedelta(days=1))
    if period == "weekday_hour":
        return Band(period, window_start.replace(minute=0, second=0, microsecond=0),
                    timedelta(hours=1))
    raise ValueError(f"unknown seasonal period {period!r}; use 'weekday' or 'weekday_hour'")


def history_intervals(window_start: datetime, period: str, lookback: int
                      ) -> list[tuple[datetime, datetime]]:
    """Window-start intervals of the band in each of the ``lookback`` previous weeks."""
    band = band_of(window_start, period)
    return [band.in_week(j) for j in range(1, lookback + 1)]


@dataclass(frozen=True)
class HistoryPoint:
    window_start: datetime
    window_end: datetime
    value: float | None


def band_values(points: Iterable[HistoryPoint], window_start: datetime, window_end: datetime,
                spec: SeasonalThreshold) -> tuple[Band, list[float]]:
    """The band of the window and the finite values of earlier windows of the same band and length.

    Windows of another length (the schedule changed) are left out: statistics shrink with n, so
    a day's PSI is not comparable with an hour's.
    """
    band = band_of(window_start, spec.period)
    intervals = history_intervals(window_start, spec.period, spec.lookback)
    length = window_end - window_start
    values = [p.value for p in sorted(points, key=lambda p: p.window_start)
              if p.window_start < window_start and p.window_end - p.window_start == length
              and p.value is not None and math.isfinite(p.value)
              and any(lo <= p.window_start < hi for lo, hi in intervals)]
    return band, [float(v) for v in values]


@dataclass(frozen=True)
class SeasonalHistory:
    """Earlier values of the seasonal checks, keyed by ``(check, feature, slice)``.

    Loaded once per window by ``checks.seasonal.load_seasonal_history``; drift checks only read it.
    """

    window_start: datetime
    window_end: datetime
    points: dict[tuple[str, str, str], list[HistoryPoint]] = field(default_factory=dict)

    def values(self, spec: SeasonalThreshold, check: str, feature: str, slice_key: str
               ) -> tuple[Band, list[float]]:
        return band_values(self.points.get((check, feature, slice_key), ()), self.window_start,
                           self.window_end, spec)


def seasonal_levels(spec: SeasonalThreshold, values: list[float], noise_spread: float = 0.0
                    ) -> tuple[float, float, dict]:
    """(warn, alert, details) from the band's history ``values``.

    ``noise_spread`` is the statistic's sampling noise (a standard deviation) on windows like
    this one; the robust spread of the history is never taken below it.
    """
    if not values:
        raise ValueError("seasonal levels need at least one historical value")
    arr = np.asarray(values, dtype=float)
    median = float(np.median(arr))
    mad = float(np.median(np.abs(arr - median)))
    robust_sd = MAD_TO_SD * mad
    spread = max(robust_sd, noise_spread)
    warn = max(median + spec.k_warn * spread, spec.min_warn)
    alert = max(median + spec.k_alert * spread, spec.min_alert, warn)
    details = {"threshold_type": "seasonal", "history_windows": len(values),
               "history_median": median, "history_mad": mad, "spread": spread,
               "spread_source": "history MAD" if robust_sd >= noise_spread
               else "reference sampling noise", "k_warn": spec.k_warn, "k_alert": spec.k_alert,
               "lookback_weeks": spec.lookback}
    return warn, alert, details


def robust_sd(values: Iterable[float]) -> float:
    """1.4826 · MAD of ``values`` (0 for fewer than two values)."""
    arr = np.asarray(list(values), dtype=float)
    if arr.size < 2:
        return 0.0
    return float(MAD_TO_SD * np.median(np.abs(arr - np.median(arr))))
