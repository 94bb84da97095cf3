"""Dialect differences, kept in one module.

Quantiles are the only aggregate that has no portable SQL spelling: DuckDB has
``quantile_cont(x, [..])``, PostgreSQL ``percentile_cont(array) WITHIN GROUP (ORDER BY x)``; on other
dialects the column is pulled (reference only, one column at a time) and numpy does it.

A seeded pseudo-random row order (for the reference sample of exact KS) is ``md5`` of the row's key
and a seed on DuckDB and PostgreSQL; other dialects have no hash function, so the caller draws the
row numbers with numpy instead (``sample_order``).

Mapping an aggregated grid cell to its bin (``count_at_most``) is ``width_bucket`` on PostgreSQL and
a list filter on DuckDB.
"""

from __future__ import annotations

import math

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement


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


QUANTILE_BATCH_VALUES = 20_000_000  # values held at once by one quantile statement (160 MB)


def quantile_batches(columns: list[str], rows: int | None,
                     budget: int | None = None) -> list[list[str]]:
    """Columns grouped so that one statement holds at most ``budget`` values.

    An exact quantile is a holistic aggregate: the database keeps every value of every column in
    the statement until the end, and DuckDB cannot spill it to disk. At 10M reference rows x 21
    columns that is 1.7 GB in the monitoring process, so large references are profiled a few
    columns per statement (one more scan each) instead of all at once. ``rows`` None: one batch.
    """
    if not columns:
        return []
    budget = budget or QUANTILE_BATCH_VALUES
    per_batch = len(columns) if not rows else max(1, budget // max(rows, 1))
    return [columns[i:i + per_batch] for i in range(0, len(columns), per_batch)]


def quantiles(
    conn: Connection, source: sa.Subquery, columns: list[str], probs: list[float],
    rows: int | None = None,
) -> dict[str, list[float] | None]:
    """Quantiles of several numeric columns of ``source``; None for a column with no values.

    ``rows``, the number of rows in ``source`` when known, bounds the values held at once
    (``quantile_batches``).
    """
    dialect = conn.dialect.name
    exprs = {name: quantile_exprs(dialect, source.c[name], probs) for name in columns}
    if all(e is not None for e in exprs.values()) and exprs:
        result = {}
        for batch in quantile_batches(columns, rows):
            values = conn.execute(sa.select(*(exprs[name].label(f"q{i}")
                                              for i, name in enumerate(batch)))).one()
            result.update({name: (None if v is None else [float(x) for x in v])
                           for name, v in zip(batch, values, strict=True)})
        return result
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


COUNT_AT_MOST_DIALECTS = ("duckdb", "postgresql")


class count_at_most(ColumnElement):  # noqa: N801  (reads as the SQL function it renders)
    """How many of the sorted ``thresholds`` are <= ``value``: a value's bin.

    It equals ``numpy.searchsorted(thresholds, value, side="right")``, the convention of every
    bin in modelwatch. PostgreSQL spells it ``width_bucket(value, ARRAY[...])``, a binary search in
    C, cheap enough for every row. DuckDB, which has no such function, spells it
    ``len(list_filter([...], lambda t: t <= value))``, a linear filter, used only on aggregated
    grid cells (a few thousand rows). Either way the statement stays short: a ``CASE`` tree over
    a hundred edges per column made building and compiling it a quarter of a window's time. The
    thresholds are numbers made by the profile, rendered inline (never user text).
    """

    type = sa.Integer()
    inherit_cache = False  # the thresholds are not part of a cache key

    def __init__(self, value, thresholds: list[float]) -> None:
        self.value = value
        values = [float(t) for t in thresholds]
        self.integers = all(v.is_integer() for v in values)
        self.thresholds = [int(v) for v in values] if self.integers else values


def _number(value: float) -> str:
    """A threshold as SQL text that reads back as the same double (``repr`` round-trips)."""
    if math.isfinite(value):
        return repr(value)
    return "'Infinity'" if value > 0 else "'-Infinity'"


def _thresholds(element: count_at_most) -> str:
    return ", ".join(str(t) if element.integers else _number(t) for t in element.thresholds)


@compiles(count_at_most, "postgresql")
def _count_at_most_postgresql(element: count_at_most, compiler, **kw) -> str:
    if not element.thresholds:
        return "0"
    kind = "integer" if element.integers else "float8"
    return (f"width_bucket({compiler.process(element.value, **kw)}, "
            f"ARRAY[{_thresholds(element)}]::{kind}[])")


@compiles(count_at_most, "duckdb")
def _count_at_most_duckdb(element: count_at_most, compiler, **kw) -> str:
    if not element.thresholds:
        return "0"
    kind = "INTEGER" if element.integers else "DOUBLE"
    value = compiler.process(element.value, **kw)
    return (f"len(list_filter(CAST([{_thresholds(element)}] AS {kind}[]), "
            f"lambda mw_t: mw_t <= {value}))")


@compiles(count_at_most)
def _count_at_most_other(element: count_at_most, compiler, **kw) -> str:
    raise NotImplementedError(
        f"count_at_most has no spelling on {compiler.dialect.name}; use it only on "
        f"{', '.join(COUNT_AT_MOST_DIALECTS)}")
