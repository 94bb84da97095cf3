"""Reference profiles: computed once per reference definition, stored in ``mw_reference_profile``.

A profile holds everything a window is compared against, so no window ever touches reference
rows again:

- per numeric column (features and score): a fine quantile grid (``drift.fine_bins``, default
  100) with the reference counts in it — KS and Wasserstein use it, PSI-style methods use its
  coarsening to ``drift.bins`` quantile bins — plus null rate, moments, range and percentiles;
- per categorical column: the top-K categories plus an ``__other__`` bucket, and its cardinality;
- per segment column: the top-N values by volume, and the reference counts of every such slice;
- per reference *window* (the reference cut into monitoring windows): the same counts, which give
  each statistic's null distribution (calibrated thresholds) and same-weekday baselines;
- when exact KS is on (``drift.ks_exact_max_rows``), a seeded sample of at most 5000 reference
  rows (``warehouse.samples``) that small windows are compared with value by value.

The reference rows come from a window of the predictions table, a reference table, or a parquet
file in S3 staged into a temporary table (``warehouse.s3_reference``); the last two take the same
SQL path. A file's ETag is part of the profile's identity.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from modelwatch.clock import utcnow
from modelwatch.config.schema import MonitorConfig
from modelwatch.errors import ReferenceError_
from modelwatch.warehouse.contract import ensure_inputs
from modelwatch.warehouse.dialects import quantiles
from modelwatch.warehouse.s3_reference import object_identity, staged_reference
from modelwatch.warehouse.samples import reference_sample, wants_exact_ks
from modelwatch.warehouse.source import monitored_rows
from modelwatch.warehouse.tables import mw_reference_profile
from modelwatch.warehouse.window_stats import (
    ALL,
    OTHER,
    SliceStats,
    StatsPlan,
    categorical_columns,
    compute_window_stats,
    confidence_columns,
    numeric_columns,
)

PROFILE_FORMAT = 7  # 5: reference sample for exact KS, S3 reference identity;
# 6: the sample in its own column (read only when a window needs it); 7: confidence spread and rows
GRID_CELLS = 2048
GRID_RANGE = (0.005, 0.995)
MAX_REFERENCE_WINDOWS = 200
PERCENTILES = (1, 5, 25, 50, 75, 95, 99)

__all__ = ["OTHER", "Profile", "coarsen", "ensure_profile", "load_profile", "profile_key",
           "reference_identity"]


@dataclass
class Profile:
    model_name: str
    profile_key: str
    data: dict
    # The reference sample for exact KS is ~95 % of a stored profile's bytes and most windows
    # never need it (only those with at most ``drift.ks_exact_max_rows`` values), so it is stored
    # in its own column and read on first use: ``sample``.
    sample_loader: Callable[[], dict | None] | None = field(default=None, repr=False)
    _sample: dict | None = field(default=None, repr=False)
    _sample_loaded: bool = field(default=False, repr=False)

    def plan(self, *, with_segments: bool = True) -> StatsPlan:
        """What a window must aggregate to be compared with this profile."""
        return StatsPlan(
            edges={name: col["edges"] for name, col in self.data["numeric"].items()},
            categories={name: col["categories"] for name, col in self.data["categorical"].items()},
            segments=self.data["segments"] if with_segments else {},
            grids={name: col["grid"] for name, col in self.data["numeric"].items()
                   if col.get("grid")},
        )

    def edges(self) -> dict[str, list[float]]:
        return {name: col["edges"] for name, col in self.data["numeric"].items()}

    @property
    def rows_per_window(self) -> float:
        return self.data["rows_per_window"]

    @property
    def windows(self) -> list[dict]:
        return self.data["windows"]

    def volume_baseline(self, start: datetime, *, match_hour: bool = False
                        ) -> tuple[list[int], str]:
        """Row counts of the reference windows a window starting at ``start`` is compared with:
        the same weekday (and start hour with ``match_hour``), else all of them; and what they
        are, in words. A Saturday is compared with Saturdays, so weekly volume is not an alert."""
        windows = self.windows
        same_day = [w for w in windows if w["weekday"] == start.weekday()]
        if match_hour:
            same_hour = [w for w in same_day if w.get("hour") == start.hour]
            if same_hour:
                return ([int(w["rows"]) for w in same_hour],
                        f"weekday {start:%A}, hour {start.hour:02d}")
        if same_day:
            return [int(w["rows"]) for w in same_day], f"weekday {start:%A}"
        return [int(w["rows"]) for w in windows], "all reference windows (none on this weekday)"

    @property
    def has_sample(self) -> bool:
        """Whether a reference sample for exact KS was drawn (without reading it)."""
        return bool(self.data.get("has_sample"))

    @property
    def sample(self) -> dict | None:
        """The reference row sample for exact KS (``warehouse.samples``), if drawn; read from
        the warehouse the first time it is asked for."""
        if not self._sample_loaded:
            self._sample = (self.sample_loader() if self.sample_loader and self.has_sample
                            else None)
            self._sample_loaded = True
        return self._sample


def coarsen(counts, fine_edges: list[float], coarse_edges: list[float]) -> np.ndarray:
    """Sum fine-grid counts into the coarse bins (coarse edges are a subset of the fine ones)."""
    counts = np.asarray(counts, dtype=float)
    lowers = np.asarray(fine_edges, dtype=float)
    index = np.concatenate([[0], np.searchsorted(np.asarray(coarse_edges, float), lowers,
                                                 side="right")])
    return np.bincount(index, weights=counts, minlength=len(coarse_edges) + 1)


def _reference_bounds(cfg: MonitorConfig) -> tuple[datetime, datetime]:
    ref = cfg.reference
    if ref.start and ref.end:
        return ref.start.replace(tzinfo=None), ref.end.replace(tzinfo=None)
    return datetime(1970, 1, 1), datetime(9999, 1, 1)


def reference_identity(cfg: MonitorConfig) -> dict:
    """What identifies the reference rows beyond the config: a file's URI and ETag (S3), else {}."""
    return object_identity(cfg.reference)


def profile_key(cfg: MonitorConfig, identity: dict | None = None) -> str:
    """Changes when anything that shapes the profile changes, so a stale one is never reused.

    ``identity`` is ``reference_identity(cfg)``; for an S3 reference it holds the object's ETag, so
    a changed file gives a new key. It is looked up when not given.
    """
    if identity is None:
        identity = reference_identity(cfg)
    spec = {
        "format": PROFILE_FORMAT,
        "reference": cfg.reference.model_dump(mode="json"),
        "numeric": numeric_columns(cfg),
        "categorical": categorical_columns(cfg),
        "segments": list(cfg.segments),
        "drift": cfg.drift.model_dump(mode="json", include={"bins", "fine_bins", "top_k"}),
        "slices": cfg.slices.model_dump(mode="json", include={"top_n", "values"}),
        "window": cfg.schedule.window.total_seconds(),
        "table": cfg.reference.table or cfg.tables.predictions,
        "ks_sample": wants_exact_ks(cfg),
    }
    if identity:
        spec["source"] = identity
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:32]


def _unique_edges(values: list[float] | None) -> list[float]:
    """Unique cut points; ties (e.g. count features) collapse into fewer bins."""
    if not values:
        return []
    return sorted({round(float(v), 12) for v in values})


def _grid(cfg: MonitorConfig, cuts: list[float] | None) -> tuple[list[float], list[float], dict, dict]:
    """Fine edges, the coarse (PSI) edges among them, percentiles, and the snapping grid.

    ``cuts`` are the reference quantiles ``GRID_RANGE[0]``, ``1/fine_n … (fine_n-1)/fine_n`` and
    ``GRID_RANGE[1]``. The fine edges are snapped onto an equal-width grid of ``GRID_CELLS``
    cells spanning the central 99 % of the reference, so a warehouse that can index arrays
    (DuckDB, PostgreSQL) bins a value with one subtraction, one multiplication and one array
    lookup instead of a search over edges (see ``window_stats.bin_expression``). Snapping moves
    an edge by at most half a cell (1/4096 of that range); it changes which reference quantile
    an edge sits on, not the validity of any test, because reference and window are binned
    alike. Edges that snap together merge, as ties do.
    """
    if not cuts:
        return [], [], {}, {}
    fine_n = cfg.drift.fine_bins
    lo, hi = float(cuts[0]), float(cuts[-1])
    inner = [float(v) for v in cuts[1:-1]]  # inner[i] = quantile (i + 1) / fine_n
    grid: dict = {}
    if hi > lo:
        inv_width = GRID_CELLS / (hi - lo)
        cell = [min(max(round((v - lo) * inv_width), 0), GRID_CELLS) for v in inner]
        grid = {"lo": lo, "inv_width": inv_width, "cells": GRID_CELLS,
                "edge_cells": sorted(set(cell))}
        snapped = [lo + k / inv_width for k in cell]
    else:
        snapped = inner
    rounded = [round(v, 12) for v in snapped]
    step = fine_n / cfg.drift.bins
    coarse = _unique_edges([rounded[round(step * j) - 1] for j in range(1, cfg.drift.bins)])
    percentiles = {f"p{p}": round(inner[max(round(p * fine_n / 100) - 1, 0)], 12)
                   for p in PERCENTILES}
    if grid:
        grid["edges"] = _unique_edges(rounded)
    return _unique_edges(rounded), coarse, percentiles, grid


def _top_values(conn: Connection, source: sa.Subquery, column: str, limit: int
                ) -> tuple[list[str], int]:
    """The ``limit`` most frequent values of a column, and its number of distinct values."""
    col = sa.cast(source.c[column], sa.String)
    top = [str(v) for v, _ in conn.execute(
        sa.select(col, sa.func.count().label("n")).where(col.is_not(None)).group_by(col)
        .order_by(sa.desc("n"), col).limit(limit))]
    distinct = conn.execute(sa.select(sa.func.count(sa.distinct(col)))).scalar_one()
    return top, int(distinct)


def _slice_counts(stats: SliceStats, fine: dict[str, list[float]],
                  categories: dict[str, list[str]]) -> dict:
    return {
        "rows": stats.rows,
        "numeric": {n: s.bins for n, s in stats.numeric.items()},
        "categorical": {n: [stats.categories[n].get(c, 0) for c in categories[n]]
                        + [stats.categories[n].get(OTHER, 0)] for n in categories},
        "null_rate": {c: stats.null_rate(c) for c in stats.non_null},
        "mean": {n: s.mean for n, s in stats.numeric.items()},
    }


def _reference_windows(conn: Connection, cfg: MonitorConfig, plan: StatsPlan, table: str | None,
                       start: datetime, end: datetime) -> list[dict]:
    step = cfg.schedule.window
    count = int((end - start) / step)
    first = end - step * min(count, MAX_REFERENCE_WINDOWS)
    windows = []
    for i in range(min(count, MAX_REFERENCE_WINDOWS)):
        w_start = first + step * i
        stats = compute_window_stats(conn, cfg, w_start, w_start + step, plan, table=table)
        if stats.rows:
            windows.append({"start": w_start.isoformat(), "weekday": w_start.weekday(),
                            "hour": w_start.hour,
                            **_slice_counts(stats.whole, plan.edges, plan.categories or {})})
    return windows


def compute_profile(conn: Connection, cfg: MonitorConfig, table: str | None = None) -> dict:
    """The profile of the reference rows: ``table`` (a reference table, or the staged S3 file)
    when given, else ``reference.table``, else the predictions window ``[start, end)``."""
    start, end = _reference_bounds(cfg)
    table = table or cfg.reference.table
    source = monitored_rows(cfg, start, end, numeric=numeric_columns(cfg), table=table, name="ref")
    fine_n = cfg.drift.fine_bins
    probs = [GRID_RANGE[0], *(i / fine_n for i in range(1, fine_n)), GRID_RANGE[1]]
    rows = conn.execute(sa.select(sa.func.count()).select_from(source)).scalar_one()
    cuts = quantiles(conn, source, numeric_columns(cfg), probs, rows=rows)
    grids = {name: _grid(cfg, values) for name, values in cuts.items()}
    categories, cardinality = {}, {}
    for name in categorical_columns(cfg):
        categories[name], cardinality[name] = _top_values(conn, source, name, cfg.drift.top_k)
    segments = {}
    for seg in cfg.segments:
        top, _ = _top_values(conn, source, seg, cfg.slices.top_n) if cfg.slices.top_n else ([], 0)
        segments[seg] = list(dict.fromkeys(top + cfg.slices.values.get(seg, [])))
    plan = StatsPlan(edges={n: g[0] for n, g in grids.items()}, categories=categories,
                     segments=segments, grids={n: g[3] for n, g in grids.items() if g[3]})
    stats = compute_window_stats(conn, cfg, start, end, plan, table=table)
    if stats.rows == 0:
        where = (f"file {cfg.reference.s3_uri}" if cfg.reference.s3_uri else
                 f"table {table}" if table else f"window [{start}, {end})")
        raise ReferenceError_(
            f"{cfg.model.name}: the reference {where} holds no rows of this model. Fix: point "
            "`reference` at a period with traffic, or load the reference table"
        )
    if not (cfg.reference.start and cfg.reference.end) or cfg.reference.staged:
        start, end = stats.min_event_ts, stats.max_event_ts + timedelta(microseconds=1)
    span = end - start
    n_windows = max(span / cfg.schedule.window, 1.0)
    windows = _reference_windows(conn, cfg, StatsPlan(plan.edges, categories, {}, plan.grids),
                                 table, start, end)
    whole = stats.whole
    numeric = {}
    for name in numeric_columns(cfg):
        fine, coarse, pct, grid = grids[name]
        summary = whole.numeric[name]
        numeric[name] = {"edges": fine, "coarse_edges": coarse, "counts": summary.bins,
                         "null_rate": whole.null_rate(name), "mean": summary.mean,
                         "std": summary.std, "min": summary.minimum, "max": summary.maximum,
                         "percentiles": pct, "grid": grid}
    categorical = {
        name: {"categories": categories[name],
               "counts": [whole.categories[name].get(c, 0) for c in categories[name]]
               + [whole.categories[name].get(OTHER, 0)],
               "cardinality": cardinality[name], "null_rate": whole.null_rate(name)}
        for name in categorical_columns(cfg)
    }
    confidence = {name: {"mean_confidence": whole.mean_confidence(name),
                         "confidence_std": whole.confidence_std(name),
                         "rows": whole.confidence_count(name),
                         "high_confidence_share": whole.high_confidence_share(name)}
                  for name in confidence_columns(cfg)}
    sample = reference_sample(conn, cfg, source, segments) if wants_exact_ks(cfg) else None
    return {
        "format": PROFILE_FORMAT,
        "rows": stats.rows,
        "has_sample": sample is not None,
        "sample": sample,  # stored in its own column by ensure_profile
        "confidence": confidence,
        "rows_per_window": stats.rows / n_windows,
        "numeric": numeric,
        "categorical": categorical,
        "segments": segments,
        "slices": {key: _slice_counts(s, plan.edges, categories)
                   for key, s in stats.slices.items() if key != ALL},
        "windows": windows,
        "versions": stats.versions,
    }


def load_profile(conn: Connection, cfg: MonitorConfig, identity: dict | None = None
                 ) -> Profile | None:
    key = profile_key(cfg, identity)
    row = conn.execute(
        sa.select(mw_reference_profile.c.profile).where(
            mw_reference_profile.c.model_name == cfg.model.name,
            mw_reference_profile.c.profile_key == key,
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    data = json.loads(row) if isinstance(row, str) else row
    return Profile(cfg.model.name, key, data, sample_loader=_sample_reader(conn.engine, cfg, key))


def _sample_reader(engine: Engine, cfg: MonitorConfig, key: str) -> Callable[[], dict | None]:
    def read() -> dict | None:
        with engine.connect() as conn:
            value = conn.execute(sa.select(mw_reference_profile.c.sample).where(
                mw_reference_profile.c.model_name == cfg.model.name,
                mw_reference_profile.c.profile_key == key)).scalar_one_or_none()
        return json.loads(value) if isinstance(value, str) else value

    return read


def ensure_profile(engine: Engine, cfg: MonitorConfig, *, rebuild: bool = False) -> Profile:
    """Load the stored profile for this config, computing and storing it the first time.

    An S3 reference is asked for its ETag first (one HEAD); it is downloaded and staged only when
    no profile of that ETag is stored yet.
    """
    identity = reference_identity(cfg)
    key = profile_key(cfg, identity)
    with engine.begin() as conn:
        if not rebuild:
            existing = load_profile(conn, cfg, identity)
            if existing is not None:
                return existing
        if not cfg.reference.s3_uri:  # a staged file lives in this transaction only
            ensure_inputs(engine, cfg, ("predictions",),
                          {"predictions": cfg.reference.table} if cfg.reference.table else None)
        with staged_reference(conn, cfg, identity) as table:
            data = compute_profile(conn, cfg, table)
        sample = data.pop("sample")
        if identity:
            data["source"] = identity
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
                sample=sample,
                created_at=utcnow(),
            )
        )
    return Profile(cfg.model.name, key, data, _sample=sample, _sample_loaded=True)

