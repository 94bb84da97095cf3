"""Through Airflow: a task that fails for good pages the infra owner from its failure callback; the
rerun that succeeds resolves it. Real ``dag.test`` runs of the factory's DAG, the fake Slack server.
"""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa

from modelwatch.demo import scenario
from tests.conftest import DEMO_YAML, PROJECT
from tests.fake_slack import FakeSlack

pytestmark = pytest.mark.airflow
TOKEN = "xoxb-callback-secret-0002"
DAY = 12


@pytest.fixture
def slack(monkeypatch):
    with FakeSlack(token=TOKEN) as server:
        monkeypatch.setenv("MODELWATCH_SLACK_TOKEN", TOKEN)
        monkeypatch.setenv("MODELWATCH_SLACK_BASE_URL", server.base_url)
        yield server


@pytest.fixture
def monitor(tmp_path, airflow_db, monkeypatch):
    """The demo monitor without retries, on an empty DuckDB warehouse."""
    folder = tmp_path / "monitors"
    folder.mkdir()
    text = DEMO_YAML.read_text().replace("  catchup: false", "  catchup: false\n  retries: 0")
    assert "retries: 0" in text
    (folder / "fraud_demo.yaml").write_text(text)
    monkeypatch.setenv("MODELWATCH_MONITORS_DIR", str(folder))
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", url)

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT / "dags"))
    assert bag.import_errors == {}
    return bag.dags["monitor_fraud_demo"], url


def test_a_failing_task_pages_infra_once_and_its_success_resolves_it(monitor, slack) -> None:
    from modelwatch.warehouse.engine import engine_for_url
    from modelwatch.warehouse.tables import create_output_tables, mw_alert

    dag, url = monitor
    logical = (scenario.day_of(DAY) + timedelta(days=1)).replace(tzinfo=UTC)

    failed = dag.test(logical_date=logical)  # no predictions table yet: the profile task fails
    assert str(failed.state).endswith("failed")
    states = {ti.task_id: str(ti.state).split(".")[-1] for ti in failed.get_task_instances()}
    assert states["reference_profile"] == "failed"
    [page] = slack.posts()
    assert page["channel"] == "#platform-oncall"
    assert "monitoring task failed: reference_profile (try 1 of 1)" in page["text"]
    assert "/tasks/reference_profile" in page["text"]  # the log link
    assert TOKEN not in page["text"]

    engine = engine_for_url(url)
    create_output_tables(engine)
    scenario.seed_warehouse(engine, scenario.generate(rows_per_day=1000, days=DAY))
    fixed = dag.test(logical_date=logical)  # the rerun of the window succeeds
    assert str(fixed.state).endswith("success")
    resolved = [p for p in slack.posts() if p["channel"] == "#platform-oncall"]
    assert len(resolved) == 2 and "RESOLVED" in resolved[1]["text"]
    assert "reference_profile" in resolved[1]["text"]
    with engine.connect() as conn:
        incidents = conn.execute(sa.select(mw_alert.c.status).where(
            mw_alert.c.layer == "airflow")).scalars().all()
    assert incidents == ["resolved"]  # one row for the window: paged, then resolved in place
    engine.dispose()


def test_a_failing_layer_does_not_silence_the_others(monitor, slack) -> None:
    """The labels table is gone: outcome and shadow fail (a named contract error each, paged to
    infra once), yet the window checks and the data layer still ran, their alerts were grouped
    and sent and a decision was made; the run itself fails (``window_complete``)."""
    from modelwatch.warehouse.engine import engine_for_url
    from modelwatch.warehouse.load import drop_tables
    from modelwatch.warehouse.tables import create_output_tables, mw_decision

    dag, url = monitor
    engine = engine_for_url(url)
    create_output_tables(engine)
    scenario.seed_warehouse(engine, scenario.generate(rows_per_day=1000, days=32))
    drop_tables(engine, "labels")
    logical = (scenario.day_of(31) + timedelta(days=1)).replace(tzinfo=UTC)  # the pipeline bug
    run = dag.test(logical_date=logical)
    states = {ti.task_id: str(ti.state).split(".")[-1] for ti in run.get_task_instances()}
    assert str(run.state).endswith("failed")
    assert {k: states[k] for k in ("window_checks", "data_validation", "outcome", "shadow",
                                   "alerts", "decide", "window_complete")} == {
        "window_checks": "success", "data_validation": "success", "outcome": "failed",
        "shadow": "failed", "alerts": "success", "decide": "success",
        "window_complete": "upstream_failed"}
    infra = [p["text"] for p in slack.posts() if p["channel"] == "#platform-oncall"]
    assert len(infra) == 2 and any("outcome" in t for t in infra) and any("shadow" in t for t in infra)
    assert any("labels (tables.labels): no such table or view" in t for t in infra)
    data = [p for p in slack.posts() if p["channel"] == "#fraud-data"]
    assert data, "the data layer's alerts of the bug day were still delivered"
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(mw_decision)).scalar() == 1
    engine.dispose()


def test_the_deadline_alert_is_on_the_dag_and_survives_serialization(tmp_path, monkeypatch) -> None:
    from airflow.serialization.serialized_objects import DagSerialization

    from modelwatch.airflow.dag_factory import build_dags

    folder = tmp_path / "monitors"
    folder.mkdir()
    text = DEMO_YAML.read_text().replace("  catchup: false", "  catchup: false\n  deadline: 90m")
    (folder / "fraud_demo.yaml").write_text(text)
    dag = build_dags(folder)["monitor_fraud_demo"]
    [alert] = dag.deadline
    assert alert.interval == timedelta(minutes=90)
    assert alert.callback.path == "modelwatch.airflow.callbacks.deadline_missed"
    assert alert.callback.kwargs["config_path"].endswith("fraud_demo.yaml")
    restored = DagSerialization.to_dict(dag)["dag"]["deadline"]
    assert len(restored) == 1
    assert build_dags(PROJECT / "include" / "monitors")["monitor_fraud_demo"].deadline is None
