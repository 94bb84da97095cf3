"""The core must run without Airflow (CLI, notebooks, other schedulers)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "plugins" / "modelwatch"
EDGE = "modelwatch.airflow"  # the one subpackage allowed to import Airflow


def core_modules(path: Path = PACKAGE, prefix: str = "modelwatch.") -> list[str]:
    """Every module and package under ``plugins/modelwatch`` except the Airflow edge, found on
    disk without importing anything (``pkgutil.walk_packages`` would import the edge package)."""
    names = []
    for info in pkgutil.iter_modules([str(path)], prefix):
        if info.name == EDGE:
            continue
        names.append(info.name)
        if info.ispkg:
            names += core_modules(path / info.name.rsplit(".", 1)[-1], info.name + ".")
    return sorted(names)


def test_core_imports_no_airflow() -> None:
    """Import every core module in one fresh interpreter; name the first one that loads Airflow."""
    modules = core_modules()
    assert {"modelwatch.runner", "modelwatch.cli", "modelwatch.doctor", "modelwatch.drift.methods.psi",
            "modelwatch.data_layer.gx.checkpoint", "modelwatch.demo.run"} <= set(modules)
    assert not [m for m in modules if m.startswith(EDGE)]
    code = (
        "import importlib, json, sys\n"
        f"for name in json.loads({json.dumps(modules)!r}):\n"
        "    importlib.import_module(name)\n"
        "    bad = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))\n"
        "    assert not bad, f'importing {name} loaded {bad[:5]}'\n"
        "    assert not [m for m in sys.modules if m.startswith('modelwatch.airflow')], name\n"
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
