"""How data-layer results become ``MetricRow``s: levels, named conditions, readable messages.

Every row carries ``details["message"]``, a sentence a person can act on. A row that could not be
judged is ``skipped`` with ``details["condition"]``, one of ``CONDITIONS``, so "why is there no
number" is as visible as the number itself.
"""

from __future__ import annotations

from modelwatch.config.schema import ConstantThreshold, MonitorConfig
from modelwatch.metrics import MetricRow, judge, judge_change

LAYER = "data"

#: Named conditions of bad or missing input (``details["condition"]`` of a skipped/flagged row).
CONDITIONS = {
    "empty_window": "the window holds no rows of this model",
    "empty_reference": "the reference holds no rows of this model",
    "all_null": "every value of the column is null in the window",
    "too_few_rows": "too few non-null values to judge",
    "schema_changed": "the column is missing or changed type",
    "missing_offline_column": "the column is not in the offline feature table",
    "missing_offline_table": "the offline feature table does not exist",
    "no_reference_windows": "the reference has no window to compare the volume with",
    "window_not_closed": "the window ends after the run's clock: its data is still arriving",
    "no_threshold": "no threshold configured: the value is recorded, not judged",
}

#: Levels used when the monitor's ``thresholds`` name none for a data-layer check.
DEFAULT_THRESHOLDS = {
    "silent_default_share": ConstantThreshold(warn=0.1, alert=0.25),
    "skew_mismatch_rate": ConstantThreshold(warn=0.01, alert=0.05),
    "skew_missing_share": ConstantThreshold(warn=0.02, alert=0.1),
    "skew_vector_mismatch_rate": ConstantThreshold(warn=0.01, alert=0.05),
    "skew_psi": ConstantThreshold(warn=0.1, alert=0.25),
    "offline_freshness_hours": ConstantThreshold(warn=24, alert=48),
    "volume_vs_weekday": ConstantThreshold(warn=0.3, alert=0.5),
    "out_of_range_share": ConstantThreshold(warn=0.05, alert=0.15),
    "non_finite_share": ConstantThreshold(warn=1e-6, alert=0.01),
    "duplicate_request_id_share": ConstantThreshold(warn=1e-6, alert=0.01),
    "future_event_rows": ConstantThreshold(warn=1, alert=1),
    "schema": ConstantThreshold(warn=1, alert=1),
}


def threshold_for(cfg: MonitorConfig, check: str, feature: str | None = None) -> ConstantThreshold | None:
    """The monitor's constant threshold for the check, else the data layer's default.

    Calibrated thresholds are learnt for drift statistics; data-layer values (shares of rows)
    are judged against constant levels, so a calibrated entry falls back to the default.
    """
    configured = cfg.thresholds.for_check(check, feature)
    if isinstance(configured, ConstantThreshold):
        return configured
    return DEFAULT_THRESHOLDS.get(check)


def judged(cfg: MonitorConfig, check: str, feature: str | None, value: float | None,
           details: dict) -> MetricRow:
    """The value against its level; ``details`` should hold a ``message``."""
    return judge(LAYER, check, feature, value, threshold_for(cfg, check, feature), details)


def judged_change(cfg: MonitorConfig, check: str, feature: str | None, value: float | None,
                  details: dict, *, sampling_error: float | None, rows: int | None) -> MetricRow:
    """Like ``judged``, with the levels raised to the change's sampling error at ``rows``
    (``metrics.judge_change``): for shares compared with their reference share."""
    return judge_change(LAYER, check, feature, value, threshold_for(cfg, check, feature), details,
                        sampling_error=sampling_error, rows=rows)


def skipped(check: str, feature: str | None, condition: str, message: str | None = None,
            **details) -> MetricRow:
    """A check that could not be computed, with its named condition and a readable message."""
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; known: {sorted(CONDITIONS)}")
    subject = f"{check} on {feature}" if feature else check
    details = {"condition": condition, "reason": CONDITIONS[condition],
               "message": message or f"{subject} skipped: {CONDITIONS[condition]}", **details}
    return MetricRow(LAYER, check, feature, None, None, "skipped", details)


def share(part: int | float | None, whole: int | float | None) -> float | None:
    return None if not whole else float(part or 0) / float(whole)


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"
