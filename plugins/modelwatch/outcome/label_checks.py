"""Label rows of a window: coverage, maturity, delay, duplicates, freshness and label drift.

- ``label_coverage`` (all + slices): labelled share of the window's predictions. Judged once the
  window is mature, on its relative shortfall against the reference's coverage: this is the
  alert for labels that stopped arriving for a whole window.
- ``label_maturity`` (all): share of ``labels.delay`` elapsed since the window ended.
- ``label_delay_p50_hours`` / ``label_delay_p95_hours`` (all): ``label_ts - event_ts`` of the
  labels arrived so far (censored until mature); p95 judged once mature, against the delay.
- ``label_duplicate_share`` (all): share of labelled predictions with more than one label.
- ``label_positive_rate`` (all + slices, binary): label drift, judged once mature on the smallest
  relative change consistent with its Wilson interval.
- ``label_mean`` (all + slices, regression): label drift, the target's mean, judged once mature
  on the smallest change consistent with its normal interval, in reference standard deviations.
- ``label_class_mix`` (all + slices, multiclass): label drift, the class shares of the labelled
  rows; value = total variation distance to the reference's mix, judged once mature on the
  largest change of one class's share beyond its Wilson interval.
- ``label_freshness_hours`` (all, the run's own window only): hours since the newest label
  arrived; the early warning for a stalled label pipeline, days before coverage can show it.
"""

from __future__ import annotations

from datetime import datetime

from modelwatch.config.schema import MonitorConfig
from modelwatch.metrics import MetricRow
from modelwatch.outcome.binary import positive_rate
from modelwatch.outcome.cells import Cells
from modelwatch.outcome.intervals import wilson
from modelwatch.outcome.queries import LabelStats
from modelwatch.outcome.reference import OutcomeReference
from modelwatch.outcome.regression import label_mean
from modelwatch.outcome.thresholds import LAYER, levels, skipped, status_of
from modelwatch.outcome.windows import EvalWindow
from modelwatch.warehouse.window_stats import ALL


def _row(cfg: MonitorConfig, check: str, value: float, amount: float | None, slice_key: str,
         details: dict, judged: bool, limit=None) -> MetricRow:
    """A row whose status compares ``amount`` with the check's levels; ``limit(threshold)`` gives
    the alert level on the value's own scale for the ``threshold`` column."""
    threshold, source = levels(cfg, check)
    judged = judged and threshold is not None
    out = {**details, "judged": judged}
    if not judged:
        return MetricRow(LAYER, check, None, float(value), None, "ok", out, slice_key)
    out.update({"warn": threshold.warn, "alert": threshold.alert, "threshold_source": source})
    return MetricRow(LAYER, check, None, float(value),
                     limit(threshold) if limit else threshold.alert,
                     status_of(amount, threshold), out, slice_key)


def coverage_rows(cfg: MonitorConfig, w: EvalWindow, cells: dict[str, Cells], stats: LabelStats,
                  ref: OutcomeReference, base: dict) -> list[MetricRow]:
    """Coverage per slice; a matured window far below the reference's coverage alerts."""
    counts = {key: (c.n_rows, c.n_labelled) for key, c in cells.items()}
    counts.setdefault(ALL, (stats.rows, stats.labelled))
    rows = []
    for key, (n, labelled) in sorted(counts.items(), key=lambda kv: (kv[0] != ALL, kv[0])):
        if n == 0:
            continue
        coverage = labelled / n
        ref_cov = ref.coverage(key)
        gate = key == ALL or n >= cfg.slices.min_rows
        judged = w.mature and gate and bool(ref_cov)
        shortfall = 1 - coverage / ref_cov if ref_cov else None
        details = {**base, "rows": n, "labelled_rows": labelled, "reference_coverage": ref_cov,
                   "shortfall": shortfall, "reference_mature": ref.mature}
        if not w.mature:
            details["note"] = f"labels not mature until {w.matures_at.isoformat()}: not judged"
        rows.append(_row(cfg, "label_coverage", coverage, shortfall, key, details, judged,
                         lambda t, r=ref_cov: r * (1 - t.alert)))
    return rows


def window_label_rows(cfg: MonitorConfig, w: EvalWindow, stats: LabelStats, base: dict
                      ) -> list[MetricRow]:
    rows = [MetricRow(LAYER, "label_maturity", None, w.maturity, None, "ok", dict(base))]
    for check, value in (("label_delay_p50_hours", stats.delay_p50_hours),
                         ("label_delay_p95_hours", stats.delay_p95_hours)):
        if value is None:
            reason = ("no labels have arrived for this window" if stats.labelled == 0
                      else "label delay percentiles are not computed on this warehouse dialect")
            rows.append(skipped(check, reason, **base))
            continue
        judged = check.endswith("p95_hours") and w.mature
        details = {**base, "labelled_rows": stats.labelled}
        if not w.mature:
            details["note"] = "labels still arriving: the delay seen so far is censored (too low)"
        rows.append(_row(cfg, check, value, value, ALL, details, judged))
    if stats.labelled == 0:
        rows.append(skipped("label_duplicate_share", "no labelled rows", **base))
    else:
        share = stats.duplicated / stats.labelled
        rows.append(_row(cfg, "label_duplicate_share", share, share, ALL,
                         {**base, "duplicated": stats.duplicated, "conflicting": stats.conflicting,
                          "labelled_rows": stats.labelled,
                          "resolution": "joined to the newest label (then the larger value)"},
                         True))
    return rows


def positive_rate_rows(cfg: MonitorConfig, w: EvalWindow, cells: dict[str, Cells],
                       ref: OutcomeReference, bases: dict[str, dict]) -> list[MetricRow]:
    """Label drift of a binary model: the positive rate against the reference's, on its interval."""
    check = "label_positive_rate"
    if not w.mature:
        return [skipped(check, f"labels not mature until {w.matures_at.isoformat()}",
                        **bases.get(ALL, {}))]
    rows = []
    for key, c in sorted(cells.items(), key=lambda kv: (kv[0] != ALL, kv[0])):
        gate = cfg.outcome.min_labelled_rows if key == ALL else cfg.slices.min_rows
        if c.n_labelled < gate:
            rows.append(skipped(check, f"{c.n_labelled} labelled rows, fewer than {gate}", key,
                                **bases[key]))
            continue
        rate = positive_rate(c, cfg.outcome.confidence)
        reference = ref.slice(key).get("positive_rate")
        details = {**bases[key], **rate.details, "ci_low": rate.low, "ci_high": rate.high,
                   "ci_method": rate.method, "reference_mature": ref.mature}
        if not reference or not reference.get("value"):
            rows.append(_row(cfg, check, rate.value, None, key,
                             {**details, "note": "no reference positive rate for this slice"}, False))
            continue
        r = reference["value"]
        # smallest relative change consistent with the interval (0 if it contains the reference)
        gap = max(rate.low - r, r - rate.high, 0.0) / r
        details.update({"reference": r, "relative_change": rate.value / r - 1,
                        "relative_change_lower_bound": gap})
        rows.append(_row(cfg, check, rate.value, gap, key, details, True,
                         lambda t, ref_rate=r: ref_rate * (1 + t.alert)))
    return rows or [skipped(check, "no labelled rows", **bases.get(ALL, {}))]


def label_mean_rows(cfg: MonitorConfig, w: EvalWindow, sums: dict, ref: OutcomeReference,
                    bases: dict[str, dict]) -> list[MetricRow]:
    """Label drift of a regression model: the target mean against the reference's, measured in
    reference standard deviations beyond the window's interval."""
    check = "label_mean"
    if not w.mature:
        return [skipped(check, f"labels not mature until {w.matures_at.isoformat()}",
                        **bases.get(ALL, {}))]
    rows = []
    for key, s in sorted(sums.items(), key=lambda kv: (kv[0] != ALL, kv[0])):
        gate = cfg.outcome.min_labelled_rows if key == ALL else cfg.slices.min_rows
        if s.n_labelled < gate:
            rows.append(skipped(check, f"{s.n_labelled} labelled rows, fewer than {gate}", key,
                                **bases[key]))
            continue
        mean = label_mean(s, cfg.outcome.confidence)
        reference = ref.slice(key).get("label_mean")
        details = {**bases[key], **mean.details, "ci_low": mean.low, "ci_high": mean.high,
                   "ci_method": mean.method, "reference_mature": ref.mature}
        std = (reference or {}).get("std")
        if not reference or reference.get("value") is None or not std:
            rows.append(_row(cfg, check, mean.value, None, key,
                             {**details, "note": "no reference label mean (or a constant one) "
                              "for this slice"}, False))
            continue
        r = reference["value"]
        gap = max(mean.low - r, r - mean.high, 0.0) / std
        details.update({"reference": r, "reference_std": std,
                        "standardized_change": (mean.value - r) / std,
                        "standardized_change_lower_bound": gap})
        rows.append(_row(cfg, check, mean.value, gap, key, details, True,
                         lambda t, r=r, sd=std, up=mean.value >= r: r + (1 if up else -1)
                         * t.alert * sd))
    return rows or [skipped(check, "no labelled rows", **bases.get(ALL, {}))]


def class_mix_rows(cfg: MonitorConfig, w: EvalWindow, confusions: dict, ref: OutcomeReference,
                   bases: dict[str, dict]) -> list[MetricRow]:
    """Label drift of a multiclass model: the class mix against the reference's."""
    check = "label_class_mix"
    if not w.mature:
        return [skipped(check, f"labels not mature until {w.matures_at.isoformat()}",
                        **bases.get(ALL, {}))]
    rows = []
    conf = cfg.outcome.confidence
    for key, c in sorted(confusions.items(), key=lambda kv: (kv[0] != ALL, kv[0])):
        gate = cfg.outcome.min_labelled_rows if key == ALL else cfg.slices.min_rows
        n = c.n_labelled
        if n < gate:
            rows.append(skipped(check, f"{n} labelled rows, fewer than {gate}", key, **bases[key]))
            continue
        support = dict(zip(c.classes, c.matrix.sum(axis=1).tolist(), strict=True))
        reference = ref.slice(key).get("class_shares")
        details = {**bases[key], "reference_mature": ref.mature, "ci_method": "wilson"}
        if not reference:
            shares = {k: v / n for k, v in support.items()}
            rows.append(_row(cfg, check, 0.0, None, key,
                             {**details, "shares": shares,
                              "note": "no reference class mix for this slice"}, False))
            continue
        per_class, gaps = {}, []
        for k in sorted(set(support) | set(reference)):
            share = support.get(k, 0.0) / n
            low, high = wilson(support.get(k, 0.0), n, conf)
            r = reference.get(k, 0.0)
            gaps.append(max(low - r, r - high, 0.0))
            per_class[k] = {"share": share, "ci_low": low, "ci_high": high, "reference": r}
        tvd = 0.5 * sum(abs(v["share"] - v["reference"]) for v in per_class.values())
        details.update({"per_class": per_class, "max_share_change_lower_bound": max(gaps),
                        "value_is": "total variation distance to the reference mix"})
        rows.append(_row(cfg, check, tvd, max(gaps), key, details, True))
    return rows or [skipped(check, "no labelled rows", **bases.get(ALL, {}))]


def freshness_row(cfg: MonitorConfig, as_of: datetime, newest: datetime | None, base: dict
                  ) -> MetricRow:
    """Hours since the newest label (of this model's recent predictions) arrived."""
    check = "label_freshness_hours"
    if newest is None:
        return skipped(check, "no label has arrived for the predictions in the lookback", **base)
    hours = (as_of - newest).total_seconds() / 3600
    return _row(cfg, check, hours, hours, ALL, {**base, "newest_label_ts": newest.isoformat()},
                True)
