"""The monitor DAG on a real deployment: PostgreSQL metadata DB, CeleryExecutor on Redis.

Nothing is simulated: ``airflow db migrate`` on a fresh PostgreSQL database, then the api-server,
scheduler, dag-processor and a Celery worker as separate processes (see ``airflow_stack``). The
test triggers ``monitor_fraud_demo`` through the REST API for scenario day 20 (the first day of the
covariate shift), waits for the run, and checks what the tasks wrote to the PostgreSQL warehouse
and that the Celery worker, not the scheduler, executed them.

Needs PostgreSQL (``MODELWATCH_TEST_PG_URL``) and Redis (``MODELWATCH_TEST_REDIS_URL``, default
``redis://127.0.0.1:6379/13``); skipped without them on a developer machine, failed under CI.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from modelwatch.demo import scenario
from tests.conftest import PG_ADMIN_URL, PROJECT, require_service
from tests.integration.airflow_stack import (
    AirflowStack,
    create_database,
    delete_redis_keys,
    drop_database,
)

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]

DAG_ID = "monitor_fraud_demo"
DAY = 20  # the first day of the injected covariate shift
WINDOW_START = scenario.day_of(DAY)
WINDOW_END = WINDOW_START + timedelta(days=1)
REDIS_URL = os.environ.get("MODELWATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
TASKS = ("reference_profile", "window_checks", "data_validation", "outcome", "shadow", "alerts",
         "decide")
ACTIONS = ("retrain", "rollback", "promote", "alert_only", "healthy")
RUN_TIMEOUT = 240  # seconds; a healthy run takes ~10 s once the stack is up


@dataclass
class CeleryRun:
    """What the test run left behind once every Airflow process has stopped."""

    stack: AirflowStack
    queue: str
    triggered: dict  # the REST API's answer to the trigger
    run: dict  # the final state of the DAG run
    task_instances: list[sa.Row]  # from the metadata DB
    celery_results: dict[str, str]  # Celery task id -> status, from the result backend table
    worker_log: str
    seconds: float


@pytest.fixture(scope="module")
def token() -> str:
    return f"{os.getpid()}_{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def redis_url(token):
    """The broker database; afterwards only the keys naming this run's queue and worker go."""
    try:
        import redis
        from airflow.providers.celery.executors import celery_executor  # noqa: F401
    except ImportError as exc:
        require_service("The Celery extra", exc, "pip install -c constraints.txt -e '.[celery]'")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        require_service("Redis", exc, "start Redis on 127.0.0.1:6379 or set MODELWATCH_TEST_REDIS_URL")
    finally:
        client.close()
    yield REDIS_URL
    delete_redis_keys(REDIS_URL, token)


@pytest.fixture(scope="module")
def metadata_url(token):
    """A second fresh PostgreSQL database, for Airflow's metadata (and Celery's results)."""
    name = f"mw_airflow_{token}"
    try:
        url = create_database(PG_ADMIN_URL, name)
    except sa.exc.OperationalError as exc:
        require_service("PostgreSQL", exc.orig, "start PostgreSQL on 127.0.0.1:5432 or set "
                        "MODELWATCH_TEST_PG_URL to an admin URL")
    yield url
    drop_database(PG_ADMIN_URL, name)


def seed_warehouse(url: str) -> None:
    from modelwatch.warehouse.engine import engine_for_url
    from modelwatch.warehouse.tables import create_output_tables

    engine = engine_for_url(url)
    try:
        create_output_tables(engine)
        scenario.seed_warehouse(engine, scenario.generate(rows_per_day=1000, days=21))
    finally:
        engine.dispose()


def as_driver(url: str, driver: str) -> str:
    return sa.engine.make_url(url).set(drivername=driver).render_as_string(hide_password=False)


def finished(stack: AirflowStack, run_id: str) -> dict | None:
    """The run once it is over, or as soon as a task failed (its retries are minutes apart)."""
    path = f"/dags/{DAG_ID}/dagRuns/{run_id}"
    run = stack.api("GET", path)
    if run["state"] in ("success", "failed"):
        return run
    tis = stack.api("GET", f"{path}/taskInstances")["task_instances"]
    return run if {ti["state"] for ti in tis} & {"up_for_retry", "failed", "upstream_failed"} else None


@pytest.fixture(scope="module")
def celery_run(tmp_path_factory, pg_url, metadata_url, redis_url, token) -> CeleryRun:
    began = time.monotonic()
    queue = f"mw_test_{token}"
    home = tmp_path_factory.mktemp("airflow_celery")
    stack = AirflowStack.configure(
        home / "airflow",
        metadata_url=as_driver(metadata_url, "postgresql+psycopg2"),
        broker_url=redis_url,
        result_backend="db+" + as_driver(metadata_url, "postgresql+psycopg2"),
        queue=queue,
        dags_folder=PROJECT / "dags",
        plugins_folder=PROJECT / "plugins",
        extra_env={"MODELWATCH_WAREHOUSE_URL": pg_url, "MODELWATCH_HOME": str(home / "modelwatch")},
    )
    try:
        stack.popen("db-migrate", "db", "migrate")
        seed_warehouse(pg_url)  # while the migration runs
        stack.finish("db-migrate", timeout=180)
        stack.start_services(worker_name=f"{queue}@%h")
        stack.wait_for("the api-server", lambda: stack.api("GET", "/monitor/health"), timeout=90)
        stack.wait_for(f"{DAG_ID} to be parsed", lambda: stack.api("GET", f"/dags/{DAG_ID}"),
                       timeout=90)
        triggered = stack.api("POST", f"/dags/{DAG_ID}/dagRuns", json={
            "dag_run_id": f"celery_test_{token}",
            "logical_date": WINDOW_END.replace(tzinfo=UTC).isoformat(),
        })
        run = stack.wait_for("the DAG run to finish", lambda: finished(stack, triggered["dag_run_id"]),
                             timeout=RUN_TIMEOUT, interval=1)
    finally:
        stack.stop()
    meta = sa.create_engine(metadata_url)
    try:
        with meta.connect() as conn:
            tis = list(conn.execute(sa.text(
                "select task_id, state, queue, external_executor_id from task_instance "
                "where dag_id = :dag and run_id = :run order by task_id"),
                {"dag": DAG_ID, "run": run["dag_run_id"]}))
            results = dict(conn.execute(sa.text("select task_id, status from celery_taskmeta")).all())
    finally:
        meta.dispose()
    return CeleryRun(stack=stack, queue=queue, triggered=triggered, run=run, task_instances=tis,
                     celery_results=results,
                     worker_log=(stack.home / "celery-worker.log").read_text(errors="replace"),
                     seconds=time.monotonic() - began)


def test_triggered_run_covers_day_20_and_succeeds(celery_run) -> None:
    # Through the REST API a manual run with logical date D gets the cron interval ending at D (as
    # dag.test does). Not so `airflow dags trigger --logical-date D` in 3.3.2: it infers the interval
    # from the wall clock (yesterday), so the run would monitor the wrong window.
    interval = [datetime.fromisoformat(celery_run.triggered[k])
                for k in ("data_interval_start", "data_interval_end")]
    assert interval == [WINDOW_START.replace(tzinfo=UTC), WINDOW_END.replace(tzinfo=UTC)]
    assert celery_run.run["state"] == "success", celery_run.stack.tails()
    states = {ti.task_id: ti.state for ti in celery_run.task_instances}
    assert {t: states[t] for t in TASKS} == dict.fromkeys(TASKS, "success")
    chosen = [a for a in ACTIONS if states[a] == "success"]
    assert len(chosen) == 1 and all(states[a] == "skipped" for a in ACTIONS if a not in chosen)
    print(f"\nCelery/PostgreSQL stack: run succeeded, {celery_run.seconds:.1f} s including set-up")


def test_tasks_ran_on_the_celery_worker(celery_run) -> None:
    # the computing tasks; the chosen action may be an EmptyOperator, which never reaches a worker
    tis = [ti for ti in celery_run.task_instances if ti.task_id in TASKS]
    assert len(tis) == len(TASKS)
    assert [ti.queue for ti in tis] == [celery_run.queue] * len(tis)
    # The CeleryExecutor records each task's Celery id; the worker's result backend has it too.
    assert all(ti.external_executor_id for ti in tis), tis
    assert {celery_run.celery_results.get(ti.external_executor_id) for ti in tis} == {"SUCCESS"}
    # ... and this run's worker (named after the queue) logged executing each of them.
    log = celery_run.worker_log.splitlines()
    assert any(f"{celery_run.queue}@" in line and "ready" in line for line in log)
    for ti in tis:
        assert [line for line in log if f"[{ti.external_executor_id}] Executing workload in Celery" in line
                and f"task_id={ti.task_id}/" in line], (ti.task_id, celery_run.worker_log[-3000:])


def test_warehouse_flags_exactly_the_shifted_features(celery_run, pg_url) -> None:
    from modelwatch.warehouse.engine import engine_for_url
    from modelwatch.warehouse.tables import mw_metric

    engine = engine_for_url(pg_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(mw_metric.c.feature, mw_metric.c.status).where(
                mw_metric.c.window_start == WINDOW_START, mw_metric.c.window_end == WINDOW_END,
                mw_metric.c.check_name == "psi", mw_metric.c.slice == "all")).all()
    finally:
        engine.dispose()
    assert len(rows) == 21  # one per configured feature, overall (segment slices come on top)
    assert {r.feature for r in rows if r.status == "alert"} == set(scenario.SHIFTED_FEATURES)
