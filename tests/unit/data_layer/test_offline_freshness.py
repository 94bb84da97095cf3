"""Freshness of the offline feature store at the window's end, against its SLA."""

from __future__ import annotations

import sqlalchemy as sa

from modelwatch.data_layer import run_data_layer
from tests.unit.data_layer.tiny import (
    AS_OF,
    WINDOW,
    metric,
    offline_of,
    reference_frame,
    rows,
    seed,
    tiny_cfg,
)

CHECK = "offline_freshness_hours"


def run(engine, profile, **cfg):
    return run_data_layer(engine, tiny_cfg(**cfg), profile, WINDOW, "fresh", as_of=AS_OF)


def test_fresh_store_is_ok_and_measured_at_the_window_end(duck) -> None:
    row = metric(run(duck, seed(duck)), CHECK)
    # rows every 24 min, computed 1 h after the event: 22:48 + 1 h = 23:48 is the newest before
    # 01-13 00:00 (23:12 + 1 h is already past the window end, so it does not count)
    assert round(row.value, 6) == 0.2 and row.status == "ok"
    assert row.details["newest"] == "2026-01-12T23:48:00"


def test_a_stale_store_warns_then_alerts_against_its_sla(duck) -> None:
    window = rows(8, 60)
    reference = reference_frame()
    stale = offline_of(reference[reference["event_ts"] < "2026-01-11"])  # nothing after day 6
    profile = seed(duck, window, stale)
    row = metric(run(duck, profile), CHECK)
    # newest: day 6 (01-10) 23:36 + 1 h = 01-11 00:36 -> 47.4 h before 01-13 00:00
    assert round(row.value, 6) == 47.4 and row.status == "warn"
    strict = {"defaults": {CHECK: {"type": "constant", "warn": 6, "alert": 12}}}
    assert metric(run(duck, profile, thresholds=strict), CHECK).status == "alert"


def test_missing_table_or_column_is_named(duck) -> None:
    profile = seed(duck)
    with duck.begin() as conn:
        conn.execute(sa.text("ALTER TABLE offline_features DROP COLUMN computed_ts"))
    row = metric(run(duck, profile), CHECK)
    assert (row.status, row.details["condition"]) == ("skipped", "missing_offline_column")
    assert "timestamp_column" in row.details["message"]
    with duck.begin() as conn:
        conn.execute(sa.text("DROP TABLE offline_features"))
    assert metric(run(duck, profile), CHECK).details["condition"] == "missing_offline_table"
