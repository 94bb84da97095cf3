"""The decide branch through Airflow, one story per action: promote and rollback.

Each story is a real ``dag.test`` run of a monitor DAG built from a YAML file (the DAG factory's
path, not a hand-made DAG) on an embedded DuckDB warehouse; the assertions read the task states
Airflow recorded, ``mw_decision`` and the model registry. Retrain and the healthy weekend are in
``test_demo_dag_embedded.py``.
"""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa

from modelwatch.demo import scenario
from tests.fake_slack import FakeSlack
from tests.unit.shadow.helpers import MODEL, day, seed, synth

pytestmark = pytest.mark.airflow
ACTIONS = ("retrain", "rollback", "promote", "alert_only", "healthy")

SHADOW_MONITOR = f"""
model: {{name: {MODEL}, task: binary}}
owners:
  data: {{team: data-eng, slack_channel: "#data"}}
  model: {{team: ml-eng, slack_channel: "#ml"}}
  outcome: {{team: product, slack_channel: "#product"}}
  infra: {{team: platform, slack_channel: "#platform"}}
warehouse: {{url_env: MODELWATCH_WAREHOUSE_URL}}
tables: {{predictions: predictions, labels: labels, shadow_predictions: shadow_predictions}}
columns: {{latency_ms: latency_ms}}
features: [{{name: x, kind: numeric}}]
segments: [region]
schedule: {{cron: "@daily", window: 1d, start_date: 2026-03-01}}
labels: {{delay: 3d}}
reference: {{start: 2026-03-01T00:00:00, end: 2026-03-04T00:00:00}}
slices: {{min_rows: 100}}
shadow: {{gate: {{lookback: 2d, min_labelled: 1500}}, bootstrap_resamples: 300}}
"""


def states_of(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state).split(".")[-1] for ti in run.get_task_instances()}


def run_window(dag, start) -> dict[str, str]:
    run = dag.test(logical_date=(start + timedelta(days=1)).replace(tzinfo=UTC))
    assert str(run.state).endswith("success"), (run.state, states_of(run))
    return states_of(run)


def assert_branch(states: dict[str, str], taken: str) -> None:
    assert states["decide"] == "success"
    assert states[taken] == "success", states
    assert all(states[a] == "skipped" for a in ACTIONS if a != taken), states
    assert states["report"] == "success"


def decisions(engine, model: str) -> dict:
    from modelwatch.warehouse.tables import mw_decision

    with engine.connect() as conn:
        return {r.window_start: r for r in conn.execute(
            sa.select(mw_decision).where(mw_decision.c.model_name == model))}


def monitor_dag(dag_id: str):
    """The DAG as Airflow parses it from ``dags/`` (``dag.test`` re-parses that folder)."""
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import PROJECT

    bag = DagBag(dag_folder=str(PROJECT / "dags"))
    assert bag.import_errors == {}
    assert "config-error" not in bag.dags[dag_id].tags, bag.dags[dag_id].doc_md
    return bag.dags[dag_id]


TOKEN = "xoxb-decisions-secret-0004"


@pytest.fixture
def slack(monkeypatch):
    with FakeSlack(token=TOKEN) as server:
        monkeypatch.setenv("MODELWATCH_SLACK_TOKEN", TOKEN)
        monkeypatch.setenv("MODELWATCH_SLACK_BASE_URL", server.base_url)
        yield server


def announcements(slack, word: str) -> list[dict]:
    return [p for p in slack.posts() if f": {word}" in p["text"].splitlines()[0]]


@pytest.fixture
def warehouse_url(tmp_path, airflow_db, monkeypatch) -> str:
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", url)
    return url


def test_a_challenger_whose_gate_passes_twice_is_promoted(tmp_path, warehouse_url,
                                                          monkeypatch, slack) -> None:
    from modelwatch.registry import aliases, register
    from modelwatch.warehouse.tables import mw_registry_event

    frames = synth(days=8, rows_per_day=1000, quality={"A": (0.8, 1.6), "B": (0.8, 1.6)},
                   label_delay_days=(0.5, 4.5), seed=5)
    engine = seed(warehouse_url, frames)
    register(engine, MODEL, "v1", alias="champion", reason="initial deploy")
    register(engine, MODEL, "v2", alias="challenger", reason="candidate in shadow")
    folder = tmp_path / "monitors"
    folder.mkdir()
    (folder / f"{MODEL}.yaml").write_text(SHADOW_MONITOR)
    monkeypatch.setenv("MODELWATCH_MONITORS_DIR", str(folder))
    dag = monitor_dag(f"monitor_{MODEL}")

    first = run_window(dag, day(7))  # the gate passes, but only once so far
    assert first["promote"] == "skipped"
    second = run_window(dag, day(8))  # passes again: sustained for two windows
    assert_branch(second, "promote")

    stored = decisions(engine, MODEL)
    assert stored[day(7)].decision != "promote"
    assert stored[day(8)].decision == "promote"
    assert stored[day(8)].rule == "promote_passing_challenger"
    with engine.connect() as conn:
        assert aliases(conn, MODEL)["champion"] == "v2"
        events = conn.execute(sa.select(mw_registry_event.c.event, mw_registry_event.c.version)
                              .where(mw_registry_event.c.model_name == MODEL)).all()
    assert sum(1 for e in events if "promot" in e.event) == 1, events
    [told] = announcements(slack, "promoted")
    assert told["channel"] == "#ml" and "the champion is now v2 (the challenger)" in told["text"]

    again = run_window(dag, day(8))  # a rerun of the window: the branch again, no second move
    assert_branch(again, "promote")
    with engine.connect() as conn:
        rerun_events = conn.execute(sa.select(sa.func.count()).select_from(mw_registry_event)
                                    .where(mw_registry_event.c.model_name == MODEL)).scalar()
    assert rerun_events == len(events)
    assert len(announcements(slack, "promoted")) == 1  # the rerun tells nobody again
    engine.dispose()


def test_a_bad_new_version_is_rolled_back_in_its_first_window(warehouse_url, slack) -> None:
    from modelwatch.registry import aliases, register
    from modelwatch.warehouse.engine import engine_for_url
    from modelwatch.warehouse.tables import create_output_tables, mw_registry_event

    engine = engine_for_url(warehouse_url)
    create_output_tables(engine)
    bad_day = scenario.BAD_VERSION_DAY
    scenario.seed_warehouse(engine, scenario.generate(rows_per_day=1500, days=bad_day))
    register(engine, "fraud_demo", "v1", alias="champion", reason="initial deploy")
    dag = monitor_dag("monitor_fraud_demo")

    before = run_window(dag, scenario.day_of(bad_day - 1))
    assert before["rollback"] == "skipped"
    register(engine, "fraud_demo", scenario.BAD_VERSION, alias="champion",
             reason="release pipeline deployed v1.1", window_start=scenario.day_of(bad_day))
    after = run_window(dag, scenario.day_of(bad_day))
    assert_branch(after, "rollback")

    stored = decisions(engine, "fraud_demo")
    assert stored[scenario.day_of(bad_day)].decision == "rollback"
    assert stored[scenario.day_of(bad_day)].rule == "rollback_after_bad_deploy"
    assert f"v1 -> {scenario.BAD_VERSION}" in str(stored[scenario.day_of(bad_day)].signals)
    with engine.connect() as conn:
        assert aliases(conn, "fraud_demo")["champion"] == "v1"
        rollbacks = conn.execute(sa.select(mw_registry_event).where(
            mw_registry_event.c.model_name == "fraud_demo",
            mw_registry_event.c.event.like("%rollback%"))).all()
    assert len(rollbacks) == 1, rollbacks
    [told] = announcements(slack, "rolled back")
    assert told["channel"] == "#fraud-ml"
    assert "the champion is now v1 (the previous version)" in told["text"]
    assert "rollback_after_bad_deploy" in told["text"] or "v1 -> v1.1" in told["text"]
    engine.dispose()
