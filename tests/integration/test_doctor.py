"""``modelwatch doctor CONFIG`` on DuckDB and on the real PostgreSQL server: a healthy set of
tables is all ok (exit 0); a missing table, a missing column, a text score, a JSON feature or an
empty reference window is an error naming table, column and fix (exit 2); a timestamptz event
time is fine and reported as aware; duplicate request ids and empty windows are warnings."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import yaml

from modelwatch.cli import EXIT_CONFIG, EXIT_OK, main
from modelwatch.config.loader import load_monitor
from modelwatch.doctor import diagnose
from modelwatch.warehouse.engine import engine_for_url
from tests.conftest import DEMO_YAML

DAY = datetime(2026, 3, 6)  # reference day; DAY + 1 is the newest window


def _config(tmp_path, **overrides) -> str:
    owner = {"team": "t", "slack_channel": "#t"}
    raw = {
        "model": {"name": "m", "task": "binary"},
        "owners": {layer: owner for layer in ("data", "model", "outcome", "infra")},
        "warehouse": {"url_env": "MODELWATCH_WAREHOUSE_URL"},
        "columns": {"prediction": None},
        "features": [{"name": "x", "kind": "numeric"}, {"name": "channel", "kind": "categorical"}],
        "schedule": {"start_date": "2026-03-01"},
        "reference": {"start": "2026-03-06T00:00:00", "end": "2026-03-07T00:00:00"},
        "shadow": {"enabled": False},
        "data_layer": {"skew": {"enabled": False}, "offline_freshness": {"enabled": False}},
    }
    for key, value in overrides.items():
        raw[key] = {**raw[key], **value} if isinstance(value, dict) else value
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


@pytest.fixture
def engine(input_engine):
    return input_engine


def _tables(engine, *, score="DOUBLE PRECISION", event_ts="TIMESTAMP", x="DOUBLE PRECISION",
            drop=(), labels=True, duplicate=False, rows_per_day=4, days=(0, 1)) -> None:
    """Predictions of model m on the reference day and the day after (plus one of another model),
    and a label for every reference-day prediction."""
    cols = {"request_id": "VARCHAR(20)", "event_ts": event_ts, "model_name": "VARCHAR(20)",
            "model_version": "VARCHAR(20)", "score": score, "x": x, "channel": "VARCHAR(20)"}
    cols = {k: v for k, v in cols.items() if k not in drop}
    rows = [(f"r{d}{i}", DAY + timedelta(days=d, hours=3 * i), "m")
            for d in days for i in range(rows_per_day)]
    rows.append(("other", DAY, "other_model"))
    if duplicate:
        rows.append(rows[-2])
    json_x = x.upper() in ("JSON", "JSONB")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE predictions ("
                             + ", ".join(f"{k} {v}" for k, v in cols.items()) + ")"))
        for rid, ts, model in rows:
            values = {"request_id": f"'{rid}'", "event_ts": f"'{ts.isoformat(sep=' ')}'",
                      "model_name": f"'{model}'", "model_version": "'v1'",
                      "score": "'0.5'" if "CHAR" in score else "0.5",
                      "x": """'{"a": 1}'""" if json_x else "1.0", "channel": "'web'"}
            conn.execute(sa.text(f"INSERT INTO predictions ({', '.join(cols)}) VALUES ("
                                 + ", ".join(values[k] for k in cols) + ")"))
        if labels:
            conn.execute(sa.text("CREATE TABLE labels (request_id VARCHAR(20), label INTEGER, "
                                 "label_ts TIMESTAMP)"))
            for rid, ts, _model in rows[:rows_per_day]:
                conn.execute(sa.text(f"INSERT INTO labels VALUES ('{rid}', 1, "
                                     f"'{(ts + timedelta(days=2)).isoformat(sep=' ')}')"))


def _doctor(capsys, config: str) -> tuple[int, dict]:
    code = main(["doctor", config, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def _by_check(report: dict, check: str, column: str | None = None) -> list[dict]:
    return [c for c in report["checks"] if c["check"] == check
            and (column is None or c["column"] == column)]


def test_healthy_tables_are_all_ok(engine, tmp_path, capsys):
    _tables(engine)
    code, report = _doctor(capsys, _config(tmp_path))
    assert code == EXIT_OK
    assert {c["status"] for c in report["checks"]} == {"ok"}, report
    assert report["errors"] == report["warnings"] == 0
    (ref,) = _by_check(report, "reference rows")
    assert ref["found"].startswith("4 rows in [2026-03-06 00:00, 2026-03-07 00:00)")
    (newest,) = _by_check(report, "newest event")
    assert newest["found"] == "2026-03-07 09:00 UTC"
    # the last 7 windows, without those before the model's first event (not gaps)
    windows = [w["found"] for w in _by_check(report, "window rows")]
    assert windows == ["2026-03-06 00:00 – 2026-03-07 00:00: 4 rows",
                       "2026-03-07 00:00 – 2026-03-08 00:00: 4 rows (holds the newest event: "
                       "may be partial)"]
    (coverage,) = _by_check(report, "label coverage")
    assert coverage["found"].startswith("100.0% of 4 predictions in the reference window")
    (event,) = _by_check(report, "columns.event_ts")
    assert "naive, read as UTC" in event["found"]
    (dup,) = _by_check(report, "duplicate ids")
    assert dup["found"].startswith("none in the newest window")


def test_text_table_output(engine, tmp_path, capsys):
    _tables(engine)
    assert main(["doctor", _config(tmp_path)]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["check", "table", "column", "found", "status", "fix"]
    assert lines[-1].startswith("m: ") and "0 error(s), 0 warning(s): ready for a first run" \
        in lines[-1]


def test_missing_labels_table(engine, tmp_path, capsys):
    _tables(engine, labels=False)
    code, report = _doctor(capsys, _config(tmp_path))
    assert code == EXIT_CONFIG
    (labels,) = _by_check(report, "tables.labels")
    assert (labels["table"], labels["found"], labels["status"]) == (
        "labels", "no such table or view", "error")
    assert "point tables.labels at the right table" in labels["fix"]
    assert report["errors"] == 1  # no cascade: coverage is not attempted
    assert not _by_check(report, "label coverage")


def test_missing_column(engine, tmp_path, capsys):
    _tables(engine, drop=("channel",))
    code, report = _doctor(capsys, _config(tmp_path))
    assert code == EXIT_CONFIG
    (col,) = [c for c in report["checks"] if c["status"] == "error"]
    assert (col["check"], col["table"], col["column"], col["found"]) == (
        "features[channel]", "predictions", "channel", "missing")
    assert "set features[channel] to the column that holds it" in col["fix"]


def test_case_mismatch_names_the_real_column(engine, tmp_path, capsys):
    _tables(engine)
    code, report = _doctor(capsys, _config(tmp_path, columns={"prediction": None,
                                                               "score": ["Score"]}))
    assert code == EXIT_CONFIG
    (col,) = _by_check(report, "columns.score")
    assert col["found"] == "missing" and "the table has 'score'" in col["fix"]


def test_text_score(engine, tmp_path, capsys):
    _tables(engine, score="VARCHAR(10)")
    code, report = _doctor(capsys, _config(tmp_path))
    assert code == EXIT_CONFIG
    (col,) = _by_check(report, "columns.score")
    assert col["status"] == "error" and col["column"] == "score"
    assert col["found"].startswith("VARCHAR") and "needs a number" in col["found"]
    assert "cast it in a view" in col["fix"]


def test_json_feature(engine, tmp_path, capsys):
    json_type = "JSON" if engine.dialect.name == "duckdb" else "JSONB"
    _tables(engine, x=json_type)
    code, report = _doctor(capsys, _config(tmp_path))
    assert code == EXIT_CONFIG
    (col,) = [c for c in report["checks"] if c["status"] == "error"]
    assert (col["check"], col["column"]) == ("features[x]", "x")
    assert col["found"].startswith(json_type) and "needs a number" in col["found"]
    assert "a scalar is needed: extract it in a view" in col["fix"]


def test_timestamptz_event_time_is_ok_and_aware(engine, tmp_path, capsys):
    _tables(engine, event_ts="TIMESTAMP WITH TIME ZONE")
    code, report = _doctor(capsys, _config(tmp_path))
    assert code == EXIT_OK, report
    (event,) = _by_check(report, "columns.event_ts")
    assert event["status"] == "ok" and "aware" in event["found"]
    assert {c["status"] for c in report["checks"]} == {"ok"}


def test_naive_times_in_a_local_wall_clock(engine, tmp_path, capsys):
    _tables(engine)
    code, report = _doctor(capsys, _config(tmp_path, warehouse={"timezone": "Europe/Berlin"}))
    assert code == EXIT_OK
    (event,) = _by_check(report, "columns.event_ts")
    assert "naive, read as Europe/Berlin wall clock (warehouse.timezone)" in event["found"]


def test_empty_reference_window_is_an_error(engine, tmp_path, capsys):
    _tables(engine)
    code, report = _doctor(capsys, _config(tmp_path, reference={
        "start": "2026-01-01T00:00:00", "end": "2026-01-02T00:00:00"}))
    assert code == EXIT_CONFIG
    (ref,) = _by_check(report, "reference rows")
    assert ref["status"] == "error" and ref["found"].startswith("0 rows of 'm'")
    assert "newest event of the predictions table is 2026-03-07 09:00" in ref["fix"]


def test_duplicates_and_gaps_are_warnings(engine, tmp_path, capsys):
    _tables(engine, duplicate=True, days=(0, 2))  # nothing on 03-07
    code, report = _doctor(capsys, _config(tmp_path))
    assert code == EXIT_OK
    (dup,) = _by_check(report, "duplicate ids")
    assert dup["status"] == "warn" and dup["found"].startswith(
        "1 request_id values occur more than once (2 rows) in the newest window [2026-03-08 00:00")
    assert [(w["found"][:16], w["status"]) for w in _by_check(report, "window rows")] == [
        ("2026-03-06 00:00", "ok"), ("2026-03-07 00:00", "warn"), ("2026-03-08 00:00", "ok")]
    assert report["warnings"] == 2 and report["errors"] == 0


def test_wrong_model_name(engine, tmp_path, capsys):
    _tables(engine)
    code, report = _doctor(capsys, _config(tmp_path, model={"name": "nope"}))
    assert code == EXIT_CONFIG
    (newest,) = _by_check(report, "newest event")
    assert newest["status"] == "error" and "'m'" in newest["found"] and "'other_model'" in \
        newest["found"]


def test_the_seeded_demo_is_healthy(duck_url, monkeypatch):
    """All five input tables of the demo (timestamptz predictions, naive shadow log and offline
    store, a DATE KPI day): every check ok."""
    from modelwatch.demo import scenario

    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", duck_url)
    engine = engine_for_url(duck_url)
    scenario.seed_warehouse(engine, scenario.generate(rows_per_day=100, days=16))
    report = diagnose(engine, load_monitor(DEMO_YAML))
    assert [c for c in report.checks if c.status != "ok"] == []
    tables = {c.table for c in report.checks if c.check.startswith("tables.")}
    assert tables == {"predictions", "labels", "shadow_predictions", "offline_features", "kpis"}
    (kpi_ts,) = [c for c in report.checks if c.check == "outcome.kpi_ts"]
    assert kpi_ts.found == "DATE (a date, read as midnight UTC)"
    engine.dispose()
