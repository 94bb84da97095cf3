"""A DuckDB dialect whose results survive the end of their transaction, for GX.

GX 1.24's ``SqlAlchemyExecutionEngine.execute_query`` runs a query inside ``with
engine.connect()`` and calls ``fetchall()`` on the result *after* the block, i.e. after the
connection rolled back and went back to the pool. psycopg and sqlite buffer results client-side,
so that works; duckdb-engine's cursor is the DuckDB connection itself, and DuckDB drops a pending
result when its transaction ends, so every metric query comes back empty and GX fails with
``MetricResolutionError: list index out of range``.

This dialect is duckdb-engine's with one change: after a statement that returns rows, the rows
are fetched at once into SQLAlchemy's ``FullyBufferedCursorFetchStrategy`` (the strategy
SQLAlchemy itself uses for results that must outlive the conversation). GX's queries are
aggregates or ``LIMIT``-ed samples of unexpected values, so buffering them costs a few rows; the
work stays in DuckDB. It is registered as ``duckdb+mwbuffered`` and only GX's engine uses it.
"""

from __future__ import annotations

from duckdb_engine import Dialect as DuckDBDialect
from sqlalchemy.dialects import registry
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.cursor import FullyBufferedCursorFetchStrategy

DRIVER = "mwbuffered"


class BufferedExecutionContext(DuckDBDialect.execution_ctx_cls):
    def post_exec(self) -> None:
        super().post_exec()
        description = self.cursor.description
        if description is not None:
            self.cursor_fetch_strategy = FullyBufferedCursorFetchStrategy(self.cursor, description)


class BufferedDuckDBDialect(DuckDBDialect):
    """duckdb-engine, with every row-returning result fetched when its statement ends."""

    execution_ctx_cls = BufferedExecutionContext
    supports_statement_cache = False


def register() -> None:
    registry.register(f"duckdb.{DRIVER}", __name__, "BufferedDuckDBDialect")


def gx_url(url: URL | str) -> URL:
    """The URL GX should use for a warehouse: DuckDB through the buffered dialect, others as is."""
    url = make_url(url)
    if url.get_backend_name() == "duckdb":
        register()
        return url.set(drivername=f"duckdb+{DRIVER}")
    return url
