"""A computed metric with its interval, or the reason it could not be computed."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class MetricValue:
    value: float | None
    low: float | None = None
    high: float | None = None
    method: str = ""
    details: dict = field(default_factory=dict)
    reason: str | None = None

    @classmethod
    def missing(cls, reason: str) -> MetricValue:
        return cls(None, reason=reason)

    @classmethod
    def of(cls, value: float, low: float, high: float, method: str, **details) -> MetricValue:
        def clean(x: float) -> float | None:
            return None if x is None or not math.isfinite(x) else float(x)

        if value is None or not math.isfinite(value):
            return cls.missing("not defined on this window's rows")
        return cls(float(value), clean(low), clean(high), method, details)

    def as_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high}
