"""Paired comparison on labelled requests: same requests, both models, labels known at ``as_of``.

For the whole population and each slice with at least ``slices.min_rows`` labelled requests:

- ``auc_diff``: AUC(challenger) − AUC(champion) with DeLong's paired interval (closed form from
  placement values; ``stats.delong_paired``).
- ``log_loss_diff``: log loss(challenger) − log loss(champion) with the paired normal interval of
  the per-request differences (negative: the challenger is better).
- ``mcnemar``: McNemar's test on decision correctness at each model's threshold; the value is its
  p-value, the accuracies are in the details.

Across slices two Benjamini–Hochberg corrections run at ``slices.fdr``: one on McNemar's p-values
(``details.bh_significant``), one on the one-sided test "the challenger's AUC is worse than the
champion's by more than ``gate.slice_margin``"; slices it flags are ``warn`` here and make the
promotion gate fail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from modelwatch.config.schema import MonitorConfig
from modelwatch.drift.fdr import benjamini_hochberg
from modelwatch.metrics import MetricRow
from modelwatch.shadow.agreement import selected_slices
from modelwatch.shadow.queries import LabelledSums
from modelwatch.shadow.rows import ALL, informational, row, skipped, slice_key
from modelwatch.shadow.stats import ClassSums, McNemar, PairedComparison, delong_paired, mcnemar


@dataclass
class SliceResult:
    key: str
    labelled: int
    positives: int
    comparison: PairedComparison | None = None
    test: McNemar | None = None
    accuracy_champion: float | None = None
    accuracy_challenger: float | None = None
    p_worse: float | None = None
    worse: bool = False
    mcnemar_significant: bool = False
    reason: str | None = None


@dataclass
class LabelledResult:
    """Everything the rows and the gate need about one period's labelled pairs."""

    start: datetime
    end: datetime
    as_of: datetime
    paired: int
    labelled: int
    positives: int
    duplicated_labels: int
    slices: dict[str, SliceResult] = field(default_factory=dict)
    per_window: list[int] = field(default_factory=list)  # labelled pairs per window, if asked
    window_starts: list[datetime] = field(default_factory=list)  # of those windows

    @property
    def whole(self) -> SliceResult:
        return self.slices[ALL]

    @property
    def worse_slices(self) -> list[SliceResult]:
        return [s for k, s in self.slices.items() if k != ALL and s.worse]

    @property
    def tested_slices(self) -> list[SliceResult]:
        return [s for k, s in self.slices.items() if k != ALL and s.comparison is not None]


def _compare(cfg: MonitorConfig, key: str, classes: dict[float, ClassSums]) -> SliceResult:
    pos, neg = classes.get(1.0, ClassSums()), classes.get(0.0, ClassSums())
    n = pos.count + neg.count
    binary = cfg.model.task == "binary"
    result = SliceResult(key, n, pos.count if binary else 0)
    if not binary:
        result.reason = (f"label-based comparison is implemented for binary models only "
                         f"(model.task: {cfg.model.task})")
        return result
    if n == 0:
        result.reason = "no labelled request scored by both models"
        return result
    if pos.count == 0 or neg.count == 0:
        result.reason = (f"all {n} labelled requests have label {1 if pos.count else 0}: AUC needs "
                         "both classes")
        return result
    settings = cfg.shadow
    result.comparison = delong_paired(pos, neg, confidence=settings.confidence)
    result.test = mcnemar(pos.only_a_right + neg.only_a_right, pos.only_b_right + neg.only_b_right)
    result.accuracy_champion = (pos.right_a + neg.right_a) / n
    result.accuracy_challenger = (pos.right_b + neg.right_b) / n
    result.p_worse = result.comparison.p_worse(settings.gate.slice_margin)
    return result


def compare_labelled(cfg: MonitorConfig, sums: LabelledSums, *, start: datetime, end: datetime,
                     as_of: datetime) -> LabelledResult:
    """All-population and per-slice comparisons, with the cross-slice corrections applied."""
    binary = cfg.model.task == "binary"
    out = LabelledResult(start, end, as_of, paired=sums.paired, labelled=sums.labelled,
                         positives=sums.positives if binary else 0,
                         duplicated_labels=sums.duplicated_labels, per_window=sums.per_window,
                         window_starts=sums.window_starts)
    whole = sums.classes.get(("all", None), {})
    if not binary:  # no class sums: the counts still say how many were labelled
        whole = {0.0: ClassSums(count=sums.labelled)}
    out.slices[ALL] = _compare(cfg, ALL, whole)
    counts = {key: sum(c.count for c in by_y.values()) for key, by_y in sums.classes.items()
              if key[0] != "all"}
    for segment, value in selected_slices(cfg, counts):
        key = slice_key(segment, value)
        classes = sums.classes[(segment, value)]
        if counts[(segment, value)] < cfg.slices.min_rows:
            result = SliceResult(key, counts[(segment, value)],
                                 classes.get(1.0, ClassSums()).count)
            result.reason = (f"{result.labelled} labelled requests in slice, fewer than "
                             f"slices.min_rows={cfg.slices.min_rows}")
            out.slices[key] = result
            continue
        out.slices[key] = _compare(cfg, key, classes)
    _correct_across_slices(cfg, out)
    return out


def _correct_across_slices(cfg: MonitorConfig, out: LabelledResult) -> None:
    tested = out.tested_slices
    if not tested:
        return
    margin = cfg.shadow.gate.slice_margin
    for flag in ("worse", "mcnemar_significant"):
        p_values = [s.p_worse if flag == "worse" else s.test.p_value for s in tested]
        rejected = benjamini_hochberg(p_values, cfg.slices.fdr)
        for s, reject in zip(tested, rejected, strict=True):
            if flag == "worse":
                s.worse = bool(reject) and s.comparison.auc_diff.estimate < -margin
            else:
                s.mcnemar_significant = bool(reject)


def _base(result: LabelledResult) -> dict:
    return {"window_start": result.start.isoformat(), "window_end": result.end.isoformat(),
            "as_of": result.as_of.isoformat()}


def labelled_rows(cfg: MonitorConfig, result: LabelledResult, *, mature: bool) -> list[MetricRow]:
    """``labelled_pairs`` plus, per slice, ``auc_diff``, ``log_loss_diff`` and ``mcnemar``."""
    base = _base(result)
    share = result.labelled / result.paired if result.paired else None
    rows = [informational("labelled_pairs", float(result.labelled), {
        **base, "paired": result.paired, "labelled_share": share, "positives": result.positives,
        "duplicated_label_ids": result.duplicated_labels, "mature": mature},
        reason="no request scored by both models in the window")]
    for key, s in result.slices.items():
        rows += slice_rows(cfg, s, base, key)
    return rows


def slice_rows(cfg: MonitorConfig, s: SliceResult, base: dict, key: str,
               prefix: str = "") -> list[MetricRow]:
    details = {**base, "labelled": s.labelled, "positives": s.positives}
    if s.comparison is None:
        return [skipped(f"{prefix}{check}", s.reason or "not computable", details=details, slice_=key)
                for check in ("auc_diff", "log_loss_diff", "mcnemar")]
    c = s.comparison
    margin = cfg.shadow.gate.slice_margin
    auc_details = {**details, "champion": c.auc_champion, "challenger": c.auc_challenger,
                   "measure": "AUC", **_ci(c.auc_diff), "method": c.method,
                   "confidence": cfg.shadow.confidence}
    if key != ALL:
        auc_details.update({"p_worse_than_margin": s.p_worse, "margin": margin,
                            "worse_beyond_margin": s.worse, "fdr": cfg.slices.fdr})
    rows = [row("auc_diff", c.auc_diff.estimate, "warn", threshold=-margin, details={
        **auc_details, "reason": f"challenger AUC lower by more than {margin} (significant after "
        f"Benjamini–Hochberg across slices)"}, slice_=key) if s.worse else
        informational("auc_diff", c.auc_diff.estimate, auc_details, key)]
    rows.append(informational("log_loss_diff", c.log_loss_diff.estimate, {
        **details, "champion": c.log_loss_champion, "challenger": c.log_loss_challenger,
        "measure": "log loss", **_ci(c.log_loss_diff), "method": "paired normal interval"}, key))
    t = s.test
    mc_details = {**details, "champion": s.accuracy_champion, "challenger": s.accuracy_challenger,
                  "measure": "accuracy", "accuracy_diff": s.accuracy_challenger - s.accuracy_champion,
                  "champion_only_correct": t.champion_only, "challenger_only_correct": t.challenger_only,
                  "statistic": t.statistic, "method": t.method}
    if key != ALL:
        mc_details.update({"bh_significant": s.mcnemar_significant, "fdr": cfg.slices.fdr})
    rows.append(informational("mcnemar", t.p_value, mc_details, key))
    return rows


def _ci(interval) -> dict:
    def clean(x: float) -> float | None:
        return x if math.isfinite(x) else None

    return {"ci_low": clean(interval.low), "ci_high": clean(interval.high), "se": clean(interval.se)}
