"""``offline_freshness_hours``: how stale the offline feature store is at the window's end.

The newest ``data_layer.offline_freshness.timestamp_column`` value strictly before the window end,
in SQL; the value is ``window_end − newest`` in hours, so a backfilled window gets the answer it
would have had on time (never the wall clock). Judged against the ``offline_freshness_hours``
threshold — the SLA, default warn 24 h / alert 48 h, set under ``thresholds``. A stale store means
the model trains, and skew is measured, against yesterday's features.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.config.schema import MonitorConfig
from modelwatch.data_layer.rows import judged, skipped
from modelwatch.metrics import MetricRow
from modelwatch.warehouse.source import (
    offline_computed_before,
    offline_ref,
    offline_time,
    offline_time_name,
    read_time,
)

CHECK = "offline_freshness_hours"


def offline_freshness(conn: Connection, cfg: MonitorConfig, end: datetime,
                      offline_columns: dict[str, str] | None) -> MetricRow:
    table, column = cfg.tables.offline_features, offline_time_name(cfg)
    if offline_columns is None:
        return skipped(CHECK, None, "missing_offline_table",
                       f"table {table} does not exist: its freshness cannot be measured")
    if column not in offline_columns:
        return skipped(CHECK, None, "missing_offline_column",
                       f"{column} is not a column of {table}: set "
                       "data_layer.offline_freshness.timestamp_column to its computed-at column")
    t = offline_ref(cfg, column)
    newest = read_time(cfg, conn.execute(sa.select(sa.func.max(offline_time(cfg, t)))
                                         .where(offline_computed_before(cfg, t, end))).scalar())
    if newest is None:
        return skipped(CHECK, None, "missing_offline_table",
                       f"{table} has no row computed before the window end {end:%Y-%m-%d %H:%M}")
    # whole seconds: warehouses round sub-microsecond timestamps differently, an SLA never needs them
    hours = round((end - newest).total_seconds()) / 3600
    row = judged(cfg, CHECK, None, hours, {"newest": newest.isoformat(), "window_end": end.isoformat()})
    row.details["message"] = (f"{table}: newest row computed {hours:.1f} h before the window end "
                              f"({newest:%Y-%m-%d %H:%M} UTC)")
    return row
