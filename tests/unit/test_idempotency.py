"""A rerun or backfill of a window replaces its rows and never duplicates alerts."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from modelwatch.alerts import alerts_from_metrics, record_alerts
from modelwatch.metrics import MetricRow, judge
from modelwatch.warehouse.tables import create_output_tables, mw_alert, mw_metric
from modelwatch.warehouse.writer import replace_metrics

W0, W1 = datetime(2026, 9, 20), datetime(2026, 9, 21)


@pytest.fixture
def engine(duck_url):
    engine = sa.create_engine(duck_url)
    create_output_tables(engine)
    yield engine
    engine.dispose()


def rows(psi_amount: float) -> list[MetricRow]:
    from modelwatch.config.schema import ConstantThreshold

    t = ConstantThreshold(warn=0.1, alert=0.25)
    return [judge("data", "psi", "amount", psi_amount, t),
            judge("data", "psi", "channel", 0.01, t),
            judge("model", "score_psi", "score", 0.3, t)]


def write(engine, cfg, metric_rows, run_id="run1"):
    with engine.begin() as conn:
        replace_metrics(conn, run_id=run_id, model_name=cfg.model.name, model_version="v1",
                        window_start=W0, window_end=W1, rows=metric_rows)
        return record_alerts(conn, cfg, W0, W1)


def count(engine, table, **where) -> int:
    query = sa.select(sa.func.count()).select_from(table)
    for key, value in where.items():
        query = query.where(table.c[key] == value)
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def test_rerun_replaces_metrics_and_updates_alerts(engine, demo_cfg) -> None:
    first = write(engine, demo_cfg, rows(0.5))
    again = write(engine, demo_cfg, rows(0.5), run_id="run1_retry")
    assert count(engine, mw_metric) == 3
    assert count(engine, mw_alert) == 2 == len(first) == len(again)
    assert {a.alert_id for a in first} == {a.alert_id for a in again}
    with engine.connect() as conn:
        run_ids = set(conn.execute(sa.select(mw_metric.c.run_id)).scalars())
    assert run_ids == {"run1_retry"}


def test_crossing_gone_on_rerun_resolves_its_alert(engine, demo_cfg) -> None:
    write(engine, demo_cfg, rows(0.5))
    write(engine, demo_cfg, rows(0.01))
    assert count(engine, mw_alert, status="open") == 1  # score_psi still crossing
    assert count(engine, mw_alert, status="resolved") == 1
    write(engine, demo_cfg, rows(0.5))
    assert count(engine, mw_alert, status="open") == 2
    assert count(engine, mw_alert) == 2


def test_duplicate_keys_in_one_write_are_refused(engine, demo_cfg) -> None:
    with pytest.raises(ValueError, match="duplicate metric keys"):
        write(engine, demo_cfg, rows(0.5) + rows(0.5)[:1])


def test_alerts_route_to_layer_owner_with_severity_policy(demo_cfg) -> None:
    metrics = [
        {"layer": "data", "check_name": "psi", "feature": "amount", "slice": "all",
         "status": "alert", "value": 0.5, "threshold": 0.25},
        {"layer": "model", "check_name": "score_psi", "feature": "score", "slice": "all",
         "status": "warn", "value": 0.15, "threshold": 0.25},
        {"layer": "model", "check_name": "score_psi", "feature": "score", "slice": "region=EU",
         "status": "warn", "value": 0.16, "threshold": 0.25},  # two slices agree: told
        {"layer": "outcome", "check_name": "auc_drop", "feature": None, "slice": "all",
         "status": "alert", "value": 0.1, "threshold": 0.05},
        {"layer": "data", "check_name": "psi", "feature": "channel", "slice": "all",
         "status": "ok", "value": 0.01, "threshold": 0.25},
    ]
    alerts = alerts_from_metrics(demo_cfg, metrics, W0, W1)
    got = {(a.channel, a.severity) for a in alerts}
    assert got == {("#fraud-data", "page"), ("#fraud-ml", "notify"),
                   ("#fraud-product", "notify")}  # outcome policy maps alert -> notify
    assert "0.5 (alert at 0.25)" in alerts[0].summary
