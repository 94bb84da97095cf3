"""The core must run without Airflow (CLI, notebooks, other schedulers)."""

from __future__ import annotations

import subprocess
import sys

CORE_MODULES = [
    "modelwatch.config", "modelwatch.runner", "modelwatch.cli", "modelwatch.alerts",
    "modelwatch.profile", "modelwatch.checks.drift", "modelwatch.checks.data_quality",
    "modelwatch.demo.scenario",
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
        " 'great_expectations', 'modelwatch.runner') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
