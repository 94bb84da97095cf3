"""Silent defaulting: one constant suddenly fills a feature — the classic broken-join symptom.

Per feature, the share of the window's values equal to each watched constant (0, -1, '', the
reference mean and mode, …) is compared with that constant's share in the reference. The value
of ``silent_default_share`` is the largest increase; the details name the constant, so the alert
reads "avg_amount_30d silently defaulted to 0 in 100.0% of rows (reference 0.0%)". Retraining
won't fix this: the feature is broken upstream.
"""

from __future__ import annotations

from modelwatch.config.schema import MonitorConfig
from modelwatch.data_layer.rows import judged, judged_change, pct, share, skipped
from modelwatch.data_layer.scan import Candidate, FeatureCounts
from modelwatch.metrics import MetricRow
from modelwatch.sampling import share_change_error

CHECK = "silent_default_share"


def silent_default(cfg: MonitorConfig, name: str, kind: str, candidates: tuple[Candidate, ...],
                   reference_shares: list[float | None], counts: FeatureCounts,
                   reference_values: int | None = None) -> MetricRow:
    """The watched constant whose share rose most against the reference, judged."""
    valid = counts.valid(kind)
    if counts.non_null == 0:
        return skipped(CHECK, name, "all_null", f"{name}: every value is null in the window, so no "
                       "constant can be judged (see null_rate_increase)")
    if valid < cfg.data_layer.defaulting.min_rows:
        return skipped(CHECK, name, "too_few_rows", f"{name}: {valid} valid values in the window, fewer "
                       f"than data_layer.defaulting.min_rows={cfg.data_layer.defaulting.min_rows}",
                       values=valid)
    if not candidates:
        return judged(cfg, CHECK, name, 0.0, {"message": f"{name}: no constant watched", "values": valid})
    best = None
    for candidate, ref_share, n in zip(candidates, reference_shares, counts.candidates, strict=True):
        now = share(n, valid)
        increase = now - (ref_share or 0.0)
        if best is None or increase > best[0]:
            best = (increase, candidate, now, ref_share, n)
    increase, candidate, now, ref_share, n = best
    increase = max(increase, 0.0)
    details = {"value": candidate.value, "constant": candidate.label, "window_share": now,
               "reference_share": ref_share, "values": valid}
    row = judged_change(cfg, CHECK, name, increase, details, rows=valid,
                        sampling_error=share_change_error(n, valid, ref_share, reference_values))
    if row.status in ("warn", "alert"):
        message = (f"{name} silently defaulted to {candidate.describe()} in {pct(now)} of rows "
                   f"(reference {pct(ref_share)}): a broken join or fill upstream, not drift")
    else:
        message = (f"{name}: no constant above its reference share (largest rise: "
                   f"{candidate.describe()} at {pct(now)} vs {pct(ref_share)})")
    row.details["message"] = message
    return row
