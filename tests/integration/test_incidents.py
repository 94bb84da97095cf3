"""Failed tasks and late runs page the infra owner through the alert path: routing, dedup, outbox.

The core half (``alerting.incidents``) against the fake Slack Web API server; the Airflow half in
``test_failure_callbacks_dag.py``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from modelwatch.alerting import SlackHook, deliver_alerts
from modelwatch.alerting.incidents import Incident, close_incident, error_line, page_incident, scrub
from modelwatch.runner import Window
from modelwatch.warehouse.engine import engine_for_url
from modelwatch.warehouse.tables import create_output_tables, mw_alert
from tests.fake_slack import FakeSlack

TOKEN = "xoxb-incident-secret-0001"
DAY0 = datetime(2026, 9, 20)
D = timedelta(days=1)
LOG = "http://localhost:8080/dags/monitor_fraud_demo/runs/r/tasks/window_checks?try_number=3"


def failure(day: int, *, task: str = "window_checks", try_number: int = 3,
            error: str = "OperationalError: could not connect to "
                         "postgresql://monitor:hunter2@db:5432/wh") -> Incident:
    return Incident(kind="task_failed", dag_id="monitor_fraud_demo",
                    run_id=f"scheduled__{(DAY0 + day * D).isoformat()}",
                    window_start=DAY0 + day * D, window_end=DAY0 + (day + 1) * D, task_id=task,
                    try_number=try_number, max_tries=3, error=error_line(error), log_url=LOG)


@pytest.fixture
def engine(duck_url):
    engine = engine_for_url(duck_url)
    create_output_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def slack():
    with FakeSlack(token=TOKEN) as server:
        yield server


@pytest.fixture
def hook(slack) -> SlackHook:
    return SlackHook(token=TOKEN, base_url=slack.base_url, backoff_factor=0.01, max_retries=1)


def rows(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(mw_alert).order_by(mw_alert.c.window_start)).mappings()]


def test_error_text_loses_its_credentials() -> None:
    assert scrub("postgresql://monitor:hunter2@db/wh") == "postgresql://monitor:***@db/wh"
    assert "xoxb" not in scrub("token xoxb-1234-abcd rejected")
    assert scrub("password=hunter2 host=db") == "password=*** host=db"
    assert error_line(ValueError("first line\nsecond line")) == "ValueError: first line"


def test_a_failed_task_pages_the_infra_owner_once_with_task_try_error_and_log(
        engine, demo_cfg, slack, hook) -> None:
    report = page_incident(engine, demo_cfg, failure(0), slack=hook)
    assert report.delivered == 1 and report.messages_sent == 1
    [post] = slack.posts()
    assert post["channel"] == "#platform-oncall"
    text = post["text"]
    assert "monitoring task failed: window_checks (try 3 of 3)" in text
    assert "OperationalError: could not connect" in text and "hunter2" not in text
    assert LOG in text
    assert "include/runbooks/run_failure.md" in text
    assert "PAGE" in text
    [row] = rows(engine)
    assert (row["layer"], row["owner"], row["severity"], row["status"]) == (
        "airflow", "platform", "page", "open")

    # the same failure again (a rerun of the window that fails the same way): updated, not re-sent
    again = page_incident(engine, demo_cfg, failure(0, try_number=3), slack=hook)
    assert again.delivered == 0 and len(slack.posts()) == 1
    assert len(rows(engine)) == 1

    # the same task failing the next day is the same incident: stored, not paged again
    page_incident(engine, demo_cfg, failure(1), slack=hook)
    assert len(slack.posts()) == 1
    assert [r["status"] for r in rows(engine)] == ["open", "open"]

    # a different task is a different cause: paged
    page_incident(engine, demo_cfg, failure(1, task="outcome"), slack=hook)
    assert len(slack.posts()) == 2
    assert "monitoring task failed: outcome" in slack.posts()[-1]["text"]


def test_metric_windows_do_not_resolve_an_incident_the_task_success_does(
        engine, demo_cfg, slack, hook) -> None:
    page_incident(engine, demo_cfg, failure(0), slack=hook)
    # the next window's alerting step has nothing about the task: the incident stays open
    deliver_alerts(engine, demo_cfg, Window(DAY0 + D, DAY0 + 2 * D), "r1", slack=hook)
    assert [r["status"] for r in rows(engine)] == ["open"]

    resolved = close_incident(engine, demo_cfg, failure(1), slack=hook)
    assert resolved is not None and resolved.delivered == 1
    assert [r["status"] for r in rows(engine)] == ["open", "resolved"]
    assert "RESOLVED" in slack.posts()[-1]["text"]
    assert slack.posts()[-1]["channel"] == "#platform-oncall"
    # nothing open any more: a success costs a read and sends nothing
    assert close_incident(engine, demo_cfg, failure(2), slack=hook) is None
    assert len(slack.posts()) == 2


def test_a_page_slack_did_not_take_is_delivered_by_the_next_run_once(
        engine, demo_cfg, slack, hook) -> None:
    slack.fail_next(10, status=500)
    first = page_incident(engine, demo_cfg, failure(0), slack=hook)
    assert first.failed == 1 and slack.posts() == []
    slack._failures.clear()
    later = deliver_alerts(engine, demo_cfg, Window(DAY0 + D, DAY0 + 2 * D), "r1", slack=hook)
    assert later.delivered == 1
    assert len([p for p in slack.posts() if "window_checks" in p["text"]]) == 1
    deliver_alerts(engine, demo_cfg, Window(DAY0 + D, DAY0 + 2 * D), "r1", slack=hook)
    assert len(slack.posts()) == 1


def test_a_missed_deadline_pages_through_the_triggerer_callback(
        engine, duck_url, slack, monkeypatch, tmp_path) -> None:
    from modelwatch.airflow.callbacks import deadline_missed
    from tests.conftest import DEMO_YAML

    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", duck_url)
    monkeypatch.setenv("MODELWATCH_SLACK_TOKEN", TOKEN)
    monkeypatch.setenv("MODELWATCH_SLACK_BASE_URL", slack.base_url)
    context = {  # what Airflow's scheduler hands the callback: the run as the REST API shows it
        "dag_run": {"dag_id": "monitor_fraud_demo", "dag_run_id": "scheduled__2026-09-21T00:00:00+00:00",
                    "data_interval_start": "2026-09-20T00:00:00Z",
                    "data_interval_end": "2026-09-21T00:00:00Z", "state": "running"},
        "deadline": {"id": "d1", "deadline_time": "2026-09-21T02:00:00+00:00"},
    }
    config = tmp_path / "fraud_demo.yaml"
    config.write_text(DEMO_YAML.read_text().replace("  catchup: false",
                                                    "  catchup: false\n  deadline: 90m"))
    asyncio.run(deadline_missed(config_path=str(config), context=context))
    [post] = slack.posts()
    assert post["channel"] == "#platform-oncall"
    assert "monitoring run late: not finished 1:30:00 after it was queued" in post["text"]
    [row] = rows(engine)
    assert row["window_start"] == DAY0 and row["status"] == "open"
    asyncio.run(deadline_missed(config_path=str(config), context=context))  # fired twice
    assert len(slack.posts()) == 1
