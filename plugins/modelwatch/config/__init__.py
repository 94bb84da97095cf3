"""Monitor configuration: one YAML file per monitored model, validated by pydantic."""

from modelwatch.config.loader import load_monitor, load_monitors_dir
from modelwatch.config.schema import MonitorConfig

__all__ = ["MonitorConfig", "load_monitor", "load_monitors_dir"]
