"""A user's table that does not match the config stops the step with one named error — table,
column, what was found, the key that fixes it — on DuckDB and on the real PostgreSQL server.
A dropped feature column is the exception: the window's other features are still monitored."""

from __future__ import annotations

import os
from datetime import datetime

import pytest
import sqlalchemy as sa

from modelwatch.config.schema import MonitorConfig
from modelwatch.errors import ContractError
from modelwatch.warehouse.contract import ensure_inputs, findings, type_family, usable_features
from modelwatch.warehouse.engine import engine_for_url
from modelwatch.window import Window

WINDOW = Window(datetime(2026, 3, 7), datetime(2026, 3, 8))


def _cfg(**columns) -> MonitorConfig:
    owner = {"team": "t", "slack_channel": "#t"}
    return MonitorConfig.model_validate({
        "model": {"name": "m", "task": "binary"},
        "owners": {layer: owner for layer in ("data", "model", "outcome", "infra")},
        "warehouse": {"url_env": "MODELWATCH_WAREHOUSE_URL"},
        "columns": {"prediction": None, **columns},
        "features": [{"name": "x", "kind": "numeric"}, {"name": "channel", "kind": "categorical"}],
        "schedule": {"start_date": "2026-03-06"},
        "reference": {"start": "2026-03-06T00:00:00", "end": "2026-03-07T00:00:00"},
    })


@pytest.fixture
def engine(input_engine):
    return input_engine


def _predictions(engine, *, score="DOUBLE PRECISION", event_ts="TIMESTAMP", x="DOUBLE PRECISION",
                 drop=()) -> None:
    cols = {"request_id": "VARCHAR", "event_ts": event_ts, "model_name": "VARCHAR",
            "model_version": "VARCHAR", "score": score, "x": x, "channel": "VARCHAR"}
    cols = {k: v for k, v in cols.items() if k not in drop}
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE predictions ("
                             + ", ".join(f"{k} {v}" for k, v in cols.items()) + ")"))
        values = {"request_id": "'r1'", "event_ts": "'2026-03-06 12:00:00'", "model_name": "'m'",
                  "model_version": "'v1'", "score": "'0.5'" if "CHAR" in score else "0.5",
                  "x": "'{}'" if x.upper() in ("JSON", "JSONB") else "1.0", "channel": "'web'"}
        conn.execute(sa.text(f"INSERT INTO predictions ({', '.join(cols)}) VALUES ("
                             + ", ".join(values[k] for k in cols) + ")"))


def _message(engine, cfg, keys=("predictions",)) -> str:
    with pytest.raises(ContractError) as caught:
        ensure_inputs(engine, cfg, keys)
    return str(caught.value)


def test_missing_table_names_the_key_and_the_fix(engine):
    message = _message(engine, _cfg())
    assert "predictions (tables.predictions): no such table or view" in message
    assert "point tables.predictions at the right table" in message


def test_missing_column_names_the_column_and_its_key(engine):
    _predictions(engine)
    message = _message(engine, _cfg(score=["Score"]))
    assert "predictions.Score (tables.predictions): no such column (columns.score)" in message
    assert "the table has 'score' (names are case-sensitive" in message


def test_text_score_is_refused_with_its_type(engine):
    _predictions(engine, score="VARCHAR")
    message = _message(engine, _cfg())
    assert "predictions.score" in message and "VARCHAR" in message
    assert "columns.score needs a number" in message and "cast it in a view" in message


def test_text_event_times_are_refused(engine):
    """Timestamps stored as text cannot be compared with a window: a named error, not a
    ConversionException halfway through the scan."""
    _predictions(engine, event_ts="VARCHAR")
    message = _message(engine, _cfg())
    assert "predictions.event_ts" in message and "columns.event_ts needs a TIMESTAMP" in message


def test_missing_labels_table_for_the_outcome_step(engine):
    _predictions(engine)
    message = _message(engine, _cfg(), keys=("predictions", "labels"))
    assert "labels (tables.labels): no such table or view" in message


def test_every_problem_is_reported_at_once(engine):
    _predictions(engine, score="VARCHAR", event_ts="VARCHAR")
    message = _message(engine, _cfg())
    assert "(and 1 more problem(s) with the input tables, below)" in message.splitlines()[0]
    assert len(message.splitlines()) == 2


def test_json_feature_is_dropped_from_the_window_and_reported(engine):
    """A feature the table cannot serve (JSON where a number is needed, or a dropped column)
    leaves the other features monitored; the window writes a skipped row saying why."""
    _predictions(engine, x="JSON" if engine.dialect.name == "duckdb" else "JSONB")
    cfg, dropped = usable_features(engine, _cfg())
    assert [f.name for f in cfg.features] == ["channel"]
    assert [(d.column, d.table_key) for d in dropped] == [("x", "predictions")]
    assert "features[x] needs a number" in str(dropped[0])


def test_a_dropped_feature_column_still_runs_the_window(engine):
    from modelwatch.runner import step_window_checks

    _predictions(engine)
    cfg = _cfg()
    from modelwatch.runner import step_profile

    step_profile(cfg)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE predictions DROP COLUMN channel"))
    rows = step_window_checks(cfg, Window(datetime(2026, 3, 6), datetime(2026, 3, 7)), "t")
    readable = [r for r in rows if r.check_name == "feature_readable"]
    assert [(r.feature, r.status) for r in readable] == [("channel", "skipped")]
    assert "no such column (features[channel])" in readable[0].details["message"]
    assert any(r.feature == "x" for r in rows if r.check_name != "feature_readable")


def test_permission_denied_names_the_table_and_the_grant(pg_url, monkeypatch):
    """PostgreSQL only: DuckDB has no privileges."""
    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", pg_url)
    engine = engine_for_url(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS predictions"))
    _predictions(engine)
    role = f"mw_reader_{os.getpid()}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(sa.text(f"GRANT CONNECT ON DATABASE {engine.url.database} TO {role}"))
    reader = sa.create_engine(engine.url.set(username=role, password=None))
    try:
        message = _message(reader, _cfg())
    finally:
        reader.dispose()
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {role}"))
            conn.execute(sa.text(f"DROP ROLE {role}"))
    assert "the warehouse refused to read it" in message and "GRANT SELECT" in message


def test_a_healthy_table_has_no_findings(engine):
    _predictions(engine, event_ts="TIMESTAMP WITH TIME ZONE", score="DECIMAL(10, 6)")
    with engine.connect() as conn:
        assert findings(conn, _cfg(), ("predictions",)) == []


@pytest.mark.parametrize("type_name, family", [
    ("TIMESTAMP WITH TIME ZONE", "time_aware"), ("TIMESTAMPTZ", "time_aware"),
    ("TIMESTAMP_NS", "time_naive"), ("TIMESTAMP WITHOUT TIME ZONE", "time_naive"),
    ("DATE", "date"), ("DECIMAL(18,3)", "numeric"), ("NUMERIC", "numeric"), ("REAL", "numeric"),
    ("BIGINT", "numeric"), ("BOOLEAN", "boolean"), ("ENUM('A', 'B')", "enum"),
    ("USER-DEFINED", "enum"), ("VARCHAR", "text"), ("TEXT", "text"), ("JSON", "nested"),
    ("JSONB", "nested"), ("DOUBLE[]", "nested"), ("FLOAT[8]", "nested"),
    ("STRUCT(a INTEGER)", "nested"),
])
def test_type_families(type_name, family):
    assert type_family(type_name) == family
