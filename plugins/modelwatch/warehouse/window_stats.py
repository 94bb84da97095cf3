"""One pass over a window: row count, freshness, nulls, moments, binned and category counts.

Everything is aggregated in the warehouse; what comes back is a few hundred numbers per window
whatever the row count, so memory stays flat as traffic grows. Numeric bins use a ``CASE`` ladder
over the reference profile's edges (see docs/benchmarks.md in NOTES: the fastest shape on DuckDB).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.config.schema import MonitorConfig
from modelwatch.warehouse.source import predictions_ref, window_filter


@dataclass
class NumericSummary:
    count: int = 0
    total: float = 0.0
    total_sq: float = 0.0
    minimum: float | None = None
    maximum: float | None = None
    bins: list[int] = field(default_factory=list)

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def std(self) -> float | None:
        if self.count < 2:
            return None
        var = (self.total_sq - self.total**2 / self.count) / (self.count - 1)
        return max(var, 0.0) ** 0.5


@dataclass
class WindowStats:
    rows: int
    min_event_ts: datetime | None
    max_event_ts: datetime | None
    non_null: dict[str, int]
    numeric: dict[str, NumericSummary]
    categories: dict[str, dict[str, int]]
    versions: dict[str, int]

    def null_rate(self, column: str) -> float | None:
        return None if self.rows == 0 else 1.0 - self.non_null[column] / self.rows

    @property
    def dominant_version(self) -> str | None:
        return max(self.versions, key=self.versions.get) if self.versions else None


def _bin_case(col, edges: list[float]):
    """Bin index of ``col``: 0 below edges[0], i after edges[i-1], len(edges) at the top."""
    if not edges:
        return sa.literal(0)
    whens = [(col < edge, i) for i, edge in enumerate(edges)]
    return sa.case(*whens, else_=len(edges))


def numeric_columns(cfg: MonitorConfig) -> list[str]:
    """Numeric features and the score columns: everything that gets quantile bins."""
    cols = [f.name for f in cfg.features if f.kind == "numeric"] + list(cfg.columns.score)
    return list(dict.fromkeys(cols))


def categorical_columns(cfg: MonitorConfig) -> list[str]:
    return [f.name for f in cfg.features if f.kind == "categorical"]


def compute_window_stats(
    conn: Connection,
    cfg: MonitorConfig,
    start: datetime,
    end: datetime,
    edges: dict[str, list[float]],
    table: str | None = None,
) -> WindowStats:
    """Aggregate one window of the predictions table (or a reference table) for all columns."""
    tbl = predictions_ref(cfg, table)
    where = window_filter(cfg, tbl, start, end)
    source = sa.select(tbl).where(where).subquery("w")
    numeric = numeric_columns(cfg)
    categorical = categorical_columns(cfg)
    monitored = numeric + categorical

    scalar_cols = [
        sa.func.count().label("rows"),
        sa.func.min(source.c[cfg.columns.event_ts]).label("min_ts"),
        sa.func.max(source.c[cfg.columns.event_ts]).label("max_ts"),
    ]
    for i, name in enumerate(monitored):
        scalar_cols.append(sa.func.count(source.c[name]).label(f"nn{i}"))
    for i, name in enumerate(numeric):
        col = sa.cast(source.c[name], sa.Double)  # FLOAT is 32-bit in DuckDB
        scalar_cols += [
            sa.func.sum(col).label(f"s{i}"),
            sa.func.sum(col * col).label(f"ss{i}"),
            sa.func.min(col).label(f"mn{i}"),
            sa.func.max(col).label(f"mx{i}"),
        ]
    row = conn.execute(sa.select(*scalar_cols)).mappings().one()
    non_null = {name: int(row[f"nn{i}"]) for i, name in enumerate(monitored)}
    summaries = {
        name: NumericSummary(
            count=non_null[name],
            total=float(row[f"s{i}"] or 0.0),
            total_sq=float(row[f"ss{i}"] or 0.0),
            minimum=None if row[f"mn{i}"] is None else float(row[f"mn{i}"]),
            maximum=None if row[f"mx{i}"] is None else float(row[f"mx{i}"]),
            bins=[0] * (len(edges.get(name, [])) + 1),
        )
        for i, name in enumerate(numeric)
    }

    if numeric and row["rows"]:
        parts = [
            sa.select(
                sa.literal(name).label("feature"),
                _bin_case(source.c[name], edges.get(name, [])).label("bin"),
                sa.func.count().label("n"),
            )
            .where(source.c[name].is_not(None))
            .group_by(sa.literal_column("2"))
            for name in numeric
        ]
        for feature, bin_index, n in conn.execute(sa.union_all(*parts)):
            summaries[feature].bins[int(bin_index)] += int(n)

    categories: dict[str, dict[str, int]] = {name: {} for name in categorical}
    if categorical and row["rows"]:
        parts = [
            sa.select(
                sa.literal(name).label("feature"),
                sa.cast(source.c[name], sa.String).label("value"),
                sa.func.count().label("n"),
            )
            .where(source.c[name].is_not(None))
            .group_by(sa.literal_column("2"))
            for name in categorical
        ]
        for feature, value, n in conn.execute(sa.union_all(*parts)):
            categories[feature][str(value)] = int(n)

    version_col = source.c[cfg.columns.model_version]
    versions = {
        str(v): int(n)
        for v, n in conn.execute(sa.select(version_col, sa.func.count()).group_by(version_col))
    }
    return WindowStats(
        rows=int(row["rows"]),
        min_event_ts=row["min_ts"],
        max_event_ts=row["max_ts"],
        non_null=non_null,
        numeric=summaries,
        categories=categories,
        versions=versions,
    )
