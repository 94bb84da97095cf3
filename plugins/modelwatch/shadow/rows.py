"""MetricRow helpers of the shadow layer: one place for the layer name, the check names and how
a value meets a level, so every builder speaks the same vocabulary.

Rows in ``warn`` or ``alert`` always carry a numeric value and threshold: the alert step formats
both into the alert's summary.
"""

from __future__ import annotations

import math

from modelwatch.config.schema import ConstantThreshold, MonitorConfig
from modelwatch.metrics import MetricRow, judge

LAYER = "shadow"
ALL = "all"

AGREEMENT_CHECKS = (
    "shadow_coverage", "decision_agreement", "score_pearson", "score_spearman",
    "mean_abs_score_diff", "large_disagreement_share", "challenger_score_psi",
    "challenger_score_js", "top_disagreement_slices", "latency_p50", "latency_p95", "latency_p99",
)
LABELLED_CHECKS = ("labelled_pairs", "auc_diff", "log_loss_diff", "mcnemar")
AUC_CRITERION = {"superior": "auc_gain", "non_inferior": "auc_noninferiority"}  # by gate.mode


def gate_checks(mode: str = "superior") -> tuple[str, ...]:
    """The gate's rows in ``gate.mode`` ``mode``, criteria in evaluation order, then the verdict."""
    criteria = ("min_labelled", "min_windows", AUC_CRITERION[mode], "no_slice_worse", "coverage",
                "latency_p99")
    return tuple(f"gate_{c}" for c in criteria) + ("promotion_gate",)


GATE_CHECKS = gate_checks()  # the default mode's
CANARY_CHECKS = ("canary_traffic_share", "canary_score_psi", "canary_latency_p99")
CANARY_LABELLED_CHECKS = ("canary_auc_diff", "canary_log_loss_diff")


def finite(value: float | None) -> float | None:
    """None for None/NaN/inf, else a Python float."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def row(check: str, value: float | None, status: str, *, threshold: float | None = None,
        details: dict | None = None, slice_: str = ALL) -> MetricRow:
    return MetricRow(LAYER, check, None, finite(value), finite(threshold), status,
                     dict(details or {}), slice_)


def skipped(check: str, reason: str, *, details: dict | None = None, slice_: str = ALL) -> MetricRow:
    return row(check, None, "skipped", details={**(details or {}), "reason": reason}, slice_=slice_)


def informational(check: str, value: float | None, details: dict, slice_: str = ALL,
                  reason: str = "no data to compute this check in the window") -> MetricRow:
    """A descriptive statistic: ``ok`` when computable, ``skipped`` with the reason when not."""
    if finite(value) is None:
        return skipped(check, details.get("reason", reason), details=details, slice_=slice_)
    return row(check, value, "ok", details=details, slice_=slice_)


def judged_high(cfg: MonitorConfig, check: str, value: float | None, details: dict,
                slice_: str = ALL) -> MetricRow:
    """Higher is worse, judged against ``thresholds`` (constant levels only; none set: ``ok``)."""
    spec = cfg.thresholds.for_check(check)
    if spec is not None and not isinstance(spec, ConstantThreshold):
        details = {**details, "threshold_note": "only constant thresholds apply to shadow checks"}
        spec = None
    out = judge(LAYER, check, None, finite(value), spec, details)
    return MetricRow(out.layer, out.check_name, None, out.value, out.threshold, out.status,
                     out.details, slice_)


def judged_low(check: str, value: float | None, *, warn: float, alert: float, details: dict,
               slice_: str = ALL) -> MetricRow:
    """Lower is worse: ``warn`` below ``warn``, ``alert`` below ``alert``."""
    if finite(value) is None:
        return skipped(check, details.get("reason", "no data in the window"), details=details,
                       slice_=slice_)
    status = "alert" if value < alert else "warn" if value < warn else "ok"
    return row(check, value, status, threshold=alert, details={**details, "warn_threshold": warn},
               slice_=slice_)


def slice_key(segment: str, value: object) -> str:
    return f"{segment}={'__null__' if value is None else value}"
