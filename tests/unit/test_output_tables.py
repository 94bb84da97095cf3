"""Output tables: created on first use, and upgraded in place when an older modelwatch made them."""

from __future__ import annotations

import sqlalchemy as sa

from modelwatch.warehouse.tables import create_output_tables


def test_a_missing_nullable_column_is_added_to_an_old_table(tmp_path) -> None:
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'old.duckdb'}")
    with engine.begin() as conn:  # mw_registry_event as modelwatch 0.1 created it
        conn.execute(sa.text(
            "CREATE TABLE mw_registry_event (event_id VARCHAR PRIMARY KEY, model_name VARCHAR NOT NULL, "
            "version VARCHAR NOT NULL, event VARCHAR NOT NULL, from_alias VARCHAR, to_alias VARCHAR, "
            "reason VARCHAR, event_at TIMESTAMP NOT NULL)"))
        conn.execute(sa.text("INSERT INTO mw_registry_event VALUES "
                             "('e1', 'm', 'v1', 'register', NULL, 'champion', 'old', '2026-01-01')"))
    create_output_tables(engine)
    create_output_tables(engine)  # idempotent
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT event_id, window_start FROM mw_registry_event")).all()
    assert [tuple(r) for r in rows] == [("e1", None)]
    engine.dispose()
