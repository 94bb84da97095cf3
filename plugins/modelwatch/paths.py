"""Where modelwatch keeps local state, and where the project's folders are.

All local state (embedded warehouse, Airflow home, artifacts) lives under one folder so a clean
checkout stays clean and ``rm -rf .modelwatch`` resets everything.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


def modelwatch_home() -> Path:
    """``$MODELWATCH_HOME`` or ``<project>/.modelwatch``."""
    return Path(os.environ.get("MODELWATCH_HOME") or PROJECT_DIR / ".modelwatch").resolve()


def default_warehouse_url() -> str:
    """``$MODELWATCH_WAREHOUSE_URL`` or the embedded DuckDB file under the home folder."""
    return os.environ.get("MODELWATCH_WAREHOUSE_URL") or (
        f"duckdb:///{modelwatch_home() / 'warehouse.duckdb'}"
    )


def monitors_dir() -> Path:
    """Folder of monitor YAML files the DAG factory reads (``$MODELWATCH_MONITORS_DIR``)."""
    return Path(os.environ.get("MODELWATCH_MONITORS_DIR") or PROJECT_DIR / "include" / "monitors")


def dags_dir() -> Path:
    return PROJECT_DIR / "dags"


def runbooks_dir() -> Path:
    return PROJECT_DIR / "include" / "runbooks"
