"""Shared fixtures: the demo config, embedded warehouses and a fresh PostgreSQL database.

PostgreSQL tests use the server at ``MODELWATCH_TEST_PG_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) and create a fresh database per test
run. Under CI (``CI=true``) a missing server is a failure, never a skip.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
_SESSION_HOME = Path(os.environ.get("MODELWATCH_TEST_HOME") or f"/tmp/modelwatch-tests-{os.getpid()}")


def pytest_configure(config) -> None:
    """Point Airflow at a private home and this repo's dags/ before anything imports Airflow."""
    os.environ["AIRFLOW_HOME"] = str(_SESSION_HOME / "airflow")
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(PROJECT / "dags")
    os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(PROJECT / "plugins")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
    os.environ["MODELWATCH_HOME"] = str(_SESSION_HOME)
    os.environ.pop("MODELWATCH_WAREHOUSE_URL", None)
    os.environ.pop("MODELWATCH_MONITORS_DIR", None)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata DB for this session (``dag.test`` needs one)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"],
                          capture_output=True, text=True, env=dict(os.environ))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return Path(os.environ["AIRFLOW_HOME"])
DEMO_YAML = PROJECT / "include" / "monitors" / "fraud_demo.yaml"
PG_ADMIN_URL = os.environ.get(
    "MODELWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(name: str, error: Exception, how: str) -> None:
    """Skip on a developer machine without the service; fail under CI."""
    message = f"{name} not reachable ({error}). To run these tests: {how}"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def demo_cfg():
    from modelwatch.config import load_monitor

    return load_monitor(DEMO_YAML)


@pytest.fixture
def duck_url(tmp_path) -> str:
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


@pytest.fixture(scope="module")
def pg_url():
    """A fresh database on the PostgreSQL server for each test module, dropped afterwards.

    Per module, not per session: modules seed different scenarios into the same table names,
    and a reference profile stored by one must not be reused by another."""
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"mw_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        require_service("PostgreSQL", exc.orig, "start PostgreSQL on 127.0.0.1:5432 or set "
                        "MODELWATCH_TEST_PG_URL to an admin URL")
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(
        hide_password=False)
    yield url
    from modelwatch.warehouse.engine import engine_for_url

    engine_for_url(url).dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def moto_s3(monkeypatch):
    """A local S3-compatible server (moto's server mode on 127.0.0.1) with dummy credentials in
    env; yields its endpoint URL. Tests create their own buckets."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for key, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(params=["duckdb", "postgresql"])
def input_engine(request, tmp_path, monkeypatch):
    """An empty warehouse on each dialect (a DuckDB file; a fresh PostgreSQL database), named by
    ``MODELWATCH_WAREHOUSE_URL``, with no ``predictions`` or ``labels`` table: tests of how
    modelwatch reads a user's tables build them by hand."""
    import sqlalchemy as sa

    from modelwatch.warehouse.engine import engine_for_url

    url = (f"duckdb:///{tmp_path / 'w.duckdb'}" if request.param == "duckdb"
           else request.getfixturevalue("pg_url"))
    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", url)
    engine = engine_for_url(url)
    with engine.begin() as conn:
        for table in ("predictions", "labels"):
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
    yield engine
    engine.dispose()
