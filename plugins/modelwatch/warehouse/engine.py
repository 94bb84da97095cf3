"""Build a SQLAlchemy engine from a monitor's ``warehouse`` section.

Resolution order: ``url_env`` (an env var holding a URL), then ``conn_id`` (an Airflow connection,
looked up through ``AIRFLOW_CONN_<ID>`` here, or through a resolver the Airflow glue injects), then
``$MODELWATCH_WAREHOUSE_URL``, then the embedded DuckDB file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from modelwatch.config.schema import Warehouse
from modelwatch.errors import ConfigError, WarehouseUnavailable
from modelwatch.paths import default_warehouse_url

ConnectionResolver = Callable[[str], str]

_SCHEME_FIXES = {"postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg"}


def normalize_url(url: str) -> str:
    """Map Airflow-style URIs (``postgres://``) onto SQLAlchemy driver names."""
    scheme, sep, rest = url.partition("://")
    return f"{_SCHEME_FIXES.get(scheme, scheme)}{sep}{rest}" if sep else url


def _env_connection(conn_id: str) -> str:
    value = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if not value:
        raise ConfigError(
            f"warehouse.conn_id {conn_id!r}: no connection found. Fix: define it in Airflow, or "
            f"export AIRFLOW_CONN_{conn_id.upper()}='postgresql://user@host:5432/db'"
        )
    if value.lstrip().startswith("{"):
        raise ConfigError(
            f"AIRFLOW_CONN_{conn_id.upper()} is JSON; outside Airflow modelwatch reads URI form. "
            "Fix: write it as a URI, or run inside Airflow"
        )
    return value


def resolve_url(spec: Warehouse, resolver: ConnectionResolver | None = None) -> str:
    if spec.url_env:
        value = os.environ.get(spec.url_env)
        if value:
            return normalize_url(value)
        return default_warehouse_url()
    if spec.conn_id:
        return normalize_url((resolver or _env_connection)(spec.conn_id))
    return default_warehouse_url()


def redact(url: str) -> str:
    """URL safe for logs: the password never leaves this function."""
    return make_url(url).render_as_string(hide_password=True)


DUCKDB_MEMORY_ENV = "MODELWATCH_DUCKDB_MEMORY_LIMIT"
DUCKDB_MEMORY_DEFAULT = "512MB"
_MEMORY_SIZE = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


def duckdb_memory_limit() -> str:
    """The embedded warehouse's memory cap: ``$MODELWATCH_DUCKDB_MEMORY_LIMIT``, default 512MB.

    DuckDB runs inside the monitoring process and, by default, may use 80 % of the machine's
    RAM, most of it as a cache of table blocks: a window scan of 10M rows took the process to
    1.4 GB. Capped, DuckDB evicts cached blocks and spills joins, sorts and aggregates to disk,
    so the task's peak stays near the cap whatever the traffic (docs/warehouse.md). Raise it for
    heavy outcome joins on a worker with memory to spare.
    """
    value = os.environ.get(DUCKDB_MEMORY_ENV, "").strip() or DUCKDB_MEMORY_DEFAULT
    if not _MEMORY_SIZE.match(value):
        raise ConfigError(
            f"{DUCKDB_MEMORY_ENV}={value!r} is not a memory size. Fix: a number and a unit, e.g. "
            f"{DUCKDB_MEMORY_ENV}=2GB (units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
        )
    return value


def _configure_duckdb(engine: Engine, limit: str, timezone: str) -> None:
    """``SET memory_limit`` and ``SET TimeZone`` on every new connection (runtime settings: they
    never conflict with another connection's open-time configuration, e.g. the UI's read-only one).

    The session time zone is what DuckDB uses to compare a ``TIMESTAMP`` with a ``TIMESTAMPTZ``;
    without it, the machine's local zone would decide where a window of a timestamptz column
    starts (``warehouse/source``).
    """

    @event.listens_for(engine, "connect")
    def _set_limit(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        try:
            for statement in (f"SET memory_limit = '{limit}'",  # validated by duckdb_memory_limit
                              f"SET TimeZone = '{timezone}'"):  # validated as an IANA name
                cursor.execute(statement)
                cursor.fetchall()  # duckdb 2 refuses the next statement while a result is unread
        finally:
            cursor.close()


def engine_for_url(url: str, timezone: str | None = None) -> Engine:
    """The process's engine for ``url`` whose sessions run in ``timezone`` (None: UTC)."""
    return _engine_for(url, timezone or "UTC")


@lru_cache(maxsize=16)
def _engine_for(url: str, timezone: str) -> Engine:
    parsed = make_url(url)
    connect_args: dict = {}
    duckdb = parsed.get_backend_name() == "duckdb"
    if duckdb and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "postgresql":
        # JIT off: LLVM-compiling the window scan's per-column expressions took far longer than
        # running them (measured with the former CASE-tree binning at 100k rows x 21 columns:
        # 10.3 s with JIT, 1.5 s without). The scan is short statements run once; JIT never pays.
        # The session time zone is the wall clock of naive timestamp columns (warehouse.timezone):
        # PostgreSQL compares timestamp with timestamptz through it (warehouse/source).
        connect_args["options"] = f"-c timezone={timezone} -c jit=off"
    # duckdb 2 refuses new statements while the ping's result is unread; an embedded file
    # cannot go stale anyway, so only server warehouses get pre-ping.
    engine = sa.create_engine(url, connect_args=connect_args, pool_pre_ping=not duckdb)
    if duckdb:
        _configure_duckdb(engine, duckdb_memory_limit(), timezone)
    return engine


def get_engine(spec: Warehouse, resolver: ConnectionResolver | None = None) -> Engine:
    url = resolve_url(spec, resolver)
    engine = engine_for_url(url, spec.timezone)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        raise WarehouseUnavailable(f"cannot reach warehouse {redact(url)}: {exc.orig}") from exc
    except Exception as exc:  # duckdb raises its own IOException for a locked file
        if "lock" in str(exc).lower():
            raise WarehouseUnavailable(f"warehouse {redact(url)} is busy: {exc}") from exc
        raise
    return engine
