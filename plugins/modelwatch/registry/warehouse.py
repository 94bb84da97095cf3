"""The ``warehouse`` registry backend: aliases in ``mw_model_registry``, audit in ``mw_registry_event``.

Aliases: ``champion`` (serving), ``challenger`` (in shadow), ``previous`` (the champion before the
last change, what a rollback returns to). Every change is one transaction with an audit event
whose id is derived from (model, action, window), so replaying a window's action is a no-op:
rollback and promote are idempotent.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from modelwatch.clock import utcnow
from modelwatch.registry.audit import RegistryChange
from modelwatch.registry.audit import audit as _audit
from modelwatch.registry.audit import done as _done
from modelwatch.registry.audit import event_id as _event_id
from modelwatch.registry.base import BackendSettings, register_backend
from modelwatch.warehouse.tables import mw_model_registry


def aliases(conn: Connection, model: str) -> dict[str, str]:
    rows = conn.execute(sa.select(mw_model_registry.c.alias, mw_model_registry.c.version)
                        .where(mw_model_registry.c.model_name == model,
                               mw_model_registry.c.alias.is_not(None)))
    return {alias: version for alias, version in rows}


def _set_alias(conn: Connection, model: str, alias: str, version: str | None) -> None:
    conn.execute(sa.update(mw_model_registry).where(
        mw_model_registry.c.model_name == model, mw_model_registry.c.alias == alias)
        .values(alias=None))
    if version:
        conn.execute(sa.update(mw_model_registry).where(
            mw_model_registry.c.model_name == model, mw_model_registry.c.version == version)
            .values(alias=alias))


def register(engine: Engine, model: str, version: str, *, alias: str | None = None,
             artifact_uri: str | None = None, reason: str = "registered",
             window_start: datetime | None = None) -> RegistryChange:
    """Add a version (idempotent); with ``alias``, move that alias to it."""
    with engine.begin() as conn:
        exists = conn.execute(sa.select(sa.func.count()).select_from(mw_model_registry).where(
            mw_model_registry.c.model_name == model, mw_model_registry.c.version == version)
        ).scalar_one()
        if not exists:
            conn.execute(sa.insert(mw_model_registry).values(
                model_name=model, version=version, alias=None, artifact_uri=artifact_uri,
                registered_at=utcnow()))
        if alias:
            current = aliases(conn, model)
            if current.get(alias) != version:
                if alias == "champion" and current.get("champion"):
                    _set_alias(conn, model, "previous", current["champion"])
                _set_alias(conn, model, alias, version)
                _audit(conn, _event_id(model, f"register:{alias}", version), model, version,
                       "register" if not exists else "alias", current.get(alias), alias, reason,
                       window_start)
        champion = aliases(conn, model).get("champion")
    return RegistryChange("register", not exists or bool(alias), champion, f"{version} as {alias}")


def rollback(engine: Engine, model: str, window_start: datetime, reason: str) -> RegistryChange:
    """Champion -> previous version. Replaying the same window changes nothing."""
    event_id = _event_id(model, "rollback", window_start.isoformat())
    with engine.begin() as conn:
        current = aliases(conn, model)
        if _done(conn, event_id):
            return RegistryChange("rollback", False, current.get("champion"), "already rolled back")
        bad, good = current.get("champion"), current.get("previous")
        if not good:
            return RegistryChange("rollback", False, bad,
                                  "no previous version to roll back to: register one first")
        _set_alias(conn, model, "previous", None)
        _set_alias(conn, model, "champion", good)
        if bad:
            _set_alias(conn, model, "previous", bad)
        _audit(conn, event_id, model, good, "rollback", "previous", "champion",
               f"{reason} (was {bad})", window_start)
    return RegistryChange("rollback", True, good, f"{bad} -> {good}")


def promote(engine: Engine, model: str, window_start: datetime, reason: str) -> RegistryChange:
    """Challenger -> champion (the old champion becomes previous). Idempotent per window."""
    event_id = _event_id(model, "promote", window_start.isoformat())
    with engine.begin() as conn:
        current = aliases(conn, model)
        if _done(conn, event_id):
            return RegistryChange("promote", False, current.get("champion"), "already promoted")
        challenger = current.get("challenger")
        if not challenger:
            return RegistryChange("promote", False, current.get("champion"), "no challenger")
        old = current.get("champion")
        _set_alias(conn, model, "challenger", None)
        if old:
            _set_alias(conn, model, "previous", old)
        _set_alias(conn, model, "champion", challenger)
        _audit(conn, event_id, model, challenger, "promote", "challenger", "champion",
               f"{reason} (was {old})", window_start)
    return RegistryChange("promote", True, challenger, f"{old} -> {challenger}")


class WarehouseBackend:
    """The default backend: the functions above over the monitor's warehouse."""

    name = "warehouse"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def aliases(self, model: str) -> dict[str, str]:
        with self.engine.connect() as conn:
            return aliases(conn, model)

    def register(self, model: str, version: str, *, alias: str | None = None,
                 artifact_uri: str | None = None, reason: str = "registered",
                 window_start: datetime | None = None) -> RegistryChange:
        return register(self.engine, model, version, alias=alias, artifact_uri=artifact_uri,
                        reason=reason, window_start=window_start)

    def rollback(self, model: str, window_start: datetime, reason: str) -> RegistryChange:
        return rollback(self.engine, model, window_start, reason)

    def promote(self, model: str, window_start: datetime, reason: str) -> RegistryChange:
        return promote(self.engine, model, window_start, reason)


@register_backend("warehouse")
def _warehouse(settings: BackendSettings, engine: Engine) -> WarehouseBackend:
    return WarehouseBackend(engine)
