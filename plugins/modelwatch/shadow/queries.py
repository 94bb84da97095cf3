"""The SQL of the shadow layer: champion and challenger joined on request_id, in the warehouse.

Every name from config becomes a quoted SQLAlchemy object (``warehouse.source``); nothing is pasted
into SQL text. The join is validated the way a label join must be: each side is deduplicated with
``row_number()`` (one row per request_id — the latest shadow row that has a score, the latest
label that had arrived by ``as_of``) and the number of duplicated ids is reported, so a retried
request can neither double-count nor silently vanish.

What comes back to Python:

- ``agreement_sums``: ~20 sums per slice (all, and each value of each segment column).
- ``spearman_sums``: three sums; ranks come from window functions in the warehouse (average rank
  on ties), so Spearman costs two sorts there and nothing in Python memory.
- ``score_histograms``: bins × 2 counts; ``latency_quantiles``: 6 numbers.
- ``paired_rows``: one row per paired request of a window or evidence period (two scores, the
  label if it had arrived, the segment values): label-based comparisons need the rows for the
  bootstrap. They are streamed in chunks into numpy arrays: ~(24 + 16·segments) bytes per request
  kept, plus one chunk of Python rows in flight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.config.schema import MonitorConfig
from modelwatch.errors import ContractError
from modelwatch.warehouse.dialects import quantiles
from modelwatch.warehouse.labels import label_kind
from modelwatch.warehouse.source import (
    event_time,
    label_time,
    label_value,
    labels_arrived_by,
    labels_ref,
    predictions_columns,
    shadow_ref,
    window_filter,
)
from modelwatch.warehouse.window_stats import bin_expression

LATENCY_PROBS = (0.5, 0.95, 0.99)


def _double(expr):
    return sa.cast(expr, sa.Double)  # FLOAT is 32-bit in DuckDB


def planner_guard(conn: Connection) -> None:
    """PostgreSQL: no nested-loop joins for the rest of this transaction.

    The request_id joins here are between a window's rows and a log, both large; with statistics
    that do not yet cover the newest ``event_ts`` range (the usual state right after the day's load,
    before autovacuum analyses it) the planner estimates one row per side and picks a nested loop —
    measured: 98 s instead of 0.2 s for 14k requests. ``SET LOCAL`` ends with the transaction, so
    nothing else is affected. Other dialects need nothing.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SET LOCAL enable_nestloop = off"))


def check_tables(conn: Connection, cfg: MonitorConfig) -> None:
    """Terminal error naming the table and the fix when an input table is missing."""
    inspector = sa.inspect(conn)
    for key in ("predictions", "shadow_predictions", "labels"):
        name = getattr(cfg.tables, key)
        schema, _, table = name.rpartition(".")
        if not inspector.has_table(table, schema=schema or None):
            raise ContractError(
                f"tables.{key} = {name!r}: no such table in the warehouse. Fix: create it, point "
                f"tables.{key} at the right table, or set shadow.enabled: false")


def champion_rows(cfg: MonitorConfig, start: datetime, end: datetime, *,
                  version: str | None = None, exclude_version: str | None = None) -> sa.Subquery:
    """Served predictions of the window, one row per request_id, with a duplicate count."""
    c = cfg.columns
    score = c.score[0]
    extra = [c.latency_ms] if c.latency_ms else []
    p = predictions_columns(cfg, score, *extra, *cfg.segments)
    rid = p.c[c.request_id]
    cols = [
        rid.label("rid"),
        p.c[c.model_version].label("version_a"),
        _double(p.c[score]).label("a"),
        (_double(p.c[c.latency_ms]) if c.latency_ms else sa.null()).label("lat_a"),
        *(sa.cast(p.c[s], sa.String).label(f"seg{i}") for i, s in enumerate(cfg.segments)),
        sa.func.row_number().over(partition_by=rid, order_by=event_time(cfg, p).desc()).label("rn"),
        sa.func.count().over(partition_by=rid).label("copies_a"),
    ]
    where = [window_filter(cfg, p, start, end)]
    if version is not None:
        where.append(p.c[c.model_version] == version)
    if exclude_version is not None:
        where.append(sa.or_(p.c[c.model_version].is_(None), p.c[c.model_version] != exclude_version))
    return sa.select(*cols).where(*where).subquery("champion")


def shadow_rows(cfg: MonitorConfig, start: datetime, end: datetime) -> sa.Subquery:
    """The challenger's log around the window, one row per request_id (latest scored row first)."""
    c = cfg.columns
    score = c.score[0]
    extra = [c.latency_ms] if c.latency_ms else []
    s = shadow_ref(cfg, score, *extra)
    rid = s.c[c.request_id]
    skew: timedelta = cfg.shadow.max_log_skew
    order = [sa.case((s.c[score].is_(None), 1), else_=0), event_time(cfg, s).desc()]
    return sa.select(
        rid.label("rid"),
        s.c[c.model_version].label("version_b"),
        _double(s.c[score]).label("b"),
        (_double(s.c[c.latency_ms]) if c.latency_ms else sa.null()).label("lat_b"),
        sa.func.row_number().over(partition_by=rid, order_by=order).label("rn"),
        sa.func.count().over(partition_by=rid).label("copies_b"),
    ).where(window_filter(cfg, s, start, end, slack=skew)).subquery("shadow")


def joined(cfg: MonitorConfig, start: datetime, end: datetime, name: str = "pairs") -> sa.CTE:
    """Champion requests of ``[start, end)`` left-joined to their shadow row.

    Columns: rid, version_a, version_b, a, b (scores), pa, pb (scores of requests both models
    scored, else NULL), lat_a, lat_b, has_row, copies_a, copies_b, seg0..segN.
    """
    champ = champion_rows(cfg, start, end, exclude_version=cfg.shadow.canary_version)
    shadow = shadow_rows(cfg, start, end)
    paired = sa.and_(champ.c.a.is_not(None), shadow.c.b.is_not(None))
    return sa.select(
        champ.c.rid, champ.c.version_a, shadow.c.version_b, champ.c.a, shadow.c.b,
        sa.case((paired, champ.c.a)).label("pa"), sa.case((paired, shadow.c.b)).label("pb"),
        champ.c.lat_a, shadow.c.lat_b,
        sa.case((shadow.c.rid.is_not(None), 1), else_=0).label("has_row"),
        champ.c.copies_a, sa.func.coalesce(shadow.c.copies_b, 0).label("copies_b"),
        *(champ.c[f"seg{i}"] for i in range(len(cfg.segments))),
    ).select_from(
        champ.outerjoin(shadow, sa.and_(shadow.c.rid == champ.c.rid, shadow.c.rn == 1))
    ).where(champ.c.rn == 1).cte(name)


@dataclass
class Sums:
    """Additive aggregates of one slice of the joined window."""

    requests: int = 0
    champion_scored: int = 0
    shadow_rows: int = 0
    shadow_scored: int = 0
    paired: int = 0
    sx: float = 0.0
    sy: float = 0.0
    sxx: float = 0.0
    syy: float = 0.0
    sxy: float = 0.0
    abs_diff: float = 0.0
    large_diff: int = 0
    both_positive: int = 0
    champion_only_positive: int = 0
    challenger_only_positive: int = 0
    duplicated_champion: int = 0
    duplicated_shadow: int = 0

    @property
    def both_negative(self) -> int:
        return (self.paired - self.both_positive - self.champion_only_positive
                - self.challenger_only_positive)


_INT_FIELDS = {"requests", "champion_scored", "shadow_rows", "shadow_scored", "paired", "large_diff",
               "both_positive", "champion_only_positive", "challenger_only_positive", "duplicated_champion",
               "duplicated_shadow"}


def _sum_exprs(j: sa.CTE, cfg: MonitorConfig, shift: float) -> list:
    settings = cfg.shadow
    pa, pb = j.c.pa - shift, j.c.pb - shift
    pos_a = j.c.pa >= settings.champion_threshold
    pos_b = j.c.pb >= settings.challenger_threshold

    def count_if(condition):
        return sa.func.sum(sa.case((condition, 1), else_=0))

    return [
        sa.func.count().label("requests"),
        sa.func.count(j.c.a).label("champion_scored"),
        sa.func.sum(j.c.has_row).label("shadow_rows"),
        sa.func.count(j.c.b).label("shadow_scored"),
        sa.func.count(j.c.pa).label("paired"),
        sa.func.sum(pa).label("sx"), sa.func.sum(pb).label("sy"),
        sa.func.sum(pa * pa).label("sxx"), sa.func.sum(pb * pb).label("syy"),
        sa.func.sum(pa * pb).label("sxy"),
        sa.func.sum(sa.func.abs(j.c.pa - j.c.pb)).label("abs_diff"),
        count_if(sa.func.abs(j.c.pa - j.c.pb) > settings.score_margin).label("large_diff"),
        count_if(sa.and_(pos_a, pos_b)).label("both_positive"),
        count_if(sa.and_(pos_a, sa.not_(pos_b))).label("champion_only_positive"),
        count_if(sa.and_(sa.not_(pos_a), pos_b)).label("challenger_only_positive"),
        count_if(j.c.copies_a > 1).label("duplicated_champion"),
        count_if(j.c.copies_b > 1).label("duplicated_shadow"),
    ]


def agreement_sums(conn: Connection, cfg: MonitorConfig, j: sa.CTE, shift: float
                   ) -> dict[tuple[str, str | None], Sums]:
    """Sums for the whole window (key ``("all", None)``) and per (segment, value), in one query.

    Scores are shifted by ``shift`` (the champion's median) before squaring, so the Pearson sums
    do not lose precision to a large common mean.
    """
    exprs = _sum_exprs(j, cfg, shift)
    parts = [sa.select(sa.literal(-1).label("g"), sa.cast(sa.null(), sa.String).label("value"),
                       *exprs)]
    for i in range(len(cfg.segments)):
        col = j.c[f"seg{i}"]
        parts.append(sa.select(sa.literal(i).label("g"), col.label("value"), *exprs).group_by(col))
    out: dict[tuple[str, str | None], Sums] = {}
    for row in conn.execute(sa.union_all(*parts)).mappings():
        key = ("all", None) if row["g"] < 0 else (cfg.segments[row["g"]], row["value"])
        values = {name: (int(row[name] or 0) if name in _INT_FIELDS else float(row[name] or 0.0))
                  for name in Sums.__dataclass_fields__}
        out[key] = Sums(**values)
    return out


def versions(conn: Connection, j: sa.CTE) -> dict[str, dict[str, int]]:
    """Requests per champion version and per challenger version in the window."""
    out: dict[str, dict[str, int]] = {"champion": {}, "challenger": {}}
    for side, col in (("champion", j.c.version_a), ("challenger", j.c.version_b)):
        for value, n in conn.execute(sa.select(col, sa.func.count()).where(col.is_not(None))
                                     .group_by(col)):
            out[side][str(value)] = int(n)
    return out


def spearman_sums(conn: Connection, j: sa.CTE) -> tuple[int, float, float, float]:
    """(n, Σ dx·dy, Σ dx², Σ dy²) of the centred average ranks of the paired scores.

    Average rank of a value = ``rank()`` + (ties − 1) / 2, ties counted with a window
    ``count(*)`` partitioned by the value; centring by (n + 1) / 2 keeps the sums small.
    """
    paired = sa.select(j.c.pa, j.c.pb).where(j.c.pa.is_not(None)).subquery("p")

    def avg_rank(col):
        return (_double(sa.func.rank().over(order_by=col))
                + (_double(sa.func.count().over(partition_by=col)) - 1.0) / 2.0)

    ranked = sa.select(avg_rank(paired.c.pa).label("ra"), avg_rank(paired.c.pb).label("rb"),
                       _double(sa.func.count().over()).label("n")).subquery("r")
    dx = ranked.c.ra - (ranked.c.n + 1.0) / 2.0
    dy = ranked.c.rb - (ranked.c.n + 1.0) / 2.0
    row = conn.execute(sa.select(sa.func.count(), sa.func.sum(dx * dy), sa.func.sum(dx * dx),
                                 sa.func.sum(dy * dy)).select_from(ranked)).one()
    return int(row[0] or 0), float(row[1] or 0.0), float(row[2] or 0.0), float(row[3] or 0.0)


def champion_quantiles(conn: Connection, j: sa.CTE, probs: list[float]) -> list[float] | None:
    """Quantiles of the champion's scores over the paired requests (bin edges, shift)."""
    source = sa.select(j.c.pa).subquery("q")
    return quantiles(conn, source, ["pa"], probs)["pa"]


def latency_quantiles(conn: Connection, j: sa.CTE) -> dict[str, list[float] | None]:
    """p50/p95/p99 of each model's latency over the window's champion requests."""
    source = sa.select(j.c.lat_a, j.c.lat_b).subquery("l")
    return quantiles(conn, source, ["lat_a", "lat_b"], list(LATENCY_PROBS))


def score_histograms(conn: Connection, j: sa.CTE, edges: list[float]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Counts of champion and challenger scores (paired requests) on the same bins."""
    counts = {"a": np.zeros(len(edges) + 1), "b": np.zeros(len(edges) + 1)}
    parts = [
        sa.select(sa.literal(side).label("side"), bin_expression(col, edges).label("bin"),
                  sa.func.count().label("n"))
        .where(col.is_not(None)).group_by(sa.literal_column("1"), sa.literal_column("2"))
        for side, col in (("a", j.c.pa), ("b", j.c.pb))
    ]
    for side, bin_index, n in conn.execute(sa.union_all(*parts)):
        counts[side][int(bin_index)] += int(n)
    return counts["a"], counts["b"]


@dataclass
class PairedRows:
    """Requests of a period scored by both models, with the label known at ``as_of``."""

    a: np.ndarray
    b: np.ndarray
    y: np.ndarray  # NaN where no label had arrived
    segments: dict[str, np.ndarray]
    duplicated_labels: int

    @property
    def labelled(self) -> np.ndarray:
        return ~np.isnan(self.y)

    def __len__(self) -> int:
        return int(self.a.size)


def _labels_as_of(conn: Connection, cfg: MonitorConfig, as_of: datetime) -> sa.Subquery:
    c = cfg.columns
    lab = labels_ref(cfg)
    y = label_value(cfg, lab, label_kind(conn, cfg))
    return sa.select(lab.c[c.request_id].label("rid"), y.label("y"),
                     label_time(cfg, lab).label("label_ts")
                     ).where(labels_arrived_by(cfg, lab, as_of)).subquery("lab")


FETCH_CHUNK = 50_000


class _Categories:
    """Codes for one segment column, assigned while streaming, made canonical at the end."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.chunks: list[np.ndarray] = []

    def add(self, values) -> None:
        index = self.index
        self.chunks.append(np.array([index.setdefault("__null__" if v is None else str(v), len(index))
                                     for v in values], dtype=np.int64))

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """(sorted distinct values, codes into them): the same on every dialect."""
        names = sorted(self.index)
        remap = np.empty(len(names), dtype=np.int64)
        for rank, name in enumerate(names):
            remap[self.index[name]] = rank
        codes = np.concatenate(self.chunks) if self.chunks else np.empty(0, dtype=np.int64)
        return np.array(names, dtype=object), remap[codes] if codes.size else codes


def _stream(conn: Connection, query, kinds: list[str]) -> list:
    """The query's columns as numpy arrays (``float``, ``int``) or ``_Categories`` (``cat``),
    converted ``FETCH_CHUNK`` rows at a time: at most one chunk of Python row objects exists at
    once (a server-side cursor on PostgreSQL)."""
    # options on the statement, not the connection: they would stick to the connection and make
    # the later DELETE/INSERT run through a server-side cursor on PostgreSQL
    result = conn.execute(query.execution_options(stream_results=True, yield_per=FETCH_CHUNK))
    out: list = [_Categories() if k == "cat" else [] for k in kinds]
    for part in result.partitions():
        for i, (kind, values) in enumerate(zip(kinds, zip(*part, strict=True), strict=True)):
            if kind == "cat":
                out[i].add(values)
            elif kind == "float":
                out[i].append(np.array([np.nan if v is None else float(v) for v in values], dtype=float))
            else:
                out[i].append(np.array([int(v or 0) for v in values], dtype=np.int64))
    return [o if isinstance(o, _Categories) else
            (np.concatenate(o) if o else np.empty(0, dtype=float if k == "float" else np.int64))
            for o, k in zip(out, kinds, strict=True)]


def _labels01(y: np.ndarray, cfg: MonitorConfig) -> np.ndarray:
    """Binary labels must be 0/1 (other tasks' labels are only counted)."""
    if cfg.model.task != "binary":
        return y
    bad = ~np.isnan(y) & ~np.isin(y, (0.0, 1.0))
    if bad.any():
        raise ContractError(f"labels must be 0/1 for a binary model; found {sorted(set(y[bad]))[:5]}. "
                            "Fix: map the labels table's values to 0/1")
    return y


def _canonical(*keys: np.ndarray) -> np.ndarray:
    """A row order fixed by the rows' *values*: the bootstrap draws row positions, so its intervals
    must not depend on the order the warehouse happened to return (it differs between dialects
    and runs). Rows equal on every key are interchangeable, so ties need no tie-break."""
    return np.lexsort(tuple(reversed(keys))) if keys and keys[0].size else np.arange(0)


def paired_rows(conn: Connection, cfg: MonitorConfig, start: datetime, end: datetime,
                as_of: datetime) -> PairedRows:
    """Paired requests of ``[start, end)`` with their latest label that arrived by ``as_of``."""
    j = joined(cfg, start, end)
    lab = _labels_as_of(conn, cfg, as_of)
    n_seg = len(cfg.segments)
    rows = sa.select(
        j.c.pa, j.c.pb, lab.c.y,
        sa.func.count(lab.c.rid).over(partition_by=j.c.rid).label("label_copies"),
        *(j.c[f"seg{i}"] for i in range(n_seg)),
        sa.func.row_number().over(partition_by=j.c.rid,
                                  order_by=lab.c.label_ts.desc()).label("rn"),
    ).select_from(j.outerjoin(lab, lab.c.rid == j.c.rid)).where(j.c.pa.is_not(None)).subquery("lr")
    query = sa.select(rows.c.pa, rows.c.pb, rows.c.y, rows.c.label_copies,
                      *(rows.c[f"seg{i}"] for i in range(n_seg))).where(rows.c.rn == 1)
    cols = _stream(conn, query, ["float", "float", "float", "int"] + ["cat"] * n_seg)
    a, b, y = cols[0], cols[1], _labels01(cols[2], cfg)
    coded = [c.finish() for c in cols[4:]]
    order = _canonical(a, b, np.nan_to_num(y, nan=-1.0), *(c for _, c in coded))
    segments = {name: cats[codes[order]] for name, (cats, codes) in zip(cfg.segments, coded, strict=True)}
    return PairedRows(a[order], b[order], y[order], segments, int((cols[3] > 1).sum()))


@dataclass
class CanaryRows:
    score: np.ndarray
    y: np.ndarray
    is_canary: np.ndarray


def canary_rows(conn: Connection, cfg: MonitorConfig, start: datetime, end: datetime,
                as_of: datetime) -> CanaryRows:
    """Served scores of the window with their label as of ``as_of`` and whether the canary served."""
    champ = champion_rows(cfg, start, end)
    lab = _labels_as_of(conn, cfg, as_of)
    rows = sa.select(
        champ.c.a, lab.c.y,
        sa.case((champ.c.version_a == cfg.shadow.canary_version, 1), else_=0).label("canary"),
        sa.func.row_number().over(partition_by=champ.c.rid,
                                  order_by=lab.c.label_ts.desc()).label("rn_label"),
    ).select_from(champ.outerjoin(lab, lab.c.rid == champ.c.rid)).where(
        champ.c.rn == 1, champ.c.a.is_not(None)).subquery("cr")
    cols = _stream(conn, sa.select(rows.c.a, rows.c.y, rows.c.canary).where(rows.c.rn_label == 1),
                   ["float", "float", "int"])
    score, y, is_canary = cols[0], _labels01(cols[1], cfg), cols[2].astype(bool)
    order = _canonical(is_canary.astype(float), score, np.nan_to_num(y, nan=-1.0))
    return CanaryRows(score[order], y[order], is_canary[order])


def canary_summary(conn: Connection, cfg: MonitorConfig, start: datetime, end: datetime,
                   edges_probs: list[float]) -> dict:
    """Rows, score quantile edges of the control, histograms and latency per group (canary/control)."""
    champ = champion_rows(cfg, start, end)
    is_canary = champ.c.version_a == cfg.shadow.canary_version
    base = sa.select(
        champ.c.a, champ.c.lat_a,
        sa.case((is_canary, "canary"), else_="control").label("grp"),
    ).where(champ.c.rn == 1).cte("canary_base")
    counts = {g: int(n) for g, n in conn.execute(
        sa.select(base.c.grp, sa.func.count()).group_by(base.c.grp))}
    out: dict = {"rows": counts}
    control = sa.select(base.c.a.label("score")).where(base.c.grp == "control").subquery("cq")
    edges = quantiles(conn, control, ["score"], edges_probs)["score"] if counts.get("control") else None
    edges = sorted(set(edges or []))
    out["edges"] = edges
    hist = {"control": np.zeros(len(edges) + 1), "canary": np.zeros(len(edges) + 1)}
    if counts.get("canary") and counts.get("control"):
        query = sa.select(base.c.grp, bin_expression(base.c.a, edges).label("bin"), sa.func.count()
                          ).where(base.c.a.is_not(None)).group_by(sa.literal_column("1"),
                                                                    sa.literal_column("2"))
        for grp, bin_index, n in conn.execute(query):
            hist[grp][int(bin_index)] += int(n)
    out["hist"] = hist
    latency = {}
    for grp in ("control", "canary"):
        if counts.get(grp):
            src = sa.select(base.c.lat_a.label("lat")).where(base.c.grp == grp).subquery(f"l_{grp}")
            latency[grp] = quantiles(conn, src, ["lat"], list(LATENCY_PROBS))["lat"]
        else:
            latency[grp] = None
    out["latency"] = latency
    return out
