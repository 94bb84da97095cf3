"""``pip install modelwatch`` without the ``airflow`` extra has no Great Expectations: ``modelwatch
run`` then fails with a named error saying which extra to install or which key turns the step off
(exit 2, no traceback) instead of ``ModuleNotFoundError``; with the step turned off it runs.

The missing package is simulated in a real subprocess (``sys.modules['great_expectations'] =
None`` makes every import of it fail as if it were not installed), not by uninstalling it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import yaml

from modelwatch.demo import scenario
from modelwatch.warehouse.engine import engine_for_url
from tests.conftest import DEMO_YAML, PROJECT

SHIM = ("import sys; sys.modules['great_expectations'] = None; "
        "from modelwatch.cli import main; sys.exit(main(sys.argv[1:]))")


def _modelwatch(env: dict, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SHIM, *argv], capture_output=True, text=True,
                          env=env, cwd=PROJECT, timeout=300)


def test_run_without_great_expectations(duck_url, tmp_path):
    engine = engine_for_url(duck_url)
    scenario.seed_warehouse(engine, scenario.generate(rows_per_day=200, days=16))
    engine.dispose()
    env = {**os.environ, "MODELWATCH_WAREHOUSE_URL": duck_url,
           "MODELWATCH_HOME": str(tmp_path / "home")}
    env.pop("MODELWATCH_SLACK_TOKEN", None)
    day = scenario.day_of(16).date().isoformat()

    done = _modelwatch(env, "run", str(DEMO_YAML), "--start", day, "--json")
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "ModuleNotFoundError" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("the Great Expectations step of the data layer needs the package "
                           "'great-expectations', which is not installed")
    assert "pip install 'modelwatch[airflow]'" in last
    assert "data_layer.great_expectations.enabled: false" in last
    assert "logged above" not in done.stderr  # the messages it would refer to are not printed

    raw = yaml.safe_load(DEMO_YAML.read_text())
    raw.setdefault("data_layer", {}).setdefault("great_expectations", {})["enabled"] = False
    config = tmp_path / "fraud_demo.yaml"
    config.write_text(yaml.safe_dump(raw))
    next_day = (scenario.day_of(16) - timedelta(days=1)).date().isoformat()
    done = _modelwatch(env, "run", "--config", str(config), "--start", next_day, "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["model_name"] == "fraud_demo" and result["metrics"]
    checks = {m["check_name"] for m in result["metrics"]}
    assert "psi" in checks and not [c for c in checks if c.startswith("expect_")]  # GX rows
    assert "logged above" not in done.stderr
