"""Which models the UI shows, and read-only access to their warehouses.

The UI reads the same monitor files as the DAG factory and the same warehouse URL as the DAG's
tasks. The embedded DuckDB file allows one writer process at a time, so the UI opens it read-only
per request and lets go at once (a DAG run writing at that moment makes the page say "busy, reload"
instead of blocking the run).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from modelwatch.config.loader import load_monitor, monitor_files
from modelwatch.config.schema import MonitorConfig
from modelwatch.errors import ModelwatchError, WarehouseUnavailable
from modelwatch.paths import monitors_dir
from modelwatch.warehouse.engine import redact, resolve_url


class WarehouseBusy(WarehouseUnavailable):
    """The embedded warehouse is being written by a run; a reload in a moment will work."""


@dataclass(frozen=True)
class Monitor:
    dag_id: str
    source: Path
    cfg: MonitorConfig | None
    error: str | None = None


def monitors(directory: Path | None = None) -> list[Monitor]:
    """Every monitor file, broken ones included (the overview shows their error)."""
    found = []
    for source in monitor_files(directory or monitors_dir()):
        try:
            cfg = load_monitor(source)
        except ModelwatchError as exc:
            found.append(Monitor("monitor_" + source.stem, source, None, str(exc)))
            continue
        found.append(Monitor(cfg.dag_id, source, cfg))
    return found


def monitor_for(dag_id: str, directory: Path | None = None) -> Monitor | None:
    return next((m for m in monitors(directory) if m.dag_id == dag_id), None)


@lru_cache(maxsize=16)
def _server_engine(url: str) -> Engine:
    return sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2)


def read_engine(cfg: MonitorConfig, resolver: Callable[[str], str] | None = None) -> Engine:
    """An engine for reading the model's ``mw_*`` tables (read-only, unpooled on DuckDB)."""
    url = resolve_url(cfg.warehouse, resolver)
    parsed = make_url(url)
    if parsed.get_backend_name() == "duckdb":
        if parsed.database and parsed.database != ":memory:" and not Path(parsed.database).exists():
            raise WarehouseUnavailable(
                f"warehouse {redact(url)} does not exist yet: run the demo or the DAG first")
        return sa.create_engine(url, connect_args={"read_only": True}, poolclass=NullPool)
    return _server_engine(url)


def connect(engine: Engine):
    """``engine.connect()`` that turns DuckDB's lock conflict into :class:`WarehouseBusy`."""
    try:
        return engine.connect()
    except Exception as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusy(
                "the embedded warehouse is being written by a DAG run right now; reload in a "
                "few seconds") from exc
        raise WarehouseUnavailable(f"cannot read the warehouse: {exc}") from exc
