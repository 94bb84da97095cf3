"""Change points on each feature's drift history: a slow drift alarms before any single window does.

For every feature (and the score) the whole-population PSI series of all windows up to this one
is read back from ``mw_metric``, log-transformed, and run through the configured detectors
(``drift.change_point``, default CUSUM and Page–Hinkley). The baseline is the PSI's null
distribution from the reference windows — what the statistic looks like when nothing
changed — so a detector starts calibrated on day one. The history is re-read on every run,
never carried in state, so a rerun or a backfill of a window gives the same answer.
``details.sustained_windows`` ("in alarm for N windows") is the signal decision rules use.

Rows: ``check_name`` ``<check>_<detector>`` (``psi_cusum``, ``score_psi_page_hinkley``), value =
the detector's statistic (in baseline standard deviations of log PSI), threshold = its alarm
level; an alarm is a ``warn`` (a trend to look at), not a page.
"""

from __future__ import annotations

import math
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.checks.columns import Column
from modelwatch.checks.drift import DriftContext
from modelwatch.config.schema import MonitorConfig
from modelwatch.drift.changepoint import detect
from modelwatch.metrics import MetricRow
from modelwatch.profile import Profile
from modelwatch.warehouse.tables import mw_metric
from modelwatch.warehouse.window_stats import ALL

SERIES_METHOD = "psi"
# Wider than the textbook (k=0.5, h=5: ARL0 ~ 930 one-sided) because the baseline has only as many
# points as reference windows, so its sigma is uncertain and a daily monitor runs for years:
# k=1, h=8 keeps a stable feature quiet and still fires days before a per-window threshold on a
# slow drift (tests/integration/test_change_points.py).
DETECTOR_PARAMS = {"cusum": {"k": 1.0, "h": 8.0}, "page_hinkley": {"delta": 1.0, "lam": 8.0},
                   "ewma": {"lam": 0.2, "L": 3.5}}
LOG_FLOOR = 1e-4  # PSI's own smoothing floor


def _log(values: list[float | None]) -> list[float | None]:
    """PSI is positive and right-skewed (chi-square-like); its log is close to normal, which is
    what the detectors' standardisation assumes. Without it the null's long upper tail trips
    CUSUM on stable features."""
    return [None if v is None or v != v else math.log(max(v, 0.0) + LOG_FLOOR) for v in values]


def _history(conn: Connection, cfg: MonitorConfig, checks: list[str], before: datetime
             ) -> dict[tuple[str, str], list[float | None]]:
    rows = conn.execute(
        sa.select(mw_metric.c.check_name, mw_metric.c.feature, mw_metric.c.value)
        .where(mw_metric.c.model_name == cfg.model.name, mw_metric.c.slice == ALL,
               mw_metric.c.check_name.in_(checks), mw_metric.c.window_start < before)
        .order_by(mw_metric.c.window_start)
    )
    series: dict[tuple[str, str], list[float | None]] = {}
    for check, feature, value in rows:
        series.setdefault((check, feature), []).append(value)
    return series


def change_point_checks(conn: Connection, cfg: MonitorConfig, profile: Profile,
                        window_start: datetime, current: list[MetricRow]) -> list[MetricRow]:
    detectors = cfg.drift.change_point
    if not detectors or SERIES_METHOD not in cfg.drift.numeric_methods:
        return []
    ctx = DriftContext(cfg, profile)
    columns = [Column(f.name, f.kind, "data", "", f.importance) for f in cfg.features]
    columns += [Column(s, "numeric", "model", "score_", 1.0) for s in cfg.columns.score]
    checks = sorted({f"{c.check_prefix}{SERIES_METHOD}" for c in columns})
    history = _history(conn, cfg, checks, window_start)
    now = {(r.check_name, r.feature): r.value for r in current if r.slice == ALL}
    rows = []
    for column in columns:
        check = f"{column.check_prefix}{SERIES_METHOD}"
        series = [*history.get((check, column.name), []), now.get((check, column.name))]
        baseline = list(ctx.null(column, SERIES_METHOD).values)
        for name in detectors:
            result = detect(name, _log(series),
                            baseline=_log(baseline) if len(baseline) >= 4 else None,
                            **DETECTOR_PARAMS.get(name, {}))
            status = "warn" if result.alarm else "ok"
            first = result.first_alarm_index
            details = {"detector": name, "series": check, "windows": len(series),
                       "sustained_windows": result.run_length,
                       "first_alarm_windows_ago": None if first is None else len(series) - 1 - first,
                       "baseline": "reference null distribution" if len(baseline) >= 4
                       else "first windows of the series"}
            value = result.statistic
            rows.append(MetricRow(column.layer, f"{check}_{name}", column.name,
                                  None if value != value else float(value),
                                  float(result.threshold), status if value == value else "skipped",
                                  details))
    return rows
