"""Which windows a run evaluates, and how mature each one's labels are — all as of the run's end.

``as_of`` is the end of the run's data interval, never the wall clock: a rerun or a backfill of a
window evaluates exactly what a run at that time would have, and writes identical rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class EvalWindow:
    index: int
    start: datetime
    end: datetime
    as_of: datetime
    delay: timedelta

    @property
    def matures_at(self) -> datetime:
        return self.end + self.delay

    @property
    def mature(self) -> bool:
        """Labels are mature once ``labels.delay`` has passed since the window's end."""
        return self.matures_at <= self.as_of

    @property
    def maturity(self) -> float:
        """Share of the label delay that has passed since the window ended (0 … 1)."""
        if self.delay <= timedelta(0):
            return 1.0
        return min(max((self.as_of - self.end) / self.delay, 0.0), 1.0)

    def details(self) -> dict:
        return {"window_start": self.start.isoformat(), "window_end": self.end.isoformat(),
                "as_of": self.as_of.isoformat(), "label_maturity": self.maturity,
                "mature": self.mature, "matures_at": self.matures_at.isoformat()}


def plan_windows(end: datetime, step: timedelta, lookback: int, delay: timedelta
                 ) -> list[EvalWindow]:
    """The ``lookback`` windows of length ``step`` ending at ``end``, oldest first."""
    first = end - step * lookback
    return [EvalWindow(i, first + step * i, first + step * (i + 1), end, delay)
            for i in range(lookback)]
