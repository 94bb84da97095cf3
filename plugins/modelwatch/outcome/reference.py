"""The reference outcome a window is judged against, and the key it is stored under.

``OutcomeReference`` is what the row builders (``performance``, ``label_checks``, ``tasks``)
read; computing and caching it is ``outcome.reference_store``, which sits above them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from modelwatch.config.schema import MonitorConfig
from modelwatch.outcome.estimation import Calibrator
from modelwatch.warehouse.window_stats import ALL

REFERENCE_FORMAT = 2  # 2: per-slice metrics for regression and multiclass models


@dataclass
class OutcomeReference:
    data: dict

    @property
    def mature(self) -> bool:
        return bool(self.data.get("mature"))

    @property
    def calibrator(self) -> Calibrator | None:
        return Calibrator.from_dict(self.data.get("calibration"))

    def slice(self, key: str) -> dict:
        return self.data["slices"].get(key, {})

    def metric(self, key: str, metric: str) -> dict | None:
        return self.slice(key).get("metrics", {}).get(metric)

    def coverage(self, key: str = ALL) -> float | None:
        return self.slice(key).get("coverage")


def reference_key(cfg: MonitorConfig, segments: dict[str, list[str]]) -> str:
    """Changes whenever anything that shapes the reference outcome changes."""
    spec = {
        "format": REFERENCE_FORMAT,
        # the S3 source keys only when set, so adding them left every other model's key as it was
        "reference": cfg.reference.model_dump(mode="json", exclude={
            k for k in ("s3_uri", "s3_endpoint_url", "s3_region")
            if getattr(cfg.reference, k, None) is None}),
        "delay": cfg.labels.delay.total_seconds(),
        "tables": [cfg.tables.predictions, cfg.tables.labels],
        # ranking's keys only when set, so adding them left every other model's key as it was
        "columns": cfg.columns.model_dump(mode="json", exclude={
            k for k in ("item", "rank") if getattr(cfg.columns, k) is None}),
        "segments": segments,
        # KPI judging and correlations do not shape the reference: left out, so adding them left
        # every model's key as it was
        "outcome": cfg.outcome.model_dump(mode="json", exclude={
            "enabled", "lookback_windows", "kpis", "kpi_correlation"} | (
            set() if cfg.model.task == "ranking" else {"ranking"})),
        "min_rows": cfg.slices.min_rows,
    }
    return "outcome-" + hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:32]
