"""Distribution drift of features (layer ``data``) and of the score (layer ``model``)."""

from __future__ import annotations

import numpy as np

from modelwatch.config.schema import MonitorConfig
from modelwatch.metrics import MetricRow, judge
from modelwatch.profile import OTHER, Profile
from modelwatch.stats import get_method
from modelwatch.warehouse.window_stats import WindowStats


def fold_categories(counts: dict[str, int], categories: list[str]) -> np.ndarray:
    """Current counts laid over the reference's top-K buckets; unseen values go to "other"."""
    known = set(categories)
    other = sum(n for value, n in counts.items() if value not in known)
    return np.array([counts.get(c, 0) for c in categories] + [other], dtype=float)


def _psi_row(cfg, layer, check, feature, ref, cur, details) -> MetricRow:
    value = get_method("psi", details["kind"])(np.asarray(ref, float), cur)
    return judge(layer, check, feature, value, cfg.thresholds.for_check(check, feature), details)


def drift_checks(cfg: MonitorConfig, stats: WindowStats, profile: Profile) -> list[MetricRow]:
    rows = []
    for feature in cfg.features:
        if feature.kind == "numeric":
            ref = profile.data["numeric"][feature.name]
            cur = np.array(stats.numeric[feature.name].bins, dtype=float)
            details = {"kind": "numeric", "bins": len(cur), "current_mean":
                       stats.numeric[feature.name].mean, "reference_mean": ref["mean"]}
        else:
            ref = profile.data["categorical"][feature.name]
            cur = fold_categories(stats.categories[feature.name], ref["categories"])
            unseen = [v for v in stats.categories[feature.name] if v not in set(ref["categories"])]
            details = {"kind": "categorical", "buckets": len(cur), "other_share":
                       float(cur[-1] / cur.sum()) if cur.sum() else None,
                       "new_values_sample": sorted(unseen)[:5] if ref["cardinality"] <= 50 else []}
        details["importance"] = feature.importance
        rows.append(_psi_row(cfg, "data", "psi", feature.name, ref["counts"], cur, details))
    for score in cfg.columns.score:
        ref = profile.data["numeric"][score]
        cur = np.array(stats.numeric[score].bins, dtype=float)
        details = {"kind": "numeric", "current_mean": stats.numeric[score].mean,
                   "reference_mean": ref["mean"]}
        rows.append(_psi_row(cfg, "model", "score_psi", score, ref["counts"], cur, details))
    return rows


__all__ = ["OTHER", "drift_checks", "fold_categories"]
