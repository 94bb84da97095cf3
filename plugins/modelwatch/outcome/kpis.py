"""Business KPIs joined by window: each KPI's mean over the window, one row per KPI and segment.

The KPI table (``tables.kpis``) holds ``ts, kpi, value[, segment]`` (column names in
``outcome.kpi_*``); it has no model column, so every KPI in it is attached to this model. Rows
are stored for history and correlation, not judged (``ok``).
"""

from __future__ import annotations

from modelwatch.metrics import MetricRow
from modelwatch.outcome.thresholds import LAYER, skipped
from modelwatch.warehouse.window_stats import ALL

CHECK = "kpi"


def kpi_rows(observations: list[dict], segment_column: str | None, base: dict) -> list[MetricRow]:
    rows = []
    for obs in sorted(observations, key=lambda o: (str(o["kpi"]), str(o["segment"]))):
        if obs["mean"] is None:
            continue
        seg = obs["segment"]
        key = ALL if seg in (None, "", ALL) else f"{segment_column}={seg}"
        details = {**base, "observations": obs["observations"], "min": obs["min"],
                   "max": obs["max"], "aggregate": "mean"}
        rows.append(MetricRow(LAYER, CHECK, str(obs["kpi"]), float(obs["mean"]), None, "ok",
                              details, key))
    return rows or [skipped(CHECK, "no KPI values in the window", **base)]
