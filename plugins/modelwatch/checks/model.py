"""Model-layer checks beyond score drift: how confident the model is, compared with the reference.

A model that suddenly hedges (mean confidence falls) or that becomes sure of itself on traffic it
has not seen (share of high-confidence predictions jumps) is often the first visible sign of a
broken input, before any label arrives. Binary models only: confidence is ``max(p, 1 - p)``,
aggregated in the warehouse pass (see ``warehouse.window_stats``).
"""

from __future__ import annotations

from modelwatch.config.schema import MonitorConfig
from modelwatch.metrics import MetricRow, judge
from modelwatch.profile import Profile
from modelwatch.warehouse.window_stats import HIGH_CONFIDENCE, WindowStats, confidence_columns


def confidence_checks(cfg: MonitorConfig, stats: WindowStats, profile: Profile) -> list[MetricRow]:
    rows = []
    reference = profile.data.get("confidence", {})
    for score in confidence_columns(cfg):
        ref = reference.get(score, {})
        for check, now, then in (
            ("mean_confidence_change", stats.whole.mean_confidence(score),
             ref.get("mean_confidence")),
            ("high_confidence_share_change", stats.whole.high_confidence_share(score),
             ref.get("high_confidence_share")),
        ):
            change = None if now is None or then is None else abs(now - then)
            details = {"current": now, "reference": then, "high_confidence_at": HIGH_CONFIDENCE}
            rows.append(judge("model", check, score, change,
                              cfg.thresholds.for_check(check, score), details))
    return rows
