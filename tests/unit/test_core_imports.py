"""The core must run without Airflow (CLI, notebooks, other schedulers)."""

from __future__ import annotations

import subprocess
import sys

CORE_MODULES = [
    "modelwatch.config", "modelwatch.runner", "modelwatch.cli", "modelwatch.alerts",
    "modelwatch.profile", "modelwatch.checks.drift", "modelwatch.checks.data_quality",
    "modelwatch.demo.scenario", "modelwatch.ui.handlers", "modelwatch.ui.report",
    "modelwatch.registry", "modelwatch.doctor",
]


def test_core_imports_no_airflow() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in CORE_MODULES)
        + "bad = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_dag_factory_parse_imports_stay_light() -> None:
    """A DAG file parse must not import the warehouse stack or pandas."""
    code = (
        "import sys\n"
        "import modelwatch.airflow.dag_factory\n"
        "heavy = [m for m in ('pandas', 'duckdb', 'scipy', 'sklearn',"
        " 'great_expectations', 'modelwatch.runner', 'mlflow') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_ui_plugin_module_does_not_build_its_app_on_import() -> None:
    """Schedulers and workers load plugins too: only the API server should pay for FastAPI."""
    code = (
        "import sys\n"
        "import modelwatch.airflow.ui_plugin as p\n"
        "assert 'fastapi' not in sys.modules and 'modelwatch.ui.handlers' not in sys.modules\n"
        "assert len(p.ModelwatchPlugin.fastapi_apps) == 1\n"
        "assert p.ModelwatchPlugin.fastapi_apps[0]['url_prefix'] == '/modelwatch'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
