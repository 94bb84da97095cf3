"""Docker cannot run here, so the compose file is checked against the code instead."""

from __future__ import annotations

import re

import pytest
import yaml

from modelwatch.config import load_monitor
from tests.conftest import DEMO_YAML, PROJECT

COMPOSE = PROJECT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_production_shape(compose) -> None:
    services = compose["services"]
    assert {"postgres", "redis", "airflow-apiserver", "airflow-scheduler",
            "airflow-dag-processor", "airflow-triggerer", "airflow-worker",
            "airflow-init"} <= set(services)
    commands = {name: s.get("command") for name, s in services.items()}
    assert commands["airflow-apiserver"] == "api-server"
    assert commands["airflow-worker"] == "celery worker"
    assert "container_name" not in services["airflow-worker"]  # --scale needs this
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert "postgres" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


def test_build_context_and_mounts_exist(compose) -> None:
    worker = compose["services"]["airflow-worker"]
    assert (PROJECT / worker["build"] / "Dockerfile").is_file()
    for line in (PROJECT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY"):
            for source in line.split()[1:-1]:
                if not source.startswith("--"):
                    assert (PROJECT / source).exists(), source
    for volume in worker["volumes"]:
        host = volume.split(":")[0]
        if host != "./logs":  # created by docker at start, git-ignored
            assert (PROJECT / host).is_dir(), host
    mounts = {v.split(":")[1] for v in worker["volumes"]}
    monitors = worker["environment"]["MODELWATCH_MONITORS_DIR"]
    assert any(monitors.startswith(m) for m in mounts)
    init_sql = compose["services"]["postgres"]["volumes"][1].split(":")[0]
    assert (PROJECT / init_sql).is_file()


def test_env_names_match_the_code_and_env_example(compose) -> None:
    documented = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", (PROJECT / ".env.example").read_text(),
                                re.M))
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", COMPOSE.read_text()))
    assert used <= documented, used - documented
    url_env = load_monitor(DEMO_YAML).warehouse.url_env
    assert url_env in compose["services"]["airflow-worker"]["environment"]
    assert url_env in documented
