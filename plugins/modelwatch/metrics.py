"""The metric row every check produces, and how a value meets its threshold."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from modelwatch.config.schema import ConstantThreshold
from modelwatch.sampling import Z_ALERT, Z_WARN

STATUS_ORDER = {"ok": 0, "skipped": 0, "warn": 1, "alert": 2}


@dataclass(frozen=True)
class MetricRow:
    layer: str
    check_name: str
    feature: str | None
    value: float | None
    threshold: float | None
    status: str
    details: dict = field(default_factory=dict)
    slice: str = "all"


def judge(
    layer: str,
    check: str,
    feature: str | None,
    value: float | None,
    threshold: ConstantThreshold | None,
    details: dict | None = None,
) -> MetricRow:
    """Status of ``value`` against a constant threshold (higher is worse)."""
    details = dict(details or {})
    if value is None or (isinstance(value, float) and math.isnan(value)):
        details.setdefault("reason", "no data to compute this check in the window")
        return MetricRow(layer, check, feature, None, None, "skipped", details)
    if threshold is None:
        return MetricRow(layer, check, feature, value, None, "ok", details)
    details["warn_threshold"] = threshold.warn
    status = "alert" if value >= threshold.alert else "warn" if value >= threshold.warn else "ok"
    return MetricRow(layer, check, feature, float(value), threshold.alert, status, details)


def judge_change(
    layer: str,
    check: str,
    feature: str | None,
    change: float | None,
    threshold: ConstantThreshold | None,
    details: dict | None = None,
    *,
    sampling_error: float | None,
    rows: int | float | None,
) -> MetricRow:
    """A change of a share, a mean or a rate against levels that account for the window's size:
    each constant level is raised to ``Z_WARN`` / ``Z_ALERT`` sampling errors when those are
    larger, so small windows do not alert on noise and large ones keep the effect-size floor.

    The details say which bound set each level (``level_basis``) and carry the sampling error
    and the rows it was computed for.
    """
    if not isinstance(threshold, ConstantThreshold) or sampling_error is None or change is None:
        return judge(layer, check, feature, change, threshold, details)
    warn = max(threshold.warn, Z_WARN * sampling_error)
    alert = max(threshold.alert, Z_ALERT * sampling_error, warn)
    details = {**(details or {}), "sampling_error": sampling_error, "rows": rows,
               "constant_warn": threshold.warn, "constant_alert": threshold.alert,
               "level_basis": "sampling_error" if alert > threshold.alert else "constant",
               "levels": f"max(constant, {Z_WARN:g}/{Z_ALERT:g} sampling errors at {rows} rows)"}
    return judge(layer, check, feature, change, ConstantThreshold(warn=warn, alert=alert), details)
