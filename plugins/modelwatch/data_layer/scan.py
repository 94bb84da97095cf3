"""One aggregation query over a window (or the reference) for every data-layer count.

Per feature: non-null values, non-finite values (NaN/±inf), finite values, rows equal to each
watched constant, rows outside the range bounds. Per window: rows, distinct request ids, first
and last event time. All of it is ``sum(case when … then 1 else 0 end)`` in one ``SELECT``, so the
warehouse reads the window once whatever the number of features, and a few hundred numbers come
back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.config.schema import MonitorConfig
from modelwatch.data_layer.sql import as_double, as_text, count_if, is_finite, is_non_finite
from modelwatch.warehouse.source import (
    event_time,
    predictions_columns,
    read_time,
    window_filter,
    window_rows,
)


@dataclass(frozen=True)
class Candidate:
    """A constant a feature may be silently defaulted to."""

    label: str  # "0", "-1", "''", "mean", "mode"
    value: float | str
    approx: bool = False  # compare with a relative tolerance (the reference mean)
    tolerance: float = 0.0

    def describe(self) -> str:
        if self.label == "mean":
            return f"the reference mean {self.value:.6g}"
        if self.label == "mode":
            shown = repr(self.value) if isinstance(self.value, str) else f"{self.value:.6g}"
            return f"the reference mode {shown}"
        if isinstance(self.value, str):
            return "'' (empty string)" if self.value == "" else repr(self.value)
        return f"{self.value:g}"


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    kind: str  # numeric | categorical
    candidates: tuple[Candidate, ...] = ()
    bounds: tuple[float, float] | None = None


@dataclass
class FeatureCounts:
    non_null: int = 0
    non_finite: int = 0
    finite: int = 0
    candidates: list[int] = field(default_factory=list)
    out_of_range: int = 0

    def valid(self, kind: str) -> int:
        """Values a share is taken over: finite numbers, or non-null categories."""
        return self.finite if kind == "numeric" else self.non_null


@dataclass
class ScanResult:
    rows: int
    distinct_ids: int
    min_ts: datetime | None
    max_ts: datetime | None
    features: dict[str, FeatureCounts]


def _match(col, kind: str, candidate: Candidate):
    if kind == "categorical":
        return as_text(col) == str(candidate.value)
    x = as_double(col)
    if candidate.approx:
        value = float(candidate.value)
        return sa.and_(is_finite(col), sa.func.abs(x - value) <= candidate.tolerance * abs(value) + 1e-12)
    return x == float(candidate.value)


def source_for(cfg: MonitorConfig, columns: list[str], start: datetime, end: datetime,
               table: str | None = None) -> sa.Subquery:
    """This model's rows in ``[start, end)`` of ``table`` (default: predictions), with ``columns``."""
    return window_rows(cfg, columns, start, end, table=table).subquery("w")


def scan(conn: Connection, cfg: MonitorConfig, source: sa.Subquery,
         specs: list[FeatureSpec]) -> ScanResult:
    """Every count of the data-layer checks, in one query over ``source``."""
    rid, ts = source.c[cfg.columns.request_id], event_time(cfg, source)
    cols = [sa.func.count().label("rows"), sa.func.count(sa.distinct(rid)).label("ids"),
            sa.func.min(ts).label("min_ts"), sa.func.max(ts).label("max_ts")]
    for i, spec in enumerate(specs):
        col = source.c[spec.name]
        cols.append(sa.func.count(col).label(f"nn{i}"))
        if spec.kind == "numeric":
            cols += [count_if(is_non_finite(col), f"nf{i}"), count_if(is_finite(col), f"fi{i}")]
            if spec.bounds is not None:
                lo, hi = spec.bounds
                outside = sa.and_(is_finite(col), sa.or_(as_double(col) < lo, as_double(col) > hi))
                cols.append(count_if(outside, f"or{i}"))
        for j, candidate in enumerate(spec.candidates):
            cols.append(count_if(_match(col, spec.kind, candidate), f"c{i}_{j}"))
    row = conn.execute(sa.select(*cols)).mappings().one()
    features = {}
    for i, spec in enumerate(specs):
        features[spec.name] = FeatureCounts(
            non_null=int(row[f"nn{i}"] or 0),
            non_finite=int(row.get(f"nf{i}") or 0),
            finite=int(row.get(f"fi{i}") or 0),
            candidates=[int(row[f"c{i}_{j}"] or 0) for j in range(len(spec.candidates))],
            out_of_range=int(row.get(f"or{i}") or 0),
        )
    return ScanResult(rows=int(row["rows"] or 0), distinct_ids=int(row["ids"] or 0),
                      min_ts=read_time(cfg, row["min_ts"]), max_ts=read_time(cfg, row["max_ts"]),
                      features=features)


def top_value(conn: Connection, source: sa.Subquery, name: str, kind: str) -> tuple[object, int] | None:
    """The most frequent non-null (finite, for numerics) value of a column and its count."""
    col = source.c[name]
    where = col.is_not(None) if kind == "categorical" else is_finite(col)
    value = as_text(col) if kind == "categorical" else as_double(col)
    found = conn.execute(sa.select(value.label("v"), sa.func.count().label("n")).where(where)
                         .group_by(value).order_by(sa.desc("n"), value).limit(1)).first()
    return None if found is None else (found[0], int(found[1]))


def dominant_version(conn: Connection, cfg: MonitorConfig, start: datetime, end: datetime) -> str | None:
    """The model version serving most of the window's rows."""
    tbl = predictions_columns(cfg)
    version = tbl.c[cfg.columns.model_version]
    found = conn.execute(sa.select(version, sa.func.count().label("n"))
                         .where(window_filter(cfg, tbl, start, end))
                         .group_by(version).order_by(sa.desc("n"), version).limit(1)).first()
    return None if found is None or found[0] is None else str(found[0])
