"""The weekly alert review: episodes, ack and action rates per rule and owner, recalibration
suggestions, posted once per owner and week — from alerts made by the real alert path.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from modelwatch.alerting import SlackHook, deliver_alerts
from modelwatch.alerting.review import run_review
from modelwatch.alerting.store import ack, list_alerts
from modelwatch.config.schema import ConstantThreshold
from modelwatch.metrics import judge
from modelwatch.runner import Window
from modelwatch.warehouse.engine import engine_for_url
from modelwatch.warehouse.tables import create_output_tables, mw_alert_review, mw_decision
from modelwatch.warehouse.writer import replace_metrics
from tests.fake_slack import FakeSlack

TOKEN = "xoxb-review-secret-0003"
MONDAY = datetime(2026, 9, 14)
D = timedelta(days=1)
T = ConstantThreshold(warn=0.1, alert=0.25)


def window(day: int) -> Window:
    return Window(MONDAY + day * D, MONDAY + (day + 1) * D)


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


def seed_week(engine, cfg) -> None:
    """device_risk drift flaps (three episodes nobody acts on); score drift on days 0–1 is
    followed by a retrain on day 1; a pipeline-quality alert on day 5 is acked with a note."""
    for day in range(7):
        rows = []
        if day in (2, 4, 6):
            rows.append(judge("data", "psi", "device_risk", 0.6, T))  # large: told at once
        if day in (0, 1):
            rows.append(judge("model", "score_psi", "score", 0.6, T))
        if day == 5:
            rows.append(judge("data", "null_rate_increase", "amount", 0.3, T))
        with engine.begin() as conn:
            replace_metrics(conn, run_id=f"r{day}", model_name=cfg.model.name, model_version="v1",
                            window_start=window(day).start, window_end=window(day).end, rows=rows)
        deliver_alerts(engine, cfg, window(day), f"r{day}")  # no Slack: stored and logged
    with engine.begin() as conn:
        conn.execute(sa.insert(mw_decision).values(
            run_id="r1", model_name=cfg.model.name, window_start=window(1).start,
            window_end=window(1).end, decision="retrain", rule="retrain_on_sustained_drift",
            signals={}, decided_at=MONDAY))
        quality = next(a for a in list_alerts(conn, model=cfg.model.name, every_window=True)
                       if a.title.startswith("data quality"))
        ack(conn, quality.alert_id, by="ana", note="upstream null fix deployed")


def test_review_counts_episodes_and_suggests_recalibrating_the_ignored_rule(
        engine, demo_cfg, slack) -> None:
    seed_week(engine, demo_cfg)
    hook = SlackHook(token=TOKEN, base_url=slack.base_url, backoff_factor=0.01)
    report = run_review(engine, demo_cfg, MONDAY, MONDAY + 7 * D, slack=hook)

    by_rule = {(r.family, r.owner): r for r in report.rows}
    drift = by_rule[("feature_drift", "data-eng")]
    assert (drift.alerts, drift.acked, drift.actioned) == (3, 0, 0)
    assert drift.suggestion and "calibrated" in drift.suggestion and "0 of 3" in drift.suggestion
    score = by_rule[("score_drift", "ml-eng")]
    assert (score.alerts, score.actioned, score.suggestion) == (1, 1, None)  # the retrain
    quality = by_rule[("data_quality", "data-eng")]
    assert (quality.alerts, quality.acked, quality.actioned) == (1, 1, 1)  # ack with a note

    posts = {p["channel"]: p["text"] for p in slack.posts()}
    assert set(posts) == {"#fraud-data", "#fraud-ml"}
    assert "feature drift: 3 alert(s), 0 acked (0%), 0 acted on (0%)" in posts["#fraud-data"]
    assert "recalibrate" in posts["#fraud-data"]
    assert "nothing to recalibrate" in posts["#fraud-ml"]

    with engine.connect() as conn:
        stored = conn.execute(sa.select(mw_alert_review)).mappings().all()
    assert len(stored) == len(report.rows) and all(r["posted_at"] for r in stored)

    again = run_review(engine, demo_cfg, MONDAY, MONDAY + 7 * D, slack=hook)  # a rerun
    assert again.posted == 0 and len(slack.posts()) == 2
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(mw_alert_review)).scalar() == \
            len(report.rows)


def test_the_weekly_review_dag_reviews_every_monitor(engine, duck_url, demo_cfg, slack,
                                                     airflow_db, monkeypatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import PROJECT

    seed_week(engine, demo_cfg)
    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", duck_url)
    monkeypatch.setenv("MODELWATCH_SLACK_TOKEN", TOKEN)
    monkeypatch.setenv("MODELWATCH_SLACK_BASE_URL", slack.base_url)
    bag = DagBag(dag_folder=str(PROJECT / "dags"))
    dag = bag.dags["modelwatch_alert_review"]
    run = dag.test(logical_date=(MONDAY + 7 * D).replace(hour=6, tzinfo=UTC))
    assert str(run.state).endswith("success")
    texts = [p["text"] for p in slack.posts()]
    assert any("Weekly alert review · fraud_demo · data-eng · 2026-09-14 – 2026-09-20" in t
               for t in texts), texts
