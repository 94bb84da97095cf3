"""Table and column names from config are checked here before they go near SQL.

They are later quoted by the SQL dialect as well; this check exists so a typo or an injection
attempt fails at config load with a readable message, not as a SQL error at 3 a.m.
"""

from __future__ import annotations

import re

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def check_identifier(value: str, *, qualified: bool = False) -> str:
    """Return ``value`` if it is a plain SQL identifier (``schema.table`` when ``qualified``)."""
    parts = value.split(".") if qualified else [value]
    if len(parts) > 2 or not all(_IDENT.match(part) for part in parts):
        allowed = "letters, digits and underscores, not starting with a digit, at most 63 chars"
        shape = " (optionally schema.table)" if qualified else ""
        raise ValueError(f"{value!r} is not a valid SQL name{shape}: use {allowed}")
    return value
