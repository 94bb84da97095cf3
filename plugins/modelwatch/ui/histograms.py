"""Reference vs current histograms of a window, for the heatmap's click and the report.

The current side is one aggregation of the window in the warehouse (the same query the drift
checks run, without slices), coarsened to the profile's PSI bins; the reference side comes from
the stored profile. No rows leave the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy.engine import Connection

from modelwatch.config.schema import MonitorConfig
from modelwatch.profile import Profile, coarsen
from modelwatch.warehouse.window_stats import OTHER, compute_window_stats


@dataclass(frozen=True)
class Histogram:
    feature: str
    labels: list[str]
    reference: list[float]  # shares, summing to 1 over non-null values
    current: list[float]
    current_rows: int


def _shares(counts) -> list[float]:
    arr = np.asarray(counts, dtype=float)
    total = arr.sum()
    return (arr / total).tolist() if total > 0 else [0.0] * len(arr)


def _edge_labels(edges: list[float]) -> list[str]:
    if not edges:
        return ["all"]
    return ([f"<{edges[0]:.3g}"] + [f"{a:.3g}–{b:.3g}" for a, b in zip(edges, edges[1:], strict=False)]
            + [f"≥{edges[-1]:.3g}"])


def window_histograms(conn: Connection, cfg: MonitorConfig, profile: Profile, start: datetime,
                      end: datetime, features: list[str] | None = None) -> dict[str, Histogram]:
    """Coarse-bin (PSI) histograms of ``features`` (default: all) for the window ``[start, end)``."""
    stats = compute_window_stats(conn, cfg, start, end, profile.plan(with_segments=False))
    out: dict[str, Histogram] = {}
    for name, col in profile.data["numeric"].items():
        if features is not None and name not in features:
            continue
        coarse = col["coarse_edges"]
        ref = coarsen(col["counts"], col["edges"], coarse)
        cur = coarsen(stats.numeric[name].bins, col["edges"], coarse)
        out[name] = Histogram(name, _edge_labels(coarse), _shares(ref), _shares(cur),
                              int(stats.numeric[name].count))
    for name, col in profile.data["categorical"].items():
        if features is not None and name not in features:
            continue
        cats = list(col["categories"])
        seen = stats.categories.get(name, {})
        cur = [seen.get(c, 0) for c in cats] + [seen.get(OTHER, 0)]
        out[name] = Histogram(name, [*cats, "other"], _shares(col["counts"]), _shares(cur),
                              int(sum(cur)))
    return out
