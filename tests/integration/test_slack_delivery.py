"""Alert delivery end to end: metric rows in the warehouse → grouped alerts → the fake Slack server.

Windows are written with the same writer the checks use; ``deliver_alerts`` is then called as the
DAG calls it. Every assertion is on what Slack received (the fake records each request) and on
``mw_alert``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from modelwatch.alerting import SlackHook, deliver_alerts
from modelwatch.alerting.store import ack
from modelwatch.clock import utcnow
from modelwatch.config.schema import ConstantThreshold
from modelwatch.demo.slack_server import channel_id_of
from modelwatch.metrics import judge
from modelwatch.runner import Window
from modelwatch.warehouse.engine import engine_for_url
from modelwatch.warehouse.tables import create_output_tables, mw_alert
from modelwatch.warehouse.writer import replace_metrics
from tests.fake_slack import FakeSlack

TOKEN = "xoxb-integration-secret-4242"
DAY0 = datetime(2026, 9, 20)
D = timedelta(days=1)
T = ConstantThreshold(warn=0.1, alert=0.25)
METHODS = ("psi", "ks", "jensen_shannon", "wasserstein")
SLICES = ("all", "region=EU", "region=NA", "region=APAC", "region=LATAM", "customer_tier=gold",
          "customer_tier=standard", "customer_tier=platinum")
FEATURES = ("device_risk", "velocity_1h", "distance_from_home_km", "amount")


def window(day: int) -> Window:
    return Window(DAY0 + day * D, DAY0 + (day + 1) * D)


def run_id(day: int) -> str:
    return f"scheduled__{window(day).start.isoformat()}+00:00"


def metrics(drift: dict[str, float], score: float = 0.6) -> list:
    """Every method × slice of four features (drifting ones at ``drift[feature]``), the score's
    PSI and an outcome warning (``log`` for the demo's product owner: stored, never sent)."""
    rows = [replace(judge("data", m, f, drift.get(f, 0.01) + i / 1000, T), slice=s)
            for f in FEATURES for m in METHODS for i, s in enumerate(SLICES)]
    rows.append(judge("model", "score_psi", "score", score, T))
    rows.append(judge("outcome", "auc_drop", None, 0.2, ConstantThreshold(warn=0.1, alert=0.3)))
    return rows


DRIFT = {"device_risk": 0.4, "velocity_1h": 0.15}


class Stack:
    """A warehouse, a monitor config and (optionally) a hook on the fake server."""

    def __init__(self, engine: sa.Engine, cfg, slack: FakeSlack | None, **hook_args):
        self.engine, self.cfg, self.slack = engine, cfg, slack
        self.hook = (SlackHook(token=TOKEN, base_url=slack.base_url, backoff_factor=0.01,
                               **hook_args) if slack else None)

    def day(self, day: int, rows: list, *, rerun: bool = False, **kw):
        rid = f"manual__{window(day).start.isoformat()}" if rerun else run_id(day)
        with self.engine.begin() as conn:
            replace_metrics(conn, run_id=rid, model_name=self.cfg.model.name, model_version="v1",
                            window_start=window(day).start, window_end=window(day).end, rows=rows)
        kw.setdefault("slack", self.hook)
        return deliver_alerts(self.engine, self.cfg, window(day), rid, **kw)

    def alerts(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(
                sa.select(mw_alert).where(mw_alert.c.model_name == self.cfg.model.name)
                .order_by(mw_alert.c.window_start, mw_alert.c.title)).mappings()]


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
def stack(engine, demo_cfg, slack) -> Stack:
    return Stack(engine, demo_cfg, slack)


def texts(slack: FakeSlack) -> list[str]:
    return [p["text"] for p in slack.posts()]


def test_hundreds_of_crossings_become_one_message_per_owner(stack, slack) -> None:
    report = stack.day(0, metrics(DRIFT))
    posts = slack.posts()
    assert [p["channel"] for p in posts] == ["#fraud-data", "#fraud-ml"]
    data, model = (p["text"] for p in posts)
    assert data.startswith(":rotating_light: fraud_demo · data-eng: 2 new · window 2026-09-20 UTC")
    assert "NEW · PAGE · feature drift: device_risk (4 methods, 8 slices)" in data
    assert "NEW · NOTIFY · feature drift: velocity_1h (4 methods, 8 slices)" in data
    assert "runbook: include/runbooks/feature_drift.md" in data
    assert ("http://localhost:8080/dags/monitor_fraud_demo/runs/"
            "scheduled__2026-09-20T00%3A00%3A00%2B00%3A00") in data
    assert "NEW · PAGE · score drift: score (1 method, 1 slice)" in model
    assert posts[0]["blocks"][0]["type"] == "header"
    # 66 crossings -> 4 causes; the outcome warning is `log` for its owner: stored, not sent
    assert (report.open_groups, report.due, report.delivered, report.messages_sent) == (4, 3, 3, 2)
    rows = stack.alerts()
    assert [(r["severity"], r["delivered_at"] is not None) for r in rows] == [
        ("page", True), ("notify", True), ("log", False), ("page", True)]
    assert {r["delivery_attempts"] for r in rows if r["severity"] != "log"} == {1}


def test_the_data_owners_message_links_the_windows_data_docs(stack, slack, monkeypatch) -> None:
    from modelwatch.paths import modelwatch_home

    index = modelwatch_home() / "artifacts" / "data_docs" / "fraud_demo" / "w" / "index.html"
    docs = judge("data", "expect_column_values_to_not_be_null", "amount", 0.0, None,
                 {"data_docs": {"local": index.as_uri()}})
    stack.day(0, [*metrics(DRIFT), docs])
    data, model = texts(slack)
    assert ("GX Data Docs: http://localhost:8080/modelwatch/dags/monitor_fraud_demo/artifacts/"
            "data_docs/fraud_demo/w/index.html") in data
    assert "Data Docs" not in model


def test_reruns_and_a_persisting_cause_send_nothing_twice_then_it_resolves(stack, slack) -> None:
    stack.day(0, metrics(DRIFT))
    again = stack.day(0, metrics(DRIFT), rerun=True)
    persists = stack.day(1, metrics({"device_risk": 0.5, "velocity_1h": 0.16}))
    assert len(slack.posts()) == 2
    assert (again.due, again.delivered, persists.due, persists.covered) == (0, 0, 0, 3)

    gone = stack.day(2, metrics({"velocity_1h": 0.16}))
    stack.day(2, metrics({"velocity_1h": 0.16}), rerun=True)
    assert (gone.resolved, gone.delivered) == (1, 1)
    assert len(slack.posts()) == 3
    resolution = slack.posts()[-1]["text"]
    assert ":white_check_mark: RESOLVED · feature drift: device_risk (4 methods, 8 slices)" in resolution
    assert "Back within thresholds in window 2026-09-22 (was open since 2026-09-20, 2 windows)" in resolution
    assert "Still open, not repeated: feature drift: velocity_1h" in resolution
    statuses = [(r["window_start"].day, r["status"]) for r in stack.alerts()
                if r["title"].startswith("feature drift: device_risk")]
    assert statuses == [(20, "open"), (21, "open"), (22, "resolved")]


def test_a_rerun_that_clears_a_cause_resolves_it_and_one_that_brings_it_back_reopens(stack, slack):
    stack.day(0, metrics(DRIFT))
    stack.day(0, metrics({"velocity_1h": 0.15}), rerun=True)
    stack.day(0, metrics(DRIFT), rerun=True)
    resolved, reopened = texts(slack)[2:]
    assert "RESOLVED · feature drift: device_risk" in resolved
    assert "REOPENED · PAGE · feature drift: device_risk (4 methods, 8 slices) (reopened)" in reopened
    assert len(slack.posts()) == 4


def test_an_escalation_is_sent_and_a_reminder_follows_the_cooldown_unless_acked(stack, slack) -> None:
    stack.day(0, metrics(DRIFT))
    stack.day(1, metrics({"device_risk": 0.4, "velocity_1h": 0.3}))
    assert "ESCALATED · PAGE · feature drift: velocity_1h" in texts(slack)[-1]
    assert len(slack.posts()) == 3
    device = next(r for r in stack.alerts() if r["title"].startswith("feature drift: device_risk"))
    with stack.engine.begin() as conn:
        ack(conn, device["alert_id"][:12], by="ana", note="known campaign, ends 10-01")
    later = utcnow() + timedelta(days=8)
    stack.day(2, metrics({"device_risk": 0.4, "velocity_1h": 0.3}), now=later)
    assert [p["channel"] for p in slack.posts()[3:]] == ["#fraud-data", "#fraud-ml"]
    reminder = texts(slack)[3]
    assert "STILL OPEN · PAGE · feature drift: velocity_1h" in reminder
    assert "feature drift: device_risk" not in reminder.split("Still open, not repeated")[0]
    assert "feature drift: device_risk (4 methods, 8 slices) (acked by ana)" in reminder


def test_the_reminder_cooldown_comes_from_the_monitor_config(engine, demo_cfg, slack) -> None:
    cfg = demo_cfg.model_copy(update={"alerting": demo_cfg.alerting.model_copy(
        update={"reminder_after": timedelta(days=2)})})
    stack = Stack(engine, cfg, slack)
    stack.day(0, metrics(DRIFT))
    sent = len(slack.posts())
    stack.day(1, metrics(DRIFT), now=utcnow() + timedelta(days=1))
    assert len(slack.posts()) == sent, "inside reminder_after: updated in place, not re-sent"
    stack.day(2, metrics(DRIFT), now=utcnow() + timedelta(days=3))
    reminders = texts(slack)[sent:]
    assert reminders and all("STILL OPEN" in text for text in reminders)


def test_outbox_redelivers_after_an_outage_exactly_once(engine, demo_cfg, slack) -> None:
    stack = Stack(engine, demo_cfg, slack, max_retries=2)
    slack.fail_next(6)  # 2 messages x (1 try + 2 retries)
    down = stack.day(0, metrics(DRIFT))
    assert (down.due, down.delivered, down.failed, down.pending) == (3, 0, 3, 3)
    assert "HTTP 500" in down.errors[0]
    assert slack.posts() == [] and len(slack.calls()) == 6
    rows = [r for r in stack.alerts() if r["severity"] != "log"]
    assert [(r["delivered_at"], r["delivery_attempts"]) for r in rows] == [(None, 1)] * 3

    back = stack.day(1, metrics(DRIFT))
    assert (back.due, back.delivered, back.failed) == (3, 3, 0)
    data, model = texts(slack)
    assert data.count("feature drift: device_risk") == 1 and model.count("score drift") == 1
    assert "NEW · PAGE · feature drift: device_risk (4 methods, 8 slices)" in data
    assert "Window 2026-09-21, open since 2026-09-20" in data
    assert all(r["delivered_at"] is not None for r in stack.alerts() if r["severity"] != "log")
    stack.day(1, metrics(DRIFT), rerun=True)
    stack.day(2, metrics(DRIFT))
    assert len(slack.posts()) == 2


def test_rate_limit_waits_for_retry_after(stack, slack) -> None:
    slack.rate_limit_next(1, retry_after=1)
    report = stack.day(0, metrics(DRIFT))
    assert report.delivered == 3
    calls = slack.calls("chat.postMessage")
    assert [c.status for c in calls] == [429, 200, 200]
    assert calls[1].at - calls[0].at >= 1.0
    assert calls[1].body == calls[0].body  # the same message, sent once it was allowed


def test_the_token_is_never_logged(engine, demo_cfg, slack, monkeypatch, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MODELWATCH_SLACK_TOKEN", TOKEN)
    monkeypatch.setenv("MODELWATCH_SLACK_BASE_URL", slack.base_url)
    stack = Stack(engine, demo_cfg, None)
    slack.fail_next(1)
    ok = stack.day(0, metrics(DRIFT), slack=None)
    wrong = "xoxb-wrong-secret-9999"
    monkeypatch.setenv("MODELWATCH_SLACK_TOKEN", wrong)
    refused = stack.day(1, metrics({"device_risk": 0.4, "velocity_1h": 0.3}), slack=None)
    assert ok.delivered == 3 and ok.slack == "env MODELWATCH_SLACK_TOKEN"
    assert refused.failed == 1 and "invalid_auth" in refused.errors[0]
    assert "Sending a request" in caplog.text  # slack-sdk's debug log of each request was captured
    assert "Alert message for data-eng" in caplog.text
    for secret in (TOKEN, wrong):
        assert secret not in caplog.text
        assert secret not in str(ok.to_json()) + str(refused.to_json())


def test_without_slack_alerts_are_logged_and_stored_then_delivered_once_configured(
        engine, demo_cfg, slack, monkeypatch, caplog) -> None:
    caplog.set_level(logging.INFO)
    for name in ("MODELWATCH_SLACK_TOKEN", "MODELWATCH_SLACK_BASE_URL",
                 "AIRFLOW_CONN_SLACK_API_DEFAULT"):
        monkeypatch.delenv(name, raising=False)
    stack = Stack(engine, demo_cfg, None)
    report = stack.day(0, metrics(DRIFT), slack=None)
    assert (report.slack, report.due, report.pending, report.delivered) == ("not configured", 3, 3, 0)
    assert "NEW · PAGE · feature drift: device_risk (4 methods, 8 slices)" in caplog.text
    assert "Slack is not configured" in caplog.text
    assert all(r["delivered_at"] is None and r["delivery_attempts"] == 0 for r in stack.alerts())
    assert slack.calls() == []

    monkeypatch.setenv("MODELWATCH_SLACK_TOKEN", TOKEN)
    monkeypatch.setenv("MODELWATCH_SLACK_BASE_URL", slack.base_url)
    later = stack.day(1, metrics(DRIFT), slack=None)
    assert later.delivered == 3 and len(slack.posts()) == 2
    stack.day(1, metrics(DRIFT), slack=None, rerun=True)
    assert len(slack.posts()) == 2


@pytest.mark.postgres
def test_outbox_on_postgres(pg_url, demo_cfg, slack) -> None:
    cfg = demo_cfg.model_copy(update={"model": demo_cfg.model.model_copy(
        update={"name": "alerting_pg_test"})})
    engine = engine_for_url(pg_url)
    create_output_tables(engine)
    with engine.begin() as conn:
        conn.execute(sa.delete(mw_alert).where(mw_alert.c.model_name == cfg.model.name))
    stack = Stack(engine, cfg, slack, max_retries=1)
    slack.fail_next(4)
    assert stack.day(0, metrics(DRIFT)).failed == 3
    retried = stack.day(0, metrics(DRIFT), rerun=True)  # Airflow's retry of the same window
    assert (retried.delivered, len(slack.posts())) == (3, 2)
    assert stack.day(1, metrics({"velocity_1h": 0.15})).delivered == 1
    stack.day(1, metrics({"velocity_1h": 0.15}), rerun=True)
    posts = texts(slack)
    assert len(posts) == 3 and "RESOLVED · feature drift: device_risk" in posts[-1]
    attempts = {(r["window_start"].day, r["title"][:28]): (r["delivery_attempts"],
                                                             r["delivered_at"] is not None)
                for r in stack.alerts() if r["severity"] != "log"}
    assert attempts[(20, "feature drift: device_risk (")] == (2, True)


def test_a_persisting_cause_edits_its_announcement_instead_of_repeating_it(stack, slack) -> None:
    stack.day(0, metrics(DRIFT))
    first = slack.posts()
    assert len(first) == 2
    data_post = next(r for r in slack.calls("chat.postMessage") if r.body["channel"] == "#fraud-data")

    stack.day(1, metrics(DRIFT))  # the same causes: nothing new to send, the messages are edited
    assert slack.posts() == first
    edits = slack.calls("chat.update")
    assert len(edits) == 2
    data_edit = next(e for e in edits if "device_risk" in e.body["text"])
    assert "still open in window 2026-09-21 (2 windows" in data_edit.body["text"]
    assert data_edit.body["text"].startswith(data_post.body["text"])  # the original, kept
    assert data_edit.body["channel"] == channel_id_of("#fraud-data") and data_edit.body["ts"]

    stack.day(1, metrics(DRIFT), rerun=True)  # a rerun of the window: the same edit, not resent
    assert len(slack.calls("chat.update")) == 2

    stack.day(2, metrics({}, score=0.01))  # healthy again: a resolution, and the edit says so
    resolved = [p for p in slack.posts() if "RESOLVED" in p["text"]]
    assert resolved
    last_edits = slack.calls("chat.update")[2:]
    assert any("resolved in window 2026-09-22" in e.body["text"] for e in last_edits)
    assert all(TOKEN not in e.body["text"] for e in slack.calls("chat.update"))
