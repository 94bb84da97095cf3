"""One rule for time, whatever the column's type, on DuckDB and on the real PostgreSQL server.

The same instants are stored as naive UTC, as ``TIMESTAMP WITH TIME ZONE`` written by a session
at +05:30, and as the naive wall clock of America/New_York (``warehouse.timezone``). Windows are
UTC instants, including the two local DST days (a 23-hour and a 25-hour local day), so every
shape must put the same rows in the same window and read back the same naive-UTC newest time.
(A naive local value in the hour a fall-back repeats is ambiguous by nature: it is counted in
the window its wall clock falls in and read back as the first, daylight-time, occurrence; no
window here ends inside that hour.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from modelwatch.config.schema import MonitorConfig
from modelwatch.warehouse.engine import engine_for_url
from modelwatch.warehouse.source import (
    event_time,
    predictions_columns,
    read_time,
    utc_time,
    window_filter,
)
from modelwatch.window import Window

NEW_YORK = "America/New_York"
# Hourly events across both 2026 DST changes in New York (Mar 8 and Nov 1) plus a quiet week
INSTANTS = ([datetime(2026, 3, 6) + timedelta(hours=h) for h in range(24 * 5)]
            + [datetime(2026, 10, 30) + timedelta(minutes=30 + 60 * h) for h in range(24 * 5)])
WINDOWS = [
    Window(datetime(2026, 3, 8, 5), datetime(2026, 3, 9, 4)),      # New York's 23-hour day
    Window(datetime(2026, 11, 1, 4), datetime(2026, 11, 2, 5)),    # New York's 25-hour day
    Window(datetime(2026, 3, 7), datetime(2026, 3, 8)),            # a UTC day
    Window(datetime(2026, 10, 31, 12), datetime(2026, 11, 1, 5)),  # up to the change, odd hours
]


def _cfg(timezone: str | None, **warehouse) -> MonitorConfig:
    owner = {"team": "t", "slack_channel": "#t"}
    return MonitorConfig.model_validate({
        "model": {"name": "m", "task": "binary"},
        "owners": {layer: owner for layer in ("data", "model", "outcome", "infra")},
        "warehouse": {**({"timezone": timezone} if timezone else {}), **warehouse},
        "features": [{"name": "x", "kind": "numeric"}],
        "schedule": {"start_date": "2026-03-06"},
        "reference": {"start": "2026-03-06T00:00:00", "end": "2026-03-07T00:00:00"},
    })


def _create(conn, kind: str) -> None:
    dialect = conn.dialect.name
    ts_type = {"naive": "TIMESTAMP", "aware": "TIMESTAMP WITH TIME ZONE", "local": "TIMESTAMP"}[kind]
    conn.execute(sa.text("DROP TABLE IF EXISTS predictions"))
    conn.execute(sa.text(
        f"CREATE TABLE predictions (request_id VARCHAR, event_ts {ts_type}, model_name VARCHAR, "
        "model_version VARCHAR, score DOUBLE PRECISION, prediction INTEGER, x DOUBLE PRECISION)"))
    rows = []
    for i, instant in enumerate(INSTANTS):
        if kind == "naive":
            value = instant.isoformat(sep=" ")
        elif kind == "aware":  # written with a +05:30 offset, as an Indian producer would
            value = instant.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Kolkata")).isoformat(sep=" ")
        else:  # the wall clock of New York, no offset stored
            local = instant.replace(tzinfo=UTC).astimezone(ZoneInfo(NEW_YORK))
            value = local.replace(tzinfo=None).isoformat(sep=" ")
        rows.append({"rid": f"r{i}", "ts": value})
    cast = "CAST(:ts AS TIMESTAMP WITH TIME ZONE)" if kind == "aware" else "CAST(:ts AS TIMESTAMP)"
    if dialect == "duckdb" and kind == "aware":
        cast = "CAST(:ts AS TIMESTAMPTZ)"
    conn.execute(sa.text(f"INSERT INTO predictions VALUES (:rid, {cast}, 'm', 'v1', 0.5, 1, 1.0)"), rows)


def _expected(window: Window) -> tuple[int, datetime | None]:
    inside = [t for t in INSTANTS if window.start <= t < window.end]
    return len(inside), max(inside, default=None)


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse_url(request, tmp_path):
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'w.duckdb'}"
    return request.getfixturevalue("pg_url")


@pytest.mark.parametrize("kind", ["naive", "aware", "local"])
def test_every_time_kind_puts_the_same_rows_in_each_utc_window(warehouse_url, kind):
    cfg = _cfg(NEW_YORK if kind == "local" else None)
    engine = engine_for_url(warehouse_url, cfg.warehouse.timezone)
    with engine.begin() as conn:
        _create(conn, kind)
    tbl = predictions_columns(cfg)
    with engine.connect() as conn:
        for window in WINDOWS:
            n, newest = conn.execute(
                sa.select(sa.func.count(), sa.func.max(event_time(cfg, tbl)))
                .where(window_filter(cfg, tbl, window.start, window.end))).one()
            projected = conn.execute(
                sa.select(sa.func.max(utc_time(event_time(cfg, tbl))))
                .where(window_filter(cfg, tbl, window.start, window.end))).scalar()
            expected_n, expected_newest = _expected(window)
            assert (n, read_time(cfg, newest)) == (expected_n, expected_newest), (kind, window)
            assert projected == expected_newest, (kind, window)  # utc_time is naive UTC already
    # the DST days really are 23 and 25 hours of local time
    assert [_expected(w)[0] for w in WINDOWS[:2]] == [23, 25]


def test_a_timestamptz_predictions_table_runs_a_window(duck_url):
    """The reported crash: a timestamptz ``event_ts`` failed every window with
    ``TypeError: can't subtract offset-naive and offset-aware datetimes`` in freshness_lag."""
    import os

    from modelwatch.runner import step_window_checks

    os.environ["MODELWATCH_WAREHOUSE_URL"] = duck_url
    cfg = _cfg(None, url_env="MODELWATCH_WAREHOUSE_URL")
    engine = engine_for_url(duck_url)
    with engine.begin() as conn:
        _create(conn, "aware")
    try:
        rows = step_window_checks(cfg, Window(datetime(2026, 3, 7), datetime(2026, 3, 8)), "t")
    finally:
        os.environ.pop("MODELWATCH_WAREHOUSE_URL", None)
    by_check = {r.check_name: r for r in rows if r.feature is None and r.slice == "all"}
    assert by_check["freshness_lag_hours"].value == pytest.approx(1.0)  # newest event 23:00 UTC
    assert by_check["freshness_lag_hours"].details["latest_event_ts"] == "2026-03-07T23:00:00"
