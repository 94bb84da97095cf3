"""Time on the ground floor: the monitoring window and the one UTC convention.

This module imports nothing of modelwatch, so every layer can use it without importing the runner
that calls the layers.

The convention: inside modelwatch, an instant is a *naive* ``datetime`` in UTC. That is what
``Window`` holds, what the output tables (``mw_*``) store, and what every value read back from a
user's table is turned into (``to_utc``), whatever the column's type — naive (taken as UTC, or as
the wall clock of ``warehouse.timezone``), time-zone aware with any offset, or a ``DATE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def naive_utc(value: datetime) -> datetime:
    """Naive UTC as a plain ``datetime``: aware values are converted, naive ones taken as UTC.

    Always a plain ``datetime`` (Airflow hands out pendulum objects, whose arithmetic with
    ``timedelta`` differs).
    """
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                    value.microsecond)


def to_utc(value: datetime | date | str | None, timezone: str | None = None) -> datetime | None:
    """A timestamp read from a user's table, as naive UTC.

    Args:
        value: What the driver returned: an aware ``datetime`` (``timestamptz``), a naive one
            (``timestamp``), a ``date``, ISO text (SQLite), or None.
        timezone: The IANA name of the wall clock that naive values are written in
            (``warehouse.timezone``); None means UTC.
    """
    if value is None:
        return None
    if isinstance(value, str):  # SQLite has no time type: aggregates come back as ISO text
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):  # a DATE: midnight of that day in the wall clock
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None and timezone not in (None, "UTC"):
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return naive_utc(value)


def to_wall_clock(value: datetime, timezone: str | None = None) -> datetime:
    """A naive-UTC instant as the naive wall-clock time of ``timezone`` (None: UTC).

    This is how window boundaries are bound into SQL: the warehouse session runs in the same
    time zone, so a naive column (written in that wall clock) compares natively and an aware
    column converts the bound value exactly (see ``warehouse/source``).
    """
    value = naive_utc(value)
    if timezone in (None, "UTC"):
        return value
    local = value.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
    return local.replace(tzinfo=None)


@dataclass(frozen=True)
class Window:
    """A half-open data interval ``[start, end)`` in naive UTC (the convention above).

    In a local wall clock a window of one day may be 23 or 25 hours long (DST); its boundaries are
    still UTC instants.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", naive_utc(self.start))
        object.__setattr__(self, "end", naive_utc(self.end))
        if self.start >= self.end:
            raise ValueError(f"window start {self.start} must be before its end {self.end}")

    def __str__(self) -> str:
        return f"[{self.start:%Y-%m-%d %H:%M}, {self.end:%Y-%m-%d %H:%M}) UTC"
