"""Reference profiles: computed once per model version, stored in ``mw_reference_profile``.

A profile holds, per numeric column, the quantile edges (10 bins for PSI) and the reference
counts in those bins, plus moments and null rate; per categorical column, the top-K categories
and an "other" bucket. Every window is compared against it without touching reference rows again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from modelwatch.clock import utcnow
from modelwatch.config.schema import MonitorConfig
from modelwatch.errors import ReferenceError_
from modelwatch.warehouse.dialects import quantiles
from modelwatch.warehouse.source import predictions_ref, window_filter
from modelwatch.warehouse.tables import mw_reference_profile
from modelwatch.warehouse.window_stats import (
    WindowStats,
    categorical_columns,
    compute_window_stats,
    numeric_columns,
)

PSI_BINS = 10
TOP_K = 50
OTHER = "__other__"
PROFILE_FORMAT = 1


@dataclass
class Profile:
    model_name: str
    profile_key: str
    data: dict

    def edges(self) -> dict[str, list[float]]:
        return {name: col["edges"] for name, col in self.data["numeric"].items()}

    @property
    def rows_per_window(self) -> float:
        return self.data["rows_per_window"]


def _reference_bounds(cfg: MonitorConfig) -> tuple[datetime, datetime]:
    ref = cfg.reference
    if ref.start and ref.end:
        return ref.start.replace(tzinfo=None), ref.end.replace(tzinfo=None)
    return datetime(1970, 1, 1), datetime(9999, 1, 1)


def profile_key(cfg: MonitorConfig) -> str:
    """Changes when anything that shapes the profile changes, so a stale one is never reused."""
    spec = {
        "format": PROFILE_FORMAT,
        "reference": cfg.reference.model_dump(mode="json"),
        "numeric": numeric_columns(cfg),
        "categorical": categorical_columns(cfg),
        "bins": PSI_BINS,
        "top_k": TOP_K,
        "table": cfg.tables.predictions,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:32]


def _inner_edges(values: list[float] | None) -> list[float]:
    """Unique quantile cut points; ties (e.g. count features) collapse into fewer bins."""
    if not values:
        return []
    return sorted({round(float(v), 12) for v in values})


def _summarize(stats: WindowStats, cfg: MonitorConfig, edges: dict, n_windows: float) -> dict:
    numeric = {}
    for name in numeric_columns(cfg):
        summary = stats.numeric[name]
        numeric[name] = {
            "edges": edges[name],
            "counts": summary.bins,
            "null_rate": stats.null_rate(name),
            "mean": summary.mean,
            "std": summary.std,
            "min": summary.minimum,
            "max": summary.maximum,
        }
    categorical = {}
    for name in categorical_columns(cfg):
        counts = stats.categories[name]
        top = sorted(counts, key=lambda v: (-counts[v], v))[:TOP_K]
        other = sum(n for v, n in counts.items() if v not in set(top))
        categorical[name] = {
            "categories": top,
            "counts": [counts[v] for v in top] + [other],
            "cardinality": len(counts),
            "null_rate": stats.null_rate(name),
        }
    return {
        "rows": stats.rows,
        "rows_per_window": stats.rows / n_windows,
        "numeric": numeric,
        "categorical": categorical,
        "versions": stats.versions,
    }


def compute_profile(conn: Connection, cfg: MonitorConfig) -> dict:
    start, end = _reference_bounds(cfg)
    table = cfg.reference.table
    tbl = predictions_ref(cfg, table)
    source = sa.select(tbl).where(window_filter(cfg, tbl, start, end)).subquery("ref")
    probs = [i / PSI_BINS for i in range(1, PSI_BINS)]
    cuts = quantiles(conn, source, numeric_columns(cfg), probs)
    edges = {name: _inner_edges(values) for name, values in cuts.items()}
    stats = compute_window_stats(conn, cfg, start, end, edges, table=table)
    if stats.rows == 0:
        where = f"table {table}" if table else f"window [{start}, {end})"
        raise ReferenceError_(
            f"{cfg.model.name}: the reference {where} holds no rows of this model. Fix: point "
            "`reference` at a period with traffic, or load the reference table"
        )
    if cfg.reference.start and cfg.reference.end:
        span = stats.max_event_ts - stats.min_event_ts if table else end - start
    else:
        span = stats.max_event_ts - stats.min_event_ts
    n_windows = max(span / cfg.schedule.window, 1.0) if span > timedelta(0) else 1.0
    return _summarize(stats, cfg, edges, n_windows)


def load_profile(conn: Connection, cfg: MonitorConfig) -> Profile | None:
    key = profile_key(cfg)
    row = conn.execute(
        sa.select(mw_reference_profile.c.profile).where(
            mw_reference_profile.c.model_name == cfg.model.name,
            mw_reference_profile.c.profile_key == key,
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    data = json.loads(row) if isinstance(row, str) else row
    return Profile(cfg.model.name, key, data)


def ensure_profile(engine: Engine, cfg: MonitorConfig, *, rebuild: bool = False) -> Profile:
    """Load the stored profile for this config, computing and storing it the first time."""
    key = profile_key(cfg)
    with engine.begin() as conn:
        if not rebuild:
            existing = load_profile(conn, cfg)
            if existing is not None:
                return existing
        data = compute_profile(conn, cfg)
        conn.execute(
            sa.delete(mw_reference_profile).where(
                mw_reference_profile.c.model_name == cfg.model.name,
                mw_reference_profile.c.profile_key == key,
            )
        )
        conn.execute(
            sa.insert(mw_reference_profile).values(
                model_name=cfg.model.name,
                profile_key=key,
                model_version=cfg.reference.model_version
                or (max(data["versions"], key=data["versions"].get) if data["versions"] else None),
                reference=cfg.reference.model_dump(mode="json"),
                profile=data,
                created_at=utcnow(),
            )
        )
    return Profile(cfg.model.name, key, data)
