"""``modelwatch demo``: seed the demo warehouse, then monitor it day by day through real Airflow.

Everything lives under ``$MODELWATCH_HOME`` (default ``.modelwatch/``): the embedded DuckDB
warehouse and an Airflow home with a SQLite metadata DB. Each day is one real DAG run
(``dag.test``) of ``monitor_fraud_demo``, so what you see here is what the scheduler would do.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, timedelta
from typing import TextIO

from modelwatch.paths import PROJECT_DIR, dags_dir, default_warehouse_url, modelwatch_home

DEMO_CONFIG = PROJECT_DIR / "include" / "monitors" / "fraud_demo.yaml"


def demo_environment() -> dict[str, str]:
    """Settings that point Airflow and modelwatch at the demo's private home."""
    home = modelwatch_home()
    return {
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir()),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_DIR / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "MODELWATCH_WAREHOUSE_URL": default_warehouse_url(),
    }


def _migrate_airflow_db(env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"airflow db migrate failed:\n{done.stdout}\n{done.stderr}")


def _load_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_dir()))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return bag.get_dag(dag_id)


def _reset_registry(engine, cfg) -> None:
    """The demo's starting registry (v1 serving, the gradient-boosting challenger in shadow) and
    no alert history, so every run of the demo tells its owners the same story."""
    import sqlalchemy as sa

    from modelwatch.registry import register
    from modelwatch.warehouse.tables import (
        mw_alert,
        mw_alert_review,
        mw_model_registry,
        mw_registry_event,
        mw_slack_message,
    )

    with engine.begin() as conn:
        for table in (mw_model_registry, mw_registry_event, mw_alert, mw_alert_review,
                      mw_slack_message):
            conn.execute(sa.delete(table).where(table.c.model_name == cfg.model.name))
    register(engine, cfg.model.name, "v1", alias="champion", reason="initial deploy")
    register(engine, cfg.model.name, "v2-challenger", alias="challenger", reason="in shadow")


def registry_aliases(engine, cfg) -> dict:
    from modelwatch.registry import aliases

    with engine.connect() as conn:
        return aliases(conn, cfg.model.name)


def decision_of(engine, cfg, window_start):
    import sqlalchemy as sa

    from modelwatch.warehouse.tables import mw_decision

    with engine.connect() as conn:
        return conn.execute(sa.select(mw_decision.c.decision, mw_decision.c.rule).where(
            mw_decision.c.model_name == cfg.model.name,
            mw_decision.c.window_start == window_start)).first()


def _quiet_airflow() -> None:
    for name in ("airflow", "sqlalchemy", "task", "airflow.task", "py.warnings"):
        logging.getLogger(name).setLevel(logging.ERROR)


def run_demo(rows_per_day: int = 20_000, first_day: int = 1, last_day: int = 45) -> int:
    os.environ.update(demo_environment())
    from modelwatch.config.loader import load_monitor
    from modelwatch.demo import scenario
    from modelwatch.demo.report import day_line, final_report
    from modelwatch.demo.slack import DEMO_TOKEN, post_reviews, record_path, slack_summary
    from modelwatch.demo.slack_server import FakeSlack
    from modelwatch.registry import register
    from modelwatch.runner import open_warehouse

    slack_record = record_path(modelwatch_home())
    slack_record.parent.mkdir(parents=True, exist_ok=True)
    slack_record.unlink(missing_ok=True)
    slack = FakeSlack(token=DEMO_TOKEN, record_path=slack_record).start()
    # never a real workspace: the demo's owners and channels are made up
    os.environ.update({"MODELWATCH_SLACK_TOKEN": DEMO_TOKEN,
                       "MODELWATCH_SLACK_BASE_URL": slack.base_url})

    started = time.monotonic()
    cfg = load_monitor(DEMO_CONFIG)
    print(f"modelwatch demo — home {modelwatch_home()}")
    print(f"1/3 seeding {scenario.DAYS} days x ~{rows_per_day} predictions into "
          f"{os.environ['MODELWATCH_WAREHOUSE_URL']}")
    engine = open_warehouse(cfg)
    counts = scenario.seed_warehouse(engine, scenario.generate(rows_per_day=rows_per_day))
    print("    " + ", ".join(f"{t}: {n:,}" for t, n in counts.items()))
    _reset_registry(engine, cfg)

    print(f"2/3 preparing Airflow (metadata DB under {os.environ['AIRFLOW_HOME']})")
    _migrate_airflow_db(dict(os.environ))
    with _terminal_captured():
        dag = _load_dag(cfg.dag_id)
        retrain_dag = _load_dag(f"retrain_{cfg.model.name}")
    _quiet_airflow()

    print(f"3/3 running DAG {cfg.dag_id} for scenario days {first_day}..{last_day} "
          "(one dag.test run per daily window)")
    failed = []
    for day in range(first_day, last_day + 1):
        window_start = scenario.day_of(day)
        if day == scenario.BAD_VERSION_DAY:
            register(engine, cfg.model.name, scenario.BAD_VERSION, alias="champion",
                     reason="release pipeline deployed v1.1", window_start=window_start)
            print(f"    -- day {day}: the release pipeline deploys {scenario.BAD_VERSION} "
                  "as champion --")
        logical = (window_start + timedelta(days=1)).replace(tzinfo=UTC)
        run = _run_quietly(dag, logical)
        state = str(getattr(run, "state", "unknown"))
        if not state.endswith("success"):
            failed.append((day, state))
        print(day_line(engine, cfg, day, window_start, state))
        decision = decision_of(engine, cfg, window_start)
        if decision and decision[0] != "healthy":
            print(f"             decision: {decision[0]}" + (f" ({decision[1]})" if decision[1]
                                                             else ""))
        if decision and decision[0] == "retrain":
            # dag.test does not run the DAG a TriggerDagRunOperator queues; run it here
            conf = {"window_start": window_start.isoformat(),
                    "window_end": (window_start + timedelta(days=1)).isoformat(),
                    "reason": f"decision of day {day}"}
            retrain_run = _run_quietly(retrain_dag, logical, run_conf=conf)
            state = str(getattr(retrain_run, "state", "unknown"))
            print(f"             retrain_{cfg.model.name}: {state.split('.')[-1]}, registry now "
                  f"{registry_aliases(engine, cfg)}")
    print(final_report(engine, cfg, first_day, last_day))
    print(f"Registry: {registry_aliases(engine, cfg)}")
    print(post_reviews(engine, cfg, scenario.day_of(first_day), scenario.day_of(last_day + 1)))
    print(slack_summary(slack_record))
    slack.stop()
    reports = sorted((modelwatch_home() / "artifacts" / "reports" / cfg.model.name).glob("*/report.html"))
    if reports:
        print(f"Reports: {len(reports)} self-contained HTML files, e.g. {reports[-1]} "
              f"({reports[-1].stat().st_size // 1024} kB)")
    print(f"done in {time.monotonic() - started:.0f}s.  See it in the Airflow UI: "
          f"AIRFLOW_HOME={os.environ['AIRFLOW_HOME']} "
          f"AIRFLOW__CORE__DAGS_FOLDER={dags_dir()} airflow standalone, then "
          f"http://localhost:8080/dags/{cfg.dag_id}/plugin/monitoring (Monitoring tab) and "
          "Browse → Model monitoring")
    engine.dispose()
    if failed:
        print(f"FAILED runs: {failed}", file=sys.stderr)
        return 1
    return 0


@contextmanager
def _terminal_captured() -> Iterator[TextIO]:
    """Airflow's logger holds the original stdout, so capture at file-descriptor level."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile(mode="w+") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield sink
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _run_quietly(dag, logical_date, **kwargs):
    """``dag.test`` logs every task line; keep the demo to one line per day (full log on failure)."""
    with _terminal_captured() as sink:
        run = dag.test(logical_date=logical_date, **kwargs)
        failed = not str(getattr(run, "state", "")).endswith("success")
        if failed:
            sink.flush()
            sink.seek(0)
            log = sink.read()[-8000:]
    if failed:
        print(log, file=sys.stderr)
    return run
