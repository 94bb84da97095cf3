"""Config names → SQLAlchemy Core objects. The one place identifiers from YAML become SQL.

Names were validated at config load; here they become ``sa.table``/``sa.column`` objects, which
the dialect quotes where needed, so nothing from config is ever pasted into a SQL string.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from modelwatch.config.schema import MonitorConfig


def table_ref(name: str, *columns: str) -> sa.TableClause:
    schema, _, table = name.rpartition(".")
    return sa.table(table, *(sa.column(c) for c in dict.fromkeys(columns)), schema=schema or None)


def predictions_ref(cfg: MonitorConfig, table: str | None = None) -> sa.TableClause:
    c = cfg.columns
    names = [c.request_id, c.event_ts, c.model_name, c.model_version, *c.score]
    names += [f.name for f in cfg.features] + list(cfg.segments)
    if c.prediction:
        names.append(c.prediction)
    names += [n for n in (c.item, c.rank) if n]
    return table_ref(table or cfg.tables.predictions, *names)


def window_filter(cfg: MonitorConfig, tbl: sa.TableClause, start: datetime, end: datetime):
    """Rows of this model in ``[start, end)``, UTC."""
    c = cfg.columns
    return sa.and_(
        tbl.c[c.model_name] == cfg.model.name,
        tbl.c[c.event_ts] >= start,
        tbl.c[c.event_ts] < end,
    )
