"""Durations written the way people write them in YAML: ``30m``, ``6h``, ``1d``, ``2w``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(value: object) -> timedelta:
    """Parse ``"6h"``-style strings (or a timedelta, or seconds as a number)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    if isinstance(value, str):
        match = _PATTERN.match(value)
        if match:
            amount, unit = match.groups()
            return timedelta(**{_UNITS[unit]: float(amount)})
    raise ValueError(
        f"not a duration: {value!r}. Write a number and a unit, one of "
        f"{', '.join(sorted(_UNITS))} (seconds, minutes, hours, days, weeks), e.g. '6h' or '1d'"
    )


def format_duration(value: timedelta) -> str:
    """The way a person would write it back in YAML: ``1d``, ``15m``, ``90s``."""
    seconds = value.total_seconds()
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
