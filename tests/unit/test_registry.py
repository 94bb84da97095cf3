"""Registry aliases move atomically, with an audit row, and replays are no-ops."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from modelwatch.registry import aliases, promote, register, rollback
from modelwatch.warehouse.tables import create_output_tables, mw_registry_event

W = datetime(2026, 10, 8)


def test_deploy_rollback_promote(duck_url) -> None:
    engine = sa.create_engine(duck_url)
    create_output_tables(engine)
    register(engine, "m", "v1", alias="champion")
    register(engine, "m", "v2", alias="challenger")
    register(engine, "m", "v1.1", alias="champion")
    with engine.connect() as conn:
        assert aliases(conn, "m") == {"champion": "v1.1", "previous": "v1", "challenger": "v2"}

    first = rollback(engine, "m", W, "score drift after deploy")
    again = rollback(engine, "m", W, "score drift after deploy")
    assert first.applied and first.champion == "v1" and not again.applied
    with engine.connect() as conn:
        assert aliases(conn, "m") == {"champion": "v1", "previous": "v1.1", "challenger": "v2"}
        events = conn.execute(sa.select(mw_registry_event.c.event, mw_registry_event.c.reason)
                              .where(mw_registry_event.c.event == "rollback")).all()
    assert len(events) == 1 and "was v1.1" in events[0].reason

    promoted = promote(engine, "m", W, "gate passed")
    assert promoted.applied and promoted.champion == "v2"
    assert not promote(engine, "m", W, "gate passed").applied
    with engine.connect() as conn:
        assert aliases(conn, "m") == {"champion": "v2", "previous": "v1"}
    engine.dispose()


def test_rollback_without_previous_says_why(duck_url) -> None:
    engine = sa.create_engine(duck_url)
    create_output_tables(engine)
    register(engine, "m", "v1", alias="champion")
    change = rollback(engine, "m", W, "x")
    assert not change.applied and "no previous version" in change.detail
    engine.dispose()
