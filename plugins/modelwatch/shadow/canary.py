"""Canary: a new version serves a fraction of live traffic (``shadow.canary_version``), the rest
of ``predictions`` is the control. Unlike shadow, the two groups saw *different* requests, so
the comparison is of distributions and outcomes, not pairs:

- ``canary_traffic_share``: share of the window's requests the canary served.
- ``canary_score_psi``: PSI of the canary's scores against the control's (bins: the control's
  quantiles); levels from ``thresholds`` (``canary_score_psi``), else PSI's documented 0.1/0.25 —
  with random traffic assignment the two distributions should match.
- ``canary_latency_p99``: the canary's p99 latency, the control's alongside (p50/p95 in details).
- With labels (same maturing schedule as the shadow's): ``canary_auc_diff`` and
  ``canary_log_loss_diff`` (canary − control): DeLong's variance of each group's AUC (the groups
  saw different requests, so the variances add) and the normal interval of the mean log losses.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.engine import Connection

from modelwatch.config.schema import ConstantThreshold, MonitorConfig
from modelwatch.drift.methods import BinnedInput, get_method
from modelwatch.metrics import MetricRow, judge
from modelwatch.shadow import queries
from modelwatch.shadow.rows import LAYER, informational, skipped
from modelwatch.shadow.stats import ClassSums, delong_single, normal_interval

if TYPE_CHECKING:
    from datetime import datetime

    from modelwatch.window import Window


def canary_rows(conn: Connection, cfg: MonitorConfig, window: Window) -> list[MetricRow]:
    version = cfg.shadow.canary_version
    bins = cfg.drift.bins
    summary = queries.canary_summary(conn, cfg, window.start, window.end,
                                     [i / bins for i in range(1, bins)])
    counts = summary["rows"]
    canary, control = counts.get("canary", 0), counts.get("control", 0)
    base = {"canary_version": version, "canary_rows": canary, "control_rows": control}
    if not canary:
        reason = f"no request served by canary version {version!r} in the window"
        return [skipped(check, reason, details=base) for check in
                ("canary_traffic_share", "canary_score_psi", "canary_latency_p99")]
    rows = [informational("canary_traffic_share", canary / (canary + control), base)]
    hist = summary["hist"]
    if not control or hist["control"].sum() == 0 or hist["canary"].sum() == 0:
        rows.append(skipped("canary_score_psi", "no scored control or canary request", details=base))
    else:
        edges = np.asarray(summary["edges"], dtype=float)
        score = get_method("psi", "numeric").func(
            BinnedInput(hist["control"], hist["canary"], edges=edges if edges.size else None))
        spec = cfg.thresholds.for_check("canary_score_psi")
        if not isinstance(spec, ConstantThreshold):
            psi = get_method("psi", "numeric")
            spec = ConstantThreshold(warn=psi.default_warn, alert=psi.default_alert)
        judged = judge(LAYER, "canary_score_psi", None, score.value, spec, base)
        rows.append(judged)
    latency = summary["latency"]
    if not cfg.columns.latency_ms:
        rows.append(skipped("canary_latency_p99", "columns.latency_ms is not configured", details=base))
    elif latency.get("canary") is None:
        rows.append(skipped("canary_latency_p99", "no canary latency logged", details=base))
    else:
        a, b = latency.get("control"), latency["canary"]
        rows.append(informational("canary_latency_p99", b[-1], {
            **base, "champion": a[-1] if a else None, "challenger": b[-1], "measure": "ms",
            "control_p50_p95_p99": a, "canary_p50_p95_p99": b}))
    return rows


def canary_labelled_rows(conn: Connection, cfg: MonitorConfig, start: datetime, end: datetime,
                         as_of: datetime) -> list[MetricRow]:
    if cfg.model.task != "binary":
        return [skipped(c, "label-based comparison is implemented for binary models only", details={
            "window_start": start.isoformat(), "window_end": end.isoformat(), "as_of": as_of.isoformat()})
            for c in ("canary_auc_diff", "canary_log_loss_diff")]
    groups = queries.canary_sums(conn, cfg, start, end, as_of)
    details = {"canary_version": cfg.shadow.canary_version, "window_start": start.isoformat(),
               "window_end": end.isoformat(), "as_of": as_of.isoformat()}
    problems = []
    for name in ("control", "canary"):
        classes = groups.get(name, {})
        pos, neg = classes.get(1.0, ClassSums()), classes.get(0.0, ClassSums())
        details[f"{name}_labelled"] = pos.count + neg.count
        if pos.count + neg.count < cfg.slices.min_rows or not pos.count or not neg.count:
            problems.append(f"{name}: {pos.count + neg.count} labelled, {pos.count} positive")
    if problems:
        reason = (f"each group needs slices.min_rows={cfg.slices.min_rows} labelled requests of both "
                  "classes; " + "; ".join(problems))
        return [skipped(c, reason, details=details) for c in ("canary_auc_diff", "canary_log_loss_diff")]
    confidence = cfg.shadow.confidence
    (auc_c, var_c, ll_c, llvar_c), (auc_t, var_t, ll_t, llvar_t) = (
        delong_single(groups[g].get(1.0), groups[g].get(0.0)) for g in ("control", "canary"))
    results = {"auc": (auc_c, auc_t, normal_interval(auc_t - auc_c, math.sqrt(var_c + var_t), confidence)),
               "log_loss": (ll_c, ll_t, normal_interval(ll_t - ll_c, math.sqrt(llvar_c + llvar_t),
                                                        confidence))}
    out = []
    for check, metric, measure in (("canary_auc_diff", "auc", "AUC"),
                                   ("canary_log_loss_diff", "log_loss", "log loss")):
        control, treated, interval = results[metric]
        out.append(informational(check, interval.estimate, {
            **details, "champion": control, "challenger": treated,
            "measure": f"{measure} (control / canary)", "ci_low": interval.low, "ci_high": interval.high,
            "se": interval.se, "method": "DeLong, independent groups" if metric == "auc" else
            "normal interval of the difference of means"}))
    return out
