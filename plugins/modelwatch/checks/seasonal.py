"""The history a seasonal threshold needs, read from ``mw_metric`` in one query per window.

Only checks whose threshold is ``seasonal`` for some column are read, and only the window starts
that fall in the window's band (weekday, or weekday and hour) in each of the previous ``lookback``
weeks — at most ``lookback`` intervals of the index on ``(model_name, window_start)``, whatever
the schedule. Rows of the current window and of later ones are never read, so a rerun or a
backfill gives the same levels.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.checks.columns import drift_columns, drift_methods
from modelwatch.config.schema import MonitorConfig, SeasonalThreshold
from modelwatch.drift.seasonal import HistoryPoint, SeasonalHistory, history_intervals
from modelwatch.warehouse.tables import mw_metric


def seasonal_specs(cfg: MonitorConfig) -> dict[tuple[str, str], SeasonalThreshold]:
    """``(check, feature) -> spec`` for every drift row whose threshold is seasonal."""
    specs = {}
    for column in drift_columns(cfg):
        for method in drift_methods(cfg, column.kind):
            check = f"{column.check_prefix}{method}"
            spec = cfg.thresholds.for_check(check, column.name)
            if isinstance(spec, SeasonalThreshold):
                specs[(check, column.name)] = spec
    return specs


def load_seasonal_history(conn: Connection, cfg: MonitorConfig, window_start: datetime,
                          window_end: datetime) -> SeasonalHistory | None:
    """One query for all seasonal checks of the window; ``None`` when no threshold is seasonal."""
    specs = seasonal_specs(cfg)
    if not specs:
        return None
    # The weekday band holds the weekday-hour one: read the widest band, the longest lookback;
    # each spec picks its own band and lookback from the points in band_values().
    period = "weekday" if any(s.period == "weekday" for s in specs.values()) else "weekday_hour"
    lookback = max(s.lookback for s in specs.values())
    intervals = history_intervals(window_start, period, lookback)
    m = mw_metric.c
    query = (
        sa.select(m.check_name, m.feature, m.slice, m.window_start, m.window_end, m.value)
        .where(m.model_name == cfg.model.name, m.layer.in_(("data", "model")),
               m.check_name.in_(sorted({check for check, _ in specs})),
               m.feature.in_(sorted({feature for _, feature in specs})),
               m.window_start < window_start,
               sa.or_(*[sa.and_(m.window_start >= lo, m.window_start < hi)
                        for lo, hi in intervals]))
        .order_by(m.window_start)
    )
    points: dict[tuple[str, str, str], list[HistoryPoint]] = {}
    for check, feature, slice_key, start, end, value in conn.execute(query):
        if (check, feature) in specs:
            points.setdefault((check, feature, slice_key), []).append(
                HistoryPoint(start, end, value))
    return SeasonalHistory(window_start, window_end, points)
