"""Volume, null-rate and freshness checks of one window (layer ``data``)."""

from __future__ import annotations

import statistics
from datetime import datetime

from modelwatch.config.schema import MonitorConfig
from modelwatch.metrics import MetricRow, judge, judge_change
from modelwatch.profile import Profile
from modelwatch.sampling import share_change_error
from modelwatch.warehouse.window_stats import WindowStats


def row_count_change(cfg: MonitorConfig, stats: WindowStats, profile: Profile,
                     window_start: datetime | None = None) -> MetricRow:
    """Relative change of the row count (two-sided) against the median of the reference windows
    of the same weekday (``Profile.volume_baseline``), so a quiet weekend is not a volume drop;
    the reference's mean rows per window when it has no window list."""
    counts, basis = (profile.volume_baseline(window_start) if window_start is not None
                     and profile.data.get("windows") else ([], ""))
    expected = statistics.median(counts) if counts else profile.rows_per_window
    change = abs(stats.rows / expected - 1.0) if expected else None
    details = {"rows": stats.rows, "expected_rows": round(expected, 1),
               "baseline": basis or "mean rows per reference window"}
    return judge("data", "row_count_change", None, change, cfg.thresholds.for_check(
        "row_count_change"), details)


def null_rate_increase(cfg: MonitorConfig, stats: WindowStats, profile: Profile) -> list[MetricRow]:
    """Per feature: null rate now minus null rate in the reference (absolute, in share of rows),
    against levels raised to its sampling error at the window's row count."""
    rows = []
    reference = {**profile.data["numeric"], **profile.data["categorical"]}
    for name in [f.name for f in cfg.features]:
        current = stats.null_rate(name)
        ref_rate = reference[name]["null_rate"] or 0.0
        increase = None if current is None else max(current - ref_rate, 0.0)
        details = {"null_rate": current, "reference_null_rate": ref_rate}
        error = None if current is None else share_change_error(
            current * stats.rows, stats.rows, ref_rate, profile.data.get("rows"))
        rows.append(judge_change("data", "null_rate_increase", name, increase,
                                 cfg.thresholds.for_check("null_rate_increase", name), details,
                                 sampling_error=error, rows=stats.rows))
    return rows


def freshness_lag(cfg: MonitorConfig, stats: WindowStats, window_end: datetime) -> MetricRow:
    """Hours between the newest event in the window and the window's end.

    An empty window has no newest event: it is reported at the full window length, so a stopped
    feed alerts instead of being skipped.
    """
    threshold = cfg.thresholds.for_check("freshness_lag_hours")
    if stats.max_event_ts is None:
        lag = cfg.schedule.window.total_seconds() / 3600
        return judge("data", "freshness_lag_hours", None, lag, threshold,
                     {"latest_event_ts": None, "reason": "no rows in the window"})
    lag = max((window_end - stats.max_event_ts).total_seconds() / 3600, 0.0)
    return judge("data", "freshness_lag_hours", None, lag, threshold,
                 {"latest_event_ts": stats.max_event_ts.isoformat()})


def data_quality_checks(
    cfg: MonitorConfig, stats: WindowStats, profile: Profile, window_end: datetime
) -> list[MetricRow]:
    return [
        row_count_change(cfg, stats, profile, window_end - cfg.schedule.window),
        freshness_lag(cfg, stats, window_end),
        *null_rate_increase(cfg, stats, profile),
    ]
