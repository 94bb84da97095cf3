"""Monitor configs for a regression and a multiclass model, derived from the demo's monitor file."""

from __future__ import annotations

import yaml

from modelwatch.config.schema import MonitorConfig
from tests.conftest import DEMO_YAML


def task_config(task: str, **columns) -> MonitorConfig:
    """The demo monitor as a ``task`` model named ``<task>_demo``, one feature, slice ``region``."""
    raw = yaml.safe_load(DEMO_YAML.read_text())
    raw["model"] = {"name": f"{task}_demo", "task": task}
    raw["features"] = [{"name": "amount", "kind": "numeric"}]
    raw["segments"] = ["region"]
    raw["columns"] = {**raw["columns"], **columns}
    raw["thresholds"] = {}
    raw["tables"] = {**raw["tables"], "kpis": None}
    raw.pop("retraining", None)
    return MonitorConfig.model_validate(raw)
