"""End to end through Airflow on the embedded stack: DuckDB warehouse, SQLite metadata DB.

The scenario is the demo's, smaller: 1,500 predictions a day for 22 days. Each day is a real
``dag.test`` run of ``monitor_fraud_demo``; the assertions read what the DAG stored.
"""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa

from modelwatch.demo import scenario
from tests.conftest import PROJECT

pytestmark = pytest.mark.airflow
SHIFTED = set(scenario.SHIFTED_FEATURES)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, airflow_db):
    from modelwatch.warehouse.engine import engine_for_url
    from modelwatch.warehouse.tables import create_output_tables

    url = f"duckdb:///{tmp_path_factory.mktemp('embedded') / 'warehouse.duckdb'}"
    mp = pytest.MonkeyPatch()
    mp.setenv("MODELWATCH_WAREHOUSE_URL", url)
    engine = engine_for_url(url)
    create_output_tables(engine)
    scenario.seed_warehouse(engine, scenario.generate(rows_per_day=1500, days=22))
    yield engine
    engine.dispose()
    mp.undo()


@pytest.fixture(scope="module")
def monitor_dag(warehouse):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT / "dags"))
    assert bag.import_errors == {}
    return bag.dags["monitor_fraud_demo"]


def run_day(dag, day: int, **kwargs):
    logical = (scenario.day_of(day) + timedelta(days=1)).replace(tzinfo=UTC)
    run = dag.test(logical_date=logical, **kwargs)
    assert str(run.state).endswith("success"), run.state
    return run


def metrics(engine, day: int) -> list[sa.Row]:
    from modelwatch.warehouse.tables import mw_metric

    with engine.connect() as conn:
        return list(conn.execute(sa.select(mw_metric).where(
            mw_metric.c.window_start == scenario.day_of(day))))


@pytest.fixture(scope="module")
def ran_days(monitor_dag):
    days = (12, 13, 19, 20, 21)  # 12-13: a weekend; 20: the shift starts
    for day in days:
        run_day(monitor_dag, day)
    return days


def test_every_day_stores_the_foundation_checks(warehouse, ran_days) -> None:
    for day in ran_days:
        rows = metrics(warehouse, day)
        whole = [r for r in rows if r.slice == "all"]
        checks = {r.check_name for r in whole}
        assert {"psi", "ks", "jensen_shannon", "wasserstein", "chi_square", "null_rate_increase",
                "row_count_change", "freshness_lag_hours", "score_psi", "score_ks",
                "mean_confidence_change", "high_confidence_share_change", "prediction_psi"} <= checks
        assert len([r for r in whole if r.check_name == "psi"]) == 21
        assert all(r.status != "skipped" for r in whole), day
        slices = {r.slice for r in rows if r.check_name == "psi"}
        assert {"region=NA", "region=EU", "customer_tier=standard"} <= slices
        small = [r for r in rows if r.slice == "customer_tier=platinum"]
        assert small and all(r.status == "skipped" and "min_rows" in r.details["reason"]
                             for r in small)


def test_nothing_flagged_before_the_shift_including_the_weekend(warehouse, ran_days) -> None:
    for day in (12, 13, 19):
        flagged = [(r.check_name, r.feature, r.value) for r in metrics(warehouse, day)
                   if r.status in ("warn", "alert")]
        assert flagged == [], (day, flagged)


def test_shift_flagged_on_exactly_its_features(warehouse, ran_days) -> None:
    for day in (20, 21):
        rows = [r for r in metrics(warehouse, day) if r.slice == "all" and r.layer == "data"]
        for method in ("psi", "ks", "wasserstein"):
            drifted = {r.feature for r in rows if r.check_name == method and r.status == "alert"}
            assert drifted == SHIFTED, (day, method, drifted)


def test_alerts_recorded_once_per_crossing_and_rerun_is_idempotent(warehouse, monitor_dag,
                                                                   ran_days) -> None:
    from modelwatch.warehouse.tables import mw_alert

    def snapshot():
        with warehouse.connect() as conn:
            alerts = conn.execute(sa.select(mw_alert.c.alert_id, mw_alert.c.title).where(
                mw_alert.c.window_start == scenario.day_of(20))).all()
        return sorted(alerts), len(metrics(warehouse, 20))

    before = snapshot()
    assert {t.split(" on ")[1].split(" ")[0] for _, t in before[0] if " psi on " in t} == SHIFTED
    run_day(monitor_dag, 20)  # a rerun of the same window
    assert snapshot() == before
