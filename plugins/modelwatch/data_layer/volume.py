"""Row count against the reference windows of the same weekday (and start hour, for windows
shorter than a day): a Saturday is compared with Saturdays, so weekly seasonality is not an
alert. The value is |rows / median - 1|."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta

from modelwatch.config.schema import MonitorConfig
from modelwatch.data_layer.rows import judged, pct, skipped
from modelwatch.metrics import MetricRow
from modelwatch.profile import Profile

CHECK = "volume_vs_weekday"


def baseline(cfg: MonitorConfig, profile: Profile, start: datetime) -> tuple[list[int], str]:
    return profile.volume_baseline(start, match_hour=cfg.schedule.window < timedelta(days=1)
                                   and cfg.data_layer.volume.match_hour)


def volume_vs_weekday(cfg: MonitorConfig, profile: Profile, rows: int, start: datetime, end: datetime,
                      as_of: datetime) -> MetricRow:
    counts, basis = baseline(cfg, profile, start)
    if not counts:
        return skipped(CHECK, None, "no_reference_windows", rows=rows)
    if end > as_of:
        return skipped(CHECK, None, "window_not_closed", f"the window ends at {end:%Y-%m-%d %H:%M}, after "
                       f"the run's clock {as_of:%Y-%m-%d %H:%M}: its volume is not final", rows=rows)
    expected = statistics.median(counts)
    change = abs(rows / expected - 1.0) if expected else None
    details = {"rows": rows, "expected_rows": expected, "baseline": basis, "reference_rows": counts}
    row = judged(cfg, CHECK, None, change, details)
    row.details["message"] = (f"{rows} rows vs a median of {expected:g} on {basis} "
                              f"({pct(rows / expected - 1.0) if expected else 'n/a'})"
                              + (": the window is empty" if rows == 0 else ""))
    return row
