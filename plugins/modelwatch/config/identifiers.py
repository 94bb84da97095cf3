"""Table and column names from config are checked here before they go near SQL.

They are later quoted by the SQL dialect as well; this check exists so a typo or an injection
attempt fails at config load with a readable message, not as a SQL error at 3 a.m.
"""

from __future__ import annotations

import re

# Spaces, ``$`` and ``-`` are allowed inside a name: the dialect quotes every name (a quoted
# ``"Request ID"`` is an ordinary column on DuckDB and PostgreSQL); quotes, dots, semicolons and
# leading or trailing blanks are not, so nothing in a name can end the quoting.
_IDENT = re.compile(r"^[A-Za-z_](?:[A-Za-z0-9_ $-]{0,61}[A-Za-z0-9_$])?$")


def check_identifier(value: str, *, qualified: bool = False) -> str:
    """Return ``value`` if it is a plain SQL identifier (``schema.table`` or
    ``catalog.schema.table`` when ``qualified``; whether the dialect has catalogs is the input
    contract's question, answered against the live warehouse)."""
    parts = value.split(".") if qualified else [value]
    if len(parts) > 3 or not all(_IDENT.match(part) for part in parts):
        allowed = ("letters, digits, underscores and inner spaces, $ or -, starting with a letter "
                   "or underscore, at most 63 chars")
        shape = " (optionally schema.table or catalog.schema.table)" if qualified else ""
        raise ValueError(f"{value!r} is not a valid SQL name{shape}: use {allowed}")
    return value
