"""Model-layer checks beyond score drift: how confident the model is, compared with the reference.

A model that suddenly hedges (mean confidence falls) or that becomes sure of itself on traffic it
has not seen (share of high-confidence predictions jumps) is often the first visible sign of a
broken input, before any label arrives. Binary models only: confidence is ``max(p, 1 - p)``,
aggregated in the warehouse pass (see ``warehouse.window_stats``).
"""

from __future__ import annotations

from modelwatch.config.schema import MonitorConfig
from modelwatch.metrics import MetricRow, judge_change
from modelwatch.profile import Profile
from modelwatch.sampling import mean_change_error, share_change_error
from modelwatch.warehouse.window_stats import HIGH_CONFIDENCE, WindowStats, confidence_columns

# max(p, 1 - p) lies in [0.5, 1]: its spread is at most 0.25 (a profile older than format 7
# stored no spread; the bound keeps its sampling error honest, if wide)
MAX_CONFIDENCE_STD = 0.25


def confidence_checks(cfg: MonitorConfig, stats: WindowStats, profile: Profile) -> list[MetricRow]:
    """Mean confidence and high-confidence share against the reference, each judged against
    levels raised to its sampling error at the window's row count (``metrics.judge_change``)."""
    rows = []
    reference = profile.data.get("confidence", {})
    whole = stats.whole
    for score in confidence_columns(cfg):
        ref = reference.get(score, {})
        n, ref_n = whole.confidence_count(score), ref.get("rows") or profile.data.get("rows")
        std = ref.get("confidence_std") or whole.confidence_std(score) or MAX_CONFIDENCE_STD
        now_share, ref_share = whole.high_confidence_share(score), ref.get("high_confidence_share")
        for check, now, then, error in (
            ("mean_confidence_change", whole.mean_confidence(score), ref.get("mean_confidence"),
             mean_change_error(std, n, ref_n)),
            ("high_confidence_share_change", now_share, ref_share,
             None if now_share is None else share_change_error(
                 whole.high_confidence.get(score, 0), n, ref_share, ref_n)),
        ):
            change = None if now is None or then is None else abs(now - then)
            details = {"current": now, "reference": then, "high_confidence_at": HIGH_CONFIDENCE}
            rows.append(judge_change("model", check, score, change,
                                     cfg.thresholds.for_check(check, score), details,
                                     sampling_error=error, rows=n))
    return rows
