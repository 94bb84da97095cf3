"""Which columns get drift rows, and with which methods: the plan shared by every drift check.

``checks.drift`` computes a row per (column, method, slice) of this plan; ``checks.seasonal``
reads back the history of the rows whose threshold is seasonal, and ``checks.change_points`` the
PSI series of each column. One definition keeps their check names in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelwatch.config.schema import MonitorConfig
from modelwatch.warehouse.window_stats import categorical_columns


@dataclass(frozen=True)
class Column:
    """A drift-checked column: its rows are ``<check_prefix><method>`` in ``layer``."""

    name: str
    kind: str
    layer: str
    check_prefix: str
    importance: float


def drift_columns(cfg: MonitorConfig) -> list[Column]:
    """Features (layer data), the score columns and the served prediction's class mix (model)."""
    cols = [Column(f.name, f.kind, "data", "", f.importance) for f in cfg.features]
    cols += [Column(s, "numeric", "model", "score_", 1.0) for s in cfg.columns.score]
    prediction = cfg.columns.prediction
    if prediction and prediction in categorical_columns(cfg) and prediction not in {
            f.name for f in cfg.features}:
        cols.append(Column(prediction, "categorical", "model", "prediction_", 1.0))
    return cols


def drift_methods(cfg: MonitorConfig, kind: str) -> list[str]:
    """The configured drift methods for a ``numeric`` or ``categorical`` column."""
    return cfg.drift.numeric_methods if kind == "numeric" else cfg.drift.categorical_methods
