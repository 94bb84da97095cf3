"""Values outside the reference range: the share of a window's finite values beyond
[p1 - m, p99 + m], with m = ``data_layer.ranges.margin`` × (p99 - p1) of the reference."""

from __future__ import annotations

from modelwatch.config.schema import MonitorConfig
from modelwatch.data_layer.rows import judged_change, pct, share, skipped
from modelwatch.data_layer.scan import FeatureCounts
from modelwatch.metrics import MetricRow
from modelwatch.sampling import share_change_error

CHECK = "out_of_range_share"


def out_of_range(cfg: MonitorConfig, name: str, bounds: tuple[float, float] | None,
                 reference_share: float | None, counts: FeatureCounts) -> MetricRow:
    if counts.non_null == 0:
        return skipped(CHECK, name, "all_null", f"{name}: every value is null in the window")
    if bounds is None:
        return skipped(CHECK, name, "empty_reference", f"{name}: the reference has no values, so no range")
    if counts.finite == 0:
        return skipped(CHECK, name, "too_few_rows", f"{name}: no finite value in the window "
                       "(see non_finite_share)")
    value = share(counts.out_of_range, counts.finite)
    lo, hi = bounds
    details = {"outside": counts.out_of_range, "values": counts.finite, "low": lo, "high": hi,
               "reference_share": reference_share}
    row = judged_change(cfg, CHECK, name, value, details, rows=counts.finite,
                        sampling_error=share_change_error(counts.out_of_range, counts.finite,
                                                          reference_share, None))
    row.details["message"] = (f"{name}: {pct(value)} of values outside [{lo:.6g}, {hi:.6g}] "
                              f"(reference {pct(reference_share)})")
    return row
