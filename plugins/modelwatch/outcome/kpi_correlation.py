"""Correlation of each KPI with model and outcome metrics over the recent windows.

Per window and KPI (whole population), the windows of the last ``kpi_correlation.windows``
windows ending at this one that have both the KPI and a metric give one ``kpi_correlation`` row:
``feature`` = ``<kpi>~<metric>`` (``<metric>`` is the check, with ``[<feature>]`` for a check with
one row per feature, e.g. ``approval_rate~score_psi[score]``), value = Pearson's r, details the
Spearman ρ, both two-sided p-values (t distribution with n − 2 degrees of freedom, as
``scipy.stats.pearsonr``/``spearmanr``) and n. Rows are informative (``ok``); fewer than
``min_windows`` pairs or a constant series gives ``skipped`` with the reason.

A correlation over a few dozen windows says which model signal moves with the business — the
first thing to look at when a KPI alerts — not that one causes the other. The math is pure on the
bounded per-window history (at most a few hundred numbers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np

from modelwatch.config.outcome import KpiCorrelationSettings
from modelwatch.drift.seasonal import HistoryPoint
from modelwatch.metrics import MetricRow
from modelwatch.outcome.kpi_history import KpiHistory, parse_metric
from modelwatch.outcome.kpis import CHECK as KPI_CHECK
from modelwatch.outcome.thresholds import LAYER, skipped
from modelwatch.warehouse.window_stats import ALL

CHECK = "kpi_correlation"

# Metrics correlated with KPIs when ``outcome.kpi_correlation.metrics`` is not set.
DEFAULT_METRICS = {
    "binary": ("outcome.roc_auc", "outcome.estimated_roc_auc", "outcome.estimated_accuracy",
               "outcome.label_positive_rate", "model.score_psi", "model.mean_confidence_change"),
    "regression": ("outcome.mae", "outcome.bias", "outcome.label_mean", "model.score_psi"),
    "multiclass": ("outcome.accuracy", "outcome.macro_f1", "outcome.label_class_mix",
                   "model.score_psi"),
    "ranking": ("outcome.ndcg_at_k", "outcome.map_at_k", "outcome.recall_at_k",
                "model.score_psi"),
}


def metrics_of(task: str, settings: KpiCorrelationSettings) -> tuple[str, ...]:
    return tuple(settings.metrics) if settings.metrics is not None else DEFAULT_METRICS[task]


def _r_and_p(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from scipy.stats import t as t_dist  # lazy: keep the outcome import light

    xc, yc = x - x.mean(), y - y.mean()
    r = float((xc @ yc) / math.sqrt(float(xc @ xc) * float(yc @ yc)))
    r = max(-1.0, min(1.0, r))
    n = x.size
    if abs(r) == 1.0:
        return r, 0.0
    t = r * math.sqrt((n - 2) / (1 - r * r))
    return r, float(2 * t_dist.sf(abs(t), n - 2))


def correlation(x: Sequence[float], y: Sequence[float]) -> dict | None:
    """Pearson r and Spearman ρ (average ranks for ties) with p-values; None if undefined
    (fewer than three pairs, or either series constant)."""
    from scipy.stats import rankdata

    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if a.size != b.size:
        raise ValueError(f"series of different lengths: {a.size} and {b.size}")
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    r, p = _r_and_p(a, b)
    rho, p_rho = _r_and_p(rankdata(a), rankdata(b))
    return {"pearson": r, "pearson_p": p, "spearman": rho, "spearman_p": p_rho, "n": int(a.size)}


def _label(check: str, feature: str | None) -> str:
    return check if feature is None else f"{check}[{feature}]"


def _values(points: list[HistoryPoint], starts: set[datetime], length: timedelta
            ) -> dict[datetime, float]:
    return {p.window_start: float(p.value) for p in points
            if p.window_start in starts and p.window_end - p.window_start == length
            and p.value is not None and math.isfinite(p.value)}


def correlation_rows(history: KpiHistory, metrics: Sequence[str], settings: KpiCorrelationSettings,
                     start: datetime, end: datetime, step: timedelta, base: dict
                     ) -> list[MetricRow]:
    """The window's ``kpi_correlation`` rows: every KPI with a value in it × every metric.

    ``history`` must already hold this window's rows (``KpiHistory.record``).
    """
    if not metrics:
        return []
    length = end - start
    starts = {start - i * step for i in range(settings.windows)}
    rows = []
    for kpi in history.features(LAYER, KPI_CHECK):
        if kpi is None:
            continue
        kpi_values = _values(history.series(LAYER, KPI_CHECK, kpi), starts, length)
        if start not in kpi_values:
            continue
        for spec in metrics:
            layer, check = parse_metric(spec)
            features = history.features(layer, check)
            if not features:
                rows.append(skipped(CHECK, f"no stored `{spec}` rows (whole population) in the last "
                                    f"{settings.windows} windows", ALL, f"{kpi}~{check}",
                                    **base, kpi=kpi, metric=spec))
                continue
            for feature in features:
                name = f"{kpi}~{_label(check, feature)}"
                metric_values = _values(history.series(layer, check, feature), starts, length)
                common = sorted(set(kpi_values) & set(metric_values))
                details = {**base, "kpi": kpi, "metric": spec, "metric_feature": feature,
                           "windows": settings.windows, "n": len(common)}
                if len(common) < settings.min_windows:
                    rows.append(skipped(CHECK, f"{len(common)} window(s) with both the KPI and "
                                        f"`{spec}`, needs min_windows={settings.min_windows}",
                                        ALL, name, **details))
                    continue
                result = correlation([kpi_values[s] for s in common],
                                     [metric_values[s] for s in common])
                if result is None:
                    rows.append(skipped(CHECK, "constant series: correlation undefined", ALL,
                                        name, **details))
                    continue
                details.update({**result, "first_window": common[0].isoformat(),
                                "last_window": common[-1].isoformat()})
                rows.append(MetricRow(LAYER, CHECK, name, result["pearson"], None, "ok", details))
    return rows
