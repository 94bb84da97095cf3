"""Business KPIs joined by window, each judged against its own history (proxy-metric alerts).

The KPI table (``tables.kpis``) holds ``ts, kpi, value[, segment]`` (column names in
``outcome.kpi_*``); it has no model column, so every KPI in it is attached to this model. Each
KPI's window mean is a ``kpi`` row per segment. A KPI listed in ``outcome.kpis`` is judged on the
noise of its own past: the same KPI and slice in the windows of the previous
``history_windows`` windows (``seasonal: weekday``: the same weekday and time of day in the
previous ``history_windows`` weeks), read from ``mw_metric`` (``outcome.kpi_history``).

Band: centre ± k · spread with centre/spread the median and 1.4826 · MAD (``method: mad``,
robust: a bad week or two in the history does not widen the band) or the mean and standard
deviation (``method: sd``), the spread never below ``min_spread``. The adverse move (a drop for
``higher_is_better``, a rise for ``lower_is_better``, either for ``two_sided``) warns beyond
``k_warn · spread`` and alerts beyond ``k_alert · spread``; ``threshold`` is the KPI value at
which it alerts. With fewer than ``min_history`` windows of history the row is ``ok`` with
``judged: false`` and the reason. Everything here is pure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from modelwatch.config.outcome import KpiSettings
from modelwatch.drift.seasonal import MAD_TO_SD, WEEK, HistoryPoint
from modelwatch.metrics import MetricRow
from modelwatch.outcome.kpi_history import KPI_CHECK as CHECK
from modelwatch.outcome.kpi_history import KpiHistory
from modelwatch.outcome.thresholds import LAYER, skipped
from modelwatch.warehouse.window_stats import ALL

__all__ = ["CHECK", "judge_kpi", "kpi_rows", "noise_band"]


@dataclass(frozen=True)
class NoiseBand:
    """Centre and spread of a KPI's history (the spread after the ``min_spread`` floor; the
    history's own is ``raw_spread``), and the adverse moves that warn and alert."""

    center: float
    raw_spread: float
    spread: float
    warn_move: float
    alert_move: float


def history_window(points: Sequence[HistoryPoint], start: datetime, end: datetime, step: timedelta,
                   spec: KpiSettings) -> list[HistoryPoint]:
    """The points a window is judged on: earlier windows of the same length with a finite value,
    in the ``history_windows`` windows (or, ``seasonal: weekday``, weeks) before ``start``; with
    ``seasonal: weekday`` only those on the same weekday and time of day."""
    span = spec.history_windows * (WEEK if spec.seasonal == "weekday" else step)
    chosen = []
    for p in sorted(points, key=lambda p: p.window_start):
        if not (start - span <= p.window_start < start) or p.window_end - p.window_start != end - start:
            continue
        if p.value is None or not math.isfinite(p.value):
            continue
        if spec.seasonal == "weekday" and ((start - p.window_start) % WEEK) != timedelta(0):
            continue
        chosen.append(p)
    return chosen


def noise_band(values: Sequence[float], spec: KpiSettings) -> NoiseBand:
    """The band of ``values`` (at least two) under ``spec.method``, ``k_*`` and ``min_spread``."""
    arr = np.asarray(values, dtype=float)
    if arr.size < 2:
        raise ValueError("a noise band needs at least two historical values")
    if spec.method == "mad":
        center = float(np.median(arr))
        spread = MAD_TO_SD * float(np.median(np.abs(arr - center)))
    else:
        center = float(arr.mean())
        spread = float(arr.std(ddof=1))
    used = max(spread, spec.min_spread)
    return NoiseBand(center, spread, used, spec.k_warn * used, spec.k_alert * used)


def adverse_move(value: float, center: float, direction: str) -> float:
    """How far ``value`` moved from ``center`` in the adverse direction (negative: a good move)."""
    if direction == "higher_is_better":
        return center - value
    if direction == "lower_is_better":
        return value - center
    return abs(value - center)


def _boundary(center: float, move: float, value: float, direction: str) -> float:
    """The KPI value an adverse move of ``move`` reaches (for ``two_sided``: on the value's side)."""
    below = direction == "higher_is_better" or (direction == "two_sided" and value < center)
    return center - move if below else center + move


def judge_kpi(value: float, history: Sequence[HistoryPoint], spec: KpiSettings
              ) -> tuple[str, float | None, dict]:
    """(status, threshold, details) of one KPI value against the history already chosen for it."""
    out: dict = {"judged": False, "direction": spec.direction, "method": spec.method,
                 "seasonal": spec.seasonal, "history_windows": len(history),
                 "min_history": spec.min_history}
    if len(history) < spec.min_history:
        out["reason"] = (f"not judged: {len(history)} window(s) of history, "
                         f"outcome.kpis needs min_history={spec.min_history}")
        return "ok", None, out
    band = noise_band([float(p.value or 0.0) for p in history], spec)  # finite: history_window
    move = adverse_move(value, band.center, spec.direction)
    status = ("alert" if move > 0 and move >= band.alert_move else
              "warn" if move > 0 and move >= band.warn_move else "ok")
    out.update({
        "judged": True, "history_center": band.center, "history_spread": band.raw_spread,
        "spread_of_history": "1.4826·MAD" if spec.method == "mad" else "standard deviation",
        "spread": band.spread,
        "spread_source": "history" if band.raw_spread >= spec.min_spread else "min_spread",
        "k_warn": spec.k_warn, "k_alert": spec.k_alert, "min_spread": spec.min_spread,
        "adverse_move": move,
        "move_in_spreads": move / band.spread if band.spread > 0 else None,
        "warn_threshold": _boundary(band.center, band.warn_move, value, spec.direction),
        "alert_threshold": _boundary(band.center, band.alert_move, value, spec.direction),
        "history_first": history[0].window_start.isoformat(),
        "history_last": history[-1].window_start.isoformat(),
        "history": [[p.window_start.isoformat(), p.value] for p in history],
    })
    return status, out["alert_threshold"], out


def slice_of(segment: object, segment_column: str | None) -> str:
    return ALL if segment in (None, "", ALL) else f"{segment_column}={segment}"


def kpi_rows(observations: list[dict], segment_column: str | None, base: dict,
             settings: dict[str, KpiSettings] | None = None, history: KpiHistory | None = None,
             start: datetime | None = None, end: datetime | None = None,
             step: timedelta | None = None) -> list[MetricRow]:
    """One ``kpi`` row per KPI and segment of the window, judged where ``settings`` name the KPI.

    ``history`` holds the stored points of every KPI series (any window; the ones this window is
    judged on are chosen here); without it every configured KPI is not judged.
    """
    settings = settings or {}
    rows = []
    for obs in sorted(observations, key=lambda o: (str(o["kpi"]), str(o["segment"]))):
        if obs["mean"] is None:
            continue
        name, key, value = str(obs["kpi"]), slice_of(obs["segment"], segment_column), float(obs["mean"])
        details = {**base, "observations": obs["observations"], "min": obs["min"],
                   "max": obs["max"], "aggregate": "mean"}
        spec = settings.get(name)
        status, threshold = "ok", None
        if spec is None:
            details.update({"judged": False, "reason": f"not judged: add outcome.kpis.{name} "
                            f"with its direction to alert on it"})
        else:
            points = (history.series(LAYER, CHECK, name, key)
                      if history is not None and start and end and step else [])
            chosen = history_window(points, start, end, step, spec) if points else []
            status, threshold, judged = judge_kpi(value, chosen, spec)
            details.update(judged)
        rows.append(MetricRow(LAYER, CHECK, name, value, threshold, status, details, key))
    return rows or [skipped(CHECK, "no KPI values in the window", **base)]
