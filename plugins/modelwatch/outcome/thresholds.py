"""Built-in warn/alert levels of the outcome checks, and how a value is judged against them.

Levels are looked up in the monitor's ``thresholds`` first (``cfg.thresholds.for_check``; an
``estimated_<metric>`` check falls back to the ``<metric>`` levels), then here. Outcome checks
take constant levels only: their intervals already carry the sampling noise that calibrated
levels exist to absorb.

Performance levels are *adverse changes against the reference*: a drop for metrics where higher
is better (AUC, F1, …), a rise for losses (log loss, Brier, ECE). A row is judged on the interval,
not the point: the change counted is the smallest adverse change consistent with both the
window's and the reference's intervals (combined in quadrature), so a noisy window whose point
estimate is low but whose interval still reaches the reference stays ``ok``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from modelwatch.config.schema import ConstantThreshold, MonitorConfig
from modelwatch.metrics import MetricRow
from modelwatch.outcome.values import MetricValue

LAYER = "outcome"


@dataclass(frozen=True)
class PerformanceMetric:
    """Levels of one metric. ``scale_by``: the levels are a share of the reference value of that
    metric (for metrics in the target's units, e.g. MAE); ``two_sided``: a change either way is
    adverse (bias)."""

    name: str
    higher_is_better: bool
    warn: float
    alert: float
    scale_by: str | None = None
    two_sided: bool = False


PERFORMANCE = {m.name: m for m in (
    PerformanceMetric("roc_auc", True, 0.03, 0.06),
    PerformanceMetric("pr_auc", True, 0.05, 0.10),
    PerformanceMetric("accuracy", True, 0.01, 0.03),
    PerformanceMetric("precision", True, 0.05, 0.10),
    PerformanceMetric("recall", True, 0.05, 0.10),
    PerformanceMetric("f1", True, 0.05, 0.10),
    PerformanceMetric("log_loss", False, 0.02, 0.05),
    PerformanceMetric("brier", False, 0.005, 0.015),
    PerformanceMetric("ece", False, 0.02, 0.05),
    # multiclass (accuracy and log_loss above apply as they are)
    PerformanceMetric("macro_f1", True, 0.05, 0.10),
    PerformanceMetric("weighted_f1", True, 0.05, 0.10),
    # regression: in the target's units, so levels are shares of the reference's error
    PerformanceMetric("mae", False, 0.10, 0.25, scale_by="mae"),
    PerformanceMetric("rmse", False, 0.10, 0.25, scale_by="rmse"),
    PerformanceMetric("mape", False, 0.10, 0.25, scale_by="mape"),
    PerformanceMetric("bias", False, 0.10, 0.25, scale_by="mae", two_sided=True),
    # ranking: relative drops, as shares of the reference's own value (an NDCG of 0.3 and one of
    # 0.8 are both normal for some catalogue; a 10 % drop of either is not)
    PerformanceMetric("ndcg_at_k", True, 0.05, 0.10, scale_by="ndcg_at_k"),
    PerformanceMetric("map_at_k", True, 0.05, 0.10, scale_by="map_at_k"),
    PerformanceMetric("recall_at_k", True, 0.05, 0.10, scale_by="recall_at_k"),
    PerformanceMetric("catalog_coverage_at_k", True, 0.10, 0.25,
                      scale_by="catalog_coverage_at_k"),
)}

LABEL_DEFAULTS = {
    # relative shortfall of a matured window's coverage: 1 - coverage / reference coverage
    "label_coverage": ConstantThreshold(warn=0.2, alert=0.5),
    # relative change of the positive rate beyond its interval: |rate / reference - 1|
    "label_positive_rate": ConstantThreshold(warn=0.25, alert=0.5),
    # share of labelled predictions with more than one label: any warns, 1 % alerts
    "label_duplicate_share": ConstantThreshold(warn=1e-9, alert=0.01),
    # hours since the newest label arrived (a stalled label pipeline)
    "label_freshness_hours": ConstantThreshold(warn=48, alert=96),
    # regression label drift: change of the target mean beyond its interval, in reference stds
    "label_mean": ConstantThreshold(warn=0.1, alert=0.25),
    # multiclass label drift: largest change of one class's share beyond its Wilson interval
    "label_class_mix": ConstantThreshold(warn=0.05, alert=0.10),
}


def levels(cfg: MonitorConfig, check: str, *fallbacks: str) -> tuple[ConstantThreshold | None, str]:
    """The constant levels of ``check`` and where they came from."""
    for name in (check, *fallbacks):
        spec = cfg.thresholds.for_check(name)
        if isinstance(spec, ConstantThreshold):
            return spec, f"thresholds: {name}"
    for name in (check, *fallbacks):
        if name in PERFORMANCE:
            m = PERFORMANCE[name]
            return ConstantThreshold(warn=m.warn, alert=m.alert), "outcome default"
        if name in LABEL_DEFAULTS:
            return LABEL_DEFAULTS[name], "outcome default"
    if check == "label_delay_p95_hours":
        hours = cfg.labels.delay.total_seconds() / 3600
        return ConstantThreshold(warn=hours, alert=1.5 * hours), "labels.delay"
    return None, "none"


def status_of(amount: float | None, threshold: ConstantThreshold | None) -> str:
    if amount is None or threshold is None or not math.isfinite(amount):
        return "ok"
    return "alert" if amount >= threshold.alert else "warn" if amount >= threshold.warn else "ok"


def skipped(check: str, reason: str, slice_key: str = "all", feature: str | None = None,
            **details) -> MetricRow:
    return MetricRow(LAYER, check, feature, None, None, "skipped", {**details, "reason": reason},
                     slice_key)


def judge_performance(cfg: MonitorConfig, check: str, metric: str, current: MetricValue,
                      reference: dict | None, slice_key: str, details: dict,
                      scale: float | None = None) -> MetricRow:
    """A performance row judged on its interval against the reference value of ``metric``.

    ``scale``: the reference value of ``PERFORMANCE[metric].scale_by`` for metrics whose levels
    are shares of it (regression); changes are divided by it before they meet the levels.
    """
    if current.value is None:
        return skipped(check, current.reason or "not computed", slice_key, **details)
    spec = PERFORMANCE[metric]
    threshold, source = levels(cfg, check, metric)
    out = {**details, **current.details, "ci_low": current.low, "ci_high": current.high,
           "ci_method": current.method, "higher_is_better": spec.higher_is_better,
           "threshold_source": source}
    if spec.two_sided:
        out["higher_is_better"] = None
    ref = (reference or {}).get("value")
    scaled = spec.scale_by is not None
    no_scale = scaled and not (scale is not None and math.isfinite(scale) and scale > 0)
    if ref is None or threshold is None or no_scale:
        out["judged"] = False
        out.setdefault("note", "no reference value for this slice" if ref is None else
                       "no threshold" if threshold is None else
                       f"no positive reference {spec.scale_by} to scale the levels by")
        return MetricRow(LAYER, check, None, current.value, None, "ok", out, slice_key)
    if spec.two_sided:  # adverse = away from the reference, either way
        sign = -1.0 if current.value >= ref else 1.0
        higher = sign > 0  # the interval sides facing the reference, as for a loss (-) or gain
    else:
        sign = 1.0 if spec.higher_is_better else -1.0
        higher = spec.higher_is_better
    unit = scale if scaled else 1.0
    adverse = sign * (ref - current.value)
    cur_side = (current.high if higher else current.low)
    ref_side = (reference.get("low") if higher else reference.get("high"))
    spread = math.hypot(abs(cur_side - current.value) if cur_side is not None else 0.0,
                        abs(ref - ref_side) if ref_side is not None else 0.0)
    adverse_lower = (adverse - spread) / unit if scaled else adverse - spread
    status = status_of(adverse_lower, threshold)
    out.update({"reference": ref, "reference_ci": [reference.get("low"), reference.get("high")],
                "change": current.value - ref, "adverse_change_lower_bound": adverse_lower,
                "warn_change": threshold.warn, "alert_change": threshold.alert,
                "warn_threshold": ref - sign * threshold.warn * unit, "judged": True})
    if scaled:
        out.update({"levels_relative_to": f"reference {spec.scale_by}", "level_unit": unit})
    return MetricRow(LAYER, check, None, current.value, ref - sign * threshold.alert * unit,
                     status, out, slice_key)
