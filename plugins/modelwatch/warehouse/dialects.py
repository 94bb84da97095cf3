"""Dialect differences, kept in one module.

Quantiles are the only aggregate that has no portable SQL spelling: DuckDB has
``quantile_cont(x, [..])``, PostgreSQL ``percentile_cont(array) WITHIN GROUP (ORDER BY x)``; on other
dialects the column is pulled (reference only, one column at a time) and numpy does it.

A seeded pseudo-random row order (for the reference sample of exact KS) is ``md5`` of the row's key
and a seed on DuckDB and PostgreSQL; other dialects have no hash function, so the caller draws the
row numbers with numpy instead (``sample_order``).
"""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection


def quantile_exprs(dialect: str, column, probs: list[float]):
    """An aggregate returning the list of quantiles of ``column``, or None if unsupported."""
    if dialect == "duckdb":
        literal = "[" + ", ".join(repr(float(p)) for p in probs) + "]"
        return sa.func.quantile_cont(column, sa.literal_column(literal))
    if dialect == "postgresql":
        return sa.func.percentile_cont(
            sa.literal([float(p) for p in probs], postgresql.ARRAY(sa.Float))
        ).within_group(column)
    return None


def quantiles(
    conn: Connection, source: sa.Subquery, columns: list[str], probs: list[float]
) -> dict[str, list[float] | None]:
    """Quantiles of several numeric columns of ``source``; None for a column with no values."""
    dialect = conn.dialect.name
    exprs = {name: quantile_exprs(dialect, source.c[name], probs) for name in columns}
    if all(e is not None for e in exprs.values()) and exprs:
        row = conn.execute(sa.select(*(e.label(f"q{i}") for i, e in enumerate(exprs.values()))))
        values = row.one()
        return {
            name: (None if v is None else [float(x) for x in v])
            for name, v in zip(exprs, values, strict=True)
        }
    result: dict[str, list[float] | None] = {}
    for name in columns:
        col = source.c[name]
        values = np.array(
            conn.execute(sa.select(col).where(col.is_not(None))).scalars().all(), dtype=float
        )
        result[name] = list(np.quantile(values, probs)) if values.size else None
    return result


HASH_DIALECTS = ("duckdb", "postgresql")


def sample_order(dialect: str, key_columns: list, seed: str):
    """A seeded pseudo-random sort key of a row (``md5(key || seed)``), or None if unsupported.

    Sorting by it and keeping the first n rows is a uniform random sample without replacement that
    is the same on every run over the same rows.
    """
    if dialect not in HASH_DIALECTS:
        return None
    text = sa.literal(f"|{seed}")
    for col in reversed(key_columns):
        text = sa.func.coalesce(sa.cast(col, sa.String), sa.literal("")) + sa.literal("|") + text
    return sa.func.md5(text)
