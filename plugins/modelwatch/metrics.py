"""The metric row every check produces, and how a value meets its threshold."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from modelwatch.config.schema import ConstantThreshold

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
