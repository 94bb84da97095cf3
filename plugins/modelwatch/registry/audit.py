"""The registry's audit trail, ``mw_registry_event``, shared by every backend.

The audit rows stay in the warehouse whichever backend holds the aliases: the event id is derived
from (model, action, window), so a replayed window finds its row and changes nothing, with MLflow
as with the warehouse registry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.clock import utcnow
from modelwatch.warehouse.tables import mw_registry_event


@dataclass(frozen=True)
class RegistryChange:
    action: str
    applied: bool
    champion: str | None
    detail: str


def event_id(model: str, action: str, key: str) -> str:
    return hashlib.sha256(f"{model}|{action}|{key}".encode()).hexdigest()[:32]


def audit(conn: Connection, event_id: str, model: str, version: str, event: str,
          from_alias: str | None, to_alias: str | None, reason: str,
          window_start: datetime | None = None) -> None:
    """One audit row; ``window_start`` is the monitored window that caused it (when one did), so
    timelines place a backfilled rollback at its window rather than at the wall-clock time."""
    conn.execute(sa.insert(mw_registry_event).values(
        event_id=event_id, model_name=model, version=version, event=event,
        from_alias=from_alias, to_alias=to_alias, reason=reason, event_at=utcnow(),
        window_start=window_start))


def done(conn: Connection, event_id: str) -> bool:
    return conn.execute(sa.select(sa.func.count()).select_from(mw_registry_event)
                        .where(mw_registry_event.c.event_id == event_id)).scalar_one() > 0
