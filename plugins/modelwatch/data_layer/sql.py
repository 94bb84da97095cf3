"""SQL building blocks of the data layer, and its dialect differences (all of them are here).

Everything is SQLAlchemy Core on ``sa.table`` objects from ``warehouse.source``, so names from the
config are quoted by the dialect. Tested on DuckDB and PostgreSQL.

- Non-finite floats: ``x IN (CAST('NaN' AS DOUBLE), CAST('Infinity' AS DOUBLE), -...)`` works on
  both, because both treat NaN as equal to NaN (and greater than every number).
- Sampling hash: ``substr(md5(seed || ':' || request_id), 1, 8)`` compared with a hex bound; a
  fixed-width lowercase hex string orders like its number under the byte-wise ``C`` collation,
  which PostgreSQL needs spelled out (DuckDB compares bytes by default).
- Live column types: SQLAlchemy inspection; on DuckDB ``information_schema.columns`` instead,
  because duckdb-engine 0.17's reflection queries ``pg_catalog.pg_collation``, which DuckDB 2.0
  does not have.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

HASH_HEX_DIGITS = 8
_HASH_SPACE = 16**HASH_HEX_DIGITS


def as_double(col):
    """A column as a 64-bit float (``FLOAT`` is 32-bit in DuckDB)."""
    return sa.cast(col, sa.Double)


def _special(text: str):
    return sa.cast(sa.literal(text), sa.Double)


def is_non_finite(col):
    """True for NaN, +inf and -inf; NULL for NULL."""
    x = as_double(col)
    return x.in_([_special("NaN"), _special("Infinity"), _special("-Infinity")])


def is_finite(col):
    """True for a finite number; NULL for NULL (so a CASE on it skips nulls)."""
    x = as_double(col)
    return x.not_in([_special("NaN"), _special("Infinity"), _special("-Infinity")])


def count_if(condition, label: str):
    return sa.func.sum(sa.case((condition, 1), else_=0)).label(label)


def as_text(col):
    return sa.cast(col, sa.String)


def byte_order(dialect: str, text_expr):
    """``text_expr`` compared byte-wise (so hex strings order like numbers)."""
    return sa.collate(text_expr, "C") if dialect == "postgresql" else text_expr


def sample_hash(request_id, seed: int):
    """First 8 hex digits of md5("<seed>:<request_id>"): the documented sampling hash."""
    return sa.func.substr(sa.func.md5(sa.literal(f"{seed}:") + as_text(request_id)), 1, HASH_HEX_DIGITS)


def sample_bound(rate: float) -> str | None:
    """Hex bound below which a hash is sampled, or None when every row is (rate 1)."""
    if rate >= 1:
        return None
    return format(max(int(rate * _HASH_SPACE), 1), f"0{HASH_HEX_DIGITS}x")


def in_sample(dialect: str, request_id, seed: int, rate: float):
    """Deterministic, seeded sample predicate on the request id, identical across dialects."""
    bound = sample_bound(rate)
    if bound is None:
        return sa.true()
    return byte_order(dialect, sample_hash(request_id, seed)) < byte_order(dialect, sa.literal(bound))


def python_in_sample(request_id: str, seed: int, rate: float) -> bool:
    """The same predicate in Python (tests, and anyone reproducing a sample by hand)."""
    bound = sample_bound(rate)
    digest = hashlib.md5(f"{seed}:{request_id}".encode()).hexdigest()[:HASH_HEX_DIGITS]
    return bound is None or digest < bound


NUMERIC_QUANTUM = 1e-6


def canonical_text(col, kind: str):
    """A value as text for the feature-vector hash, the same on every dialect.

    Numerics are quantised to ``NUMERIC_QUANTUM`` (``floor(x * 1e6 + 0.5)`` as an integer
    DECIMAL, so 1.0 is ``1000000`` on DuckDB and PostgreSQL alike); NaN/inf become ``nan``/
    ``inf``/``-inf``; NULL becomes ``\\N``; categoricals are their text.
    """
    if kind == "categorical":
        return sa.func.coalesce(as_text(col), sa.literal("\\N"))
    x = as_double(col)
    scaled = sa.cast(sa.func.floor(x / NUMERIC_QUANTUM + 0.5), sa.Numeric(38, 0))
    return sa.case(
        (x.is_(None), sa.literal("\\N")),
        (x == _special("Infinity"), sa.literal("inf")),
        (x == _special("-Infinity"), sa.literal("-inf")),
        (x == _special("NaN"), sa.literal("nan")),
        (sa.func.abs(x) >= 1e30, sa.literal("huge")),
        else_=as_text(scaled),
    )


def vector_hash(columns: list[tuple[str, object, str]]):
    """md5 of ``name=value|name=value|…`` over features sorted by name (order-stable)."""
    parts = []
    for name, col, kind in sorted(columns, key=lambda c: c[0]):
        if parts:
            parts.append(sa.literal("|"))
        parts += [sa.literal(f"{name}="), canonical_text(col, kind)]
    if not parts:
        return sa.literal("")
    expr = parts[0]
    for part in parts[1:]:
        expr = expr + part
    return sa.func.md5(expr)


# moved to the warehouse package (the contract and `modelwatch doctor` read the catalog too)
from modelwatch.warehouse.catalog import live_columns  # noqa: E402,F401
