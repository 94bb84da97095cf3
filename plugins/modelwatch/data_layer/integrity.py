"""Input integrity: NaN/inf values, duplicate request ids, timestamps in the future.

These are the bad inputs that make every other statistic lie; each gets its own named check so
the alert says what is wrong instead of a drift statistic going strange.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.config.schema import MonitorConfig
from modelwatch.data_layer.rows import judged, pct, share, skipped
from modelwatch.data_layer.scan import FeatureCounts, ScanResult
from modelwatch.metrics import MetricRow
from modelwatch.warehouse.source import dated_after, event_time, predictions_columns, read_time


def non_finite(cfg: MonitorConfig, name: str, counts: FeatureCounts) -> MetricRow:
    """Share of a numeric feature's non-null values that are NaN, +inf or -inf."""
    check = "non_finite_share"
    if counts.non_null == 0:
        return skipped(check, name, "all_null", f"{name}: every value is null in the window")
    value = share(counts.non_finite, counts.non_null)
    row = judged(cfg, check, name, value, {"non_finite": counts.non_finite, "values": counts.non_null})
    row.details["message"] = (f"{name}: {counts.non_finite} NaN/inf values ({pct(value)} of non-null); "
                              "they are left out of ranges, defaulting and skew means")
    return row


def duplicate_ids(cfg: MonitorConfig, scan: ScanResult) -> MetricRow:
    """Share of the window's rows whose request id is not the first of its kind."""
    check = "duplicate_request_id_share"
    if scan.rows == 0:
        return skipped(check, None, "empty_window")
    extra = scan.rows - scan.distinct_ids
    value = share(extra, scan.rows)
    row = judged(cfg, check, None, value, {"rows": scan.rows, "distinct_request_ids": scan.distinct_ids})
    row.details["message"] = (f"{extra} rows repeat a request id ({pct(value)} of {scan.rows}); joins "
                              "on request_id (labels, offline features) skip ambiguous ids"
                              if extra else f"request ids are unique ({scan.rows} rows)")
    return row


def future_rows(conn: Connection, cfg: MonitorConfig, as_of: datetime) -> MetricRow:
    """Rows of this model stamped later than the run's clock ``as_of``.

    The one data-layer check that reads a clock: an event cannot happen after the run that
    reads it, so such rows come from a producer with a wrong clock or time zone. They would
    otherwise sit silently in a future window.
    """
    check = "future_event_rows"
    tbl = predictions_columns(cfg)
    n, latest = conn.execute(sa.select(sa.func.count(), sa.func.max(event_time(cfg, tbl)))
                             .where(dated_after(cfg, tbl, as_of))).one()
    n, latest = int(n or 0), read_time(cfg, latest)
    details = {"rows": n, "as_of": as_of.isoformat(), "latest_event_ts": latest.isoformat() if latest
               else None}
    row = judged(cfg, check, None, float(n), details)
    row.details["message"] = (f"{n} rows stamped after the run's clock {as_of:%Y-%m-%d %H:%M} UTC (latest "
                              f"{latest:%Y-%m-%d %H:%M} UTC): a producer's clock or time zone is wrong"
                              if n else
                              "no event stamped in the future")
    return row
