"""Wall-clock time, used only for bookkeeping columns (computed_at, first_seen), never in a result."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC now, matching the naive-UTC timestamps stored in the warehouse."""
    return datetime.now(UTC).replace(tzinfo=None)
