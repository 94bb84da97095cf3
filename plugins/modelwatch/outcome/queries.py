"""The outcome layer's SQL: predictions ⋈ labels as of a time, aggregated per window and slice.

Three reads, each one query over the whole lookback (never one query per window):

- ``fetch_cells``: per (window, slice, score cell) the rows, labelled rows, positives and the
  per-row sums of score, log loss and Brier — what every performance metric is computed from.
  Slices are ``GROUPING SETS`` (whole population + one set per segment column), so the output
  grows with the sum of the segments' values, not their product.
- ``fetch_label_stats``: per window the rows, labelled rows, duplicate and conflicting labels,
  the label delay p50/p95 and the newest label.
- ``fetch_kpis``: per window, KPI and segment, the mean KPI value.

Labels count only if ``label_ts <= as_of``. A prediction with several labels is joined to the
newest one (then the larger label), so the join never multiplies rows; the duplicates are counted
and reported instead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.config.schema import MonitorConfig
from modelwatch.outcome.cells import EPS, Cells
from modelwatch.warehouse.dialects import quantile_exprs
from modelwatch.warehouse.source import (
    event_time,
    kpi_filter,
    kpi_time,
    kpis_ref,
    label_time,
    label_value,
    labels_arrived_by,
    labels_ref,
    predictions_ref,
    utc_time,
    window_filter,
)
from modelwatch.warehouse.window_stats import ALL, OTHER, bin_expression

SUMS = ("rows", "labelled", "positives", "score_sum", "labelled_score_sum", "log_loss_sum",
        "log_loss_sq", "brier_sum", "brier_sq")


@dataclass
class LabelStats:
    """Label facts of one window (whole population)."""

    rows: int = 0
    labelled: int = 0
    duplicated: int = 0
    conflicting: int = 0
    delay_p50_hours: float | None = None
    delay_p95_hours: float | None = None
    newest_label_ts: datetime | None = None
    versions: dict[str, int] = field(default_factory=dict)


def _folded(col, keep: list[str]):
    text = sa.cast(col, sa.String)
    return sa.case((text.in_(keep), text), else_=sa.literal(OTHER)) if keep else sa.literal(OTHER)


def _score_columns(cfg: MonitorConfig, preds: sa.TableClause) -> tuple[list, list]:
    """``score`` = the first score column (probability, or the regression prediction)."""
    score = preds.c[cfg.columns.score[0]]
    return [sa.cast(score, sa.Double).label("score")], [score.is_not(None)]


def _class_columns(cfg: MonitorConfig, preds: sa.TableClause) -> tuple[list, list]:
    """Multiclass: ``pred`` = the served class as text (``columns.prediction``, else the argmax of
    the score columns over ``columns.classes``) and ``p0..`` = the class probabilities."""
    c = cfg.columns
    probs = [sa.cast(preds.c[s], sa.Double) for s in c.score] if c.classes else []
    if c.prediction:
        pred = sa.cast(preds.c[c.prediction], sa.String)
    else:
        top = sa.func.greatest(*probs)
        pred = sa.case(*[(p == top, sa.literal(k)) for p, k in zip(probs, c.classes, strict=True)])
    filters = [preds.c[c.prediction].is_not(None)] if c.prediction else []
    filters += [preds.c[s].is_not(None) for s in c.score] if c.classes else []
    return [pred.label("pred"), *[p.label(f"p{i}") for i, p in enumerate(probs)]], filters


def _ranked_columns(cfg: MonitorConfig, preds: sa.TableClause) -> tuple[list, list]:
    """Ranking: ``item`` and ``srank``, the sort key within the request (ascending): the served
    position ``columns.rank`` if set, else minus the first score column."""
    c = cfg.columns
    order = preds.c[c.rank] if c.rank else preds.c[c.score[0]]
    srank = sa.cast(order, sa.Double) if c.rank else -sa.cast(order, sa.Double)
    return ([preds.c[c.item].label("item"), srank.label("srank")],
            [order.is_not(None), preds.c[c.item].is_not(None)])


PREDICTION_COLUMNS = {"binary": _score_columns, "regression": _score_columns,
                      "ranking": _ranked_columns, "multiclass": _class_columns}


def joined(cfg: MonitorConfig, start: datetime, end: datetime, label_cutoff: datetime | None,
           segments: dict[str, list[str]], table: str | None = None, *,
           label_kind: str = "numeric") -> sa.Subquery:
    """One row per scored prediction in ``[start, end)`` with its newest label as of the cutoff.

    Columns: ``ts`` (naive UTC, whatever the column's kind), the prediction columns of the task
    (``score``: binary, regression; ``pred``, ``p0..``: multiclass; ``rid``, ``item``, ``srank``:
    ranking), ``version``, ``seg0..``, ``label`` (NULL if none yet; a number for binary models,
    1 = positive, regression and ranking (the relevance); text for multiclass), ``label_ts``
    (naive UTC), ``n_labels``, ``label_min``, ``label_max``.

    A ranking model has one prediction row per (request, item) and labels per (request, item):
    the join and the duplicate count are on both. ``label_kind`` is the label column's type
    family (``warehouse/labels.label_kind``: BOOLEAN and text labels read as 1/0).
    """
    c = cfg.columns
    preds = predictions_ref(cfg, table)
    seg_cols = [_folded(preds.c[s], values).label(f"seg{i}")
                for i, (s, values) in enumerate(segments.items())]
    scored, filters = PREDICTION_COLUMNS[cfg.model.task](cfg, preds)
    p = (sa.select(preds.c[c.request_id].label("rid"), utc_time(event_time(cfg, preds)).label("ts"),
                   *scored,
                   sa.cast(preds.c[c.model_version], sa.String).label("version"), *seg_cols)
         .where(window_filter(cfg, preds, start, end), *filters)
         .subquery("p"))
    ranked = cfg.model.task == "ranking"
    item = [c.item] if ranked else []
    labels = labels_ref(cfg)
    lab_q = sa.select(labels.c[c.request_id].label("rid"),
                      *[labels.c[col].label("item") for col in item],
                      label_value(cfg, labels, label_kind).label("label"),
                      utc_time(label_time(cfg, labels)).label("label_ts")
                      ).where(labels.c[c.label].is_not(None))
    if label_cutoff is not None:
        lab_q = lab_q.where(labels_arrived_by(cfg, labels, label_cutoff))
    lab = lab_q.subquery("l")
    per_request = {"partition_by": [p.c.rid, p.c.item] if ranked else p.c.rid}
    on = sa.and_(p.c.rid == lab.c.rid, p.c.item == lab.c.item) if ranked else p.c.rid == lab.c.rid
    j = (sa.select(*[col for col in p.c if ranked or col.name != "rid"], lab.c.label,
                   lab.c.label_ts,
                   sa.func.row_number().over(
                       **per_request,
                       order_by=[lab.c.label_ts.desc().nulls_last(), lab.c.label.desc().nulls_last()]
                   ).label("rn"),
                   sa.func.count(lab.c.label).over(**per_request).label("n_labels"),
                   sa.func.min(lab.c.label).over(**per_request).label("label_min"),
                   sa.func.max(lab.c.label).over(**per_request).label("label_max"))
         .select_from(p.outerjoin(lab, on))
         .subquery("j"))
    return sa.select(j).where(j.c.rn == 1).subquery("d")


def _exact(value):
    """Per-row value as a fixed-point decimal (12 places), so its SUM is exact.

    Floating-point sums depend on the order a parallel aggregate adds rows in, and a rerun would
    then differ in the last bits; decimal sums do not, so reruns write identical rows.
    """
    return sa.cast(value, sa.Numeric(18, 12))


def _window_index(ts, starts: list[datetime]):
    """Index of the window ``ts`` falls in (rows outside were filtered already)."""
    return bin_expression(ts, list(starts[1:])) if len(starts) > 1 else sa.literal(0)


def exact_wide(value):
    """Per-row value as a fixed-point decimal (38 digits, 12 places) for sums of unbounded
    quantities (regression errors and their powers): exact like ``_exact``, with room for sums up
    to 1e26."""
    return sa.cast(value, sa.Numeric(38, 12))


def window_index(ts, starts: list[datetime]):
    """Index of the window ``ts`` falls in (public for the per-task queries)."""
    return _window_index(ts, starts)


def group_by_slices(query: sa.Select, keys: list, segs: list) -> sa.Select:
    """``GROUP BY`` the keys, once for the whole population and once per segment column."""
    if segs:
        return query.group_by(sa.func.grouping_sets(
            sa.tuple_(*keys), *[sa.tuple_(*keys, seg) for seg in segs]))
    return query.group_by(*keys)


def slice_key(names: list[str], seg_values) -> str:
    """The slice a ``group_by_slices`` row belongs to: ``all`` or ``<segment>=<value>``."""
    grouped = [(names[i], v) for i, v in enumerate(seg_values) if v is not None]
    return ALL if not grouped else f"{grouped[0][0]}={grouped[0][1]}"


def fetch_cells(conn: Connection, cfg: MonitorConfig, source: sa.Subquery, starts: list[datetime],
                segments: dict[str, list[str]]) -> dict[tuple[int, str], Cells]:
    """Score cells per (window index, slice key)."""
    s = cfg.outcome
    d = source.c
    pc = sa.func.greatest(sa.func.least(d.score, 1.0 - EPS), EPS)
    logit = sa.func.ln(pc) - sa.func.ln(1.0 - pc)
    fine = sa.func.greatest(sa.func.least(
        sa.func.floor((logit + s.logit_limit) * (s.score_bins / (2 * s.logit_limit))),
        s.score_bins - 1), 0)
    clipped = sa.func.greatest(sa.func.least(d.score, 1.0), 0.0)
    labelled = d.label.is_not(None)
    y = sa.case((d.label > 0.5, 1.0), else_=0.0)
    loss = -(y * sa.func.ln(pc) + (1.0 - y) * sa.func.ln(1.0 - pc))
    n_seg = len(segments)
    b = sa.select(
        _window_index(d.ts, starts).label("widx"),
        *[d[f"seg{i}"] for i in range(n_seg)],
        sa.cast(fine, sa.Integer).label("fine"),
        sa.case((d.score >= s.decision_threshold, 1), else_=0).label("decision"),
        sa.cast(sa.func.least(sa.func.floor(clipped * s.ece_bins), s.ece_bins - 1),
                sa.Integer).label("ece"),
        sa.case((labelled, 1), else_=0).label("lab"),
        sa.case((labelled & (d.label > 0.5), 1), else_=0).label("pos"),
        _exact(clipped).label("score"),
        _exact(sa.case((labelled, clipped), else_=0.0)).label("lab_score"),
        _exact(sa.case((labelled, loss), else_=0.0)).label("loss"),
        _exact(sa.case((labelled, loss * loss), else_=0.0)).label("loss_sq"),
        _exact(sa.case((labelled, (clipped - y) * (clipped - y)), else_=0.0)).label("brier"),
        _exact(sa.case((labelled, sa.func.power(clipped - y, 4)), else_=0.0)).label("brier_sq"),
    ).subquery("b")
    keys = [b.c.widx, b.c.fine, b.c.decision, b.c.ece]
    segs = [b.c[f"seg{i}"] for i in range(n_seg)]
    query = sa.select(
        *keys, *segs, sa.func.count().label("rows"), sa.func.sum(b.c.lab), sa.func.sum(b.c.pos),
        *[sa.func.sum(b.c[name]) for name in ("score", "lab_score", "loss", "loss_sq", "brier",
                                              "brier_sq")])
    if segs:
        query = query.group_by(sa.func.grouping_sets(
            sa.tuple_(*keys), *[sa.tuple_(*keys, seg) for seg in segs]))
    else:
        query = query.group_by(*keys)
    names = list(segments)
    records: dict[tuple[int, str], list[tuple]] = defaultdict(list)
    for row in conn.execute(query):
        widx, cell, seg_values, sums = int(row[0]), tuple(row[1:4]), row[4:4 + n_seg], row[4 + n_seg:]
        grouped = [(names[i], v) for i, v in enumerate(seg_values) if v is not None]
        key = ALL if not grouped else f"{grouped[0][0]}={grouped[0][1]}"
        records[(widx, key)].append((*cell, *sums))
    return {key: Cells.from_records(recs) for key, recs in records.items()}


def fetch_label_stats(conn: Connection, source: sa.Subquery, starts: list[datetime]
                      ) -> dict[int, LabelStats]:
    """Label coverage, duplicates, delay percentiles and newest label per window index."""
    d = source.c
    delay_h = (sa.extract("epoch", d.label_ts) - sa.extract("epoch", d.ts)) / 3600.0
    base = sa.select(_window_index(d.ts, starts).label("widx"), d.label, d.label_ts,
                     d.n_labels, d.label_min, d.label_max, delay_h.label("delay_h"),
                     d.version).subquery("s")
    q = quantile_exprs(conn.dialect.name, base.c.delay_h, [0.5, 0.95])  # None: no quantiles here
    query = sa.select(
        base.c.widx, sa.func.count(), sa.func.count(base.c.label),
        sa.func.sum(sa.case((base.c.n_labels > 1, 1), else_=0)),
        sa.func.sum(sa.case((base.c.label_min != base.c.label_max, 1), else_=0)),
        sa.func.max(base.c.label_ts), (q if q is not None else sa.null()).label("q"),
    ).group_by(base.c.widx)
    out: dict[int, LabelStats] = {}
    for widx, rows, labelled, dup, conflict, newest, quant in conn.execute(query):
        p50 = p95 = None
        if quant is not None:
            p50, p95 = (float(v) for v in quant)
        out[int(widx)] = LabelStats(int(rows), int(labelled), int(dup or 0), int(conflict or 0),
                                    p50, p95, newest)
    versions = sa.select(base.c.widx, base.c.version, sa.func.count()).group_by(
        base.c.widx, base.c.version)
    for widx, version, n in conn.execute(versions):
        out.setdefault(int(widx), LabelStats()).versions[str(version)] = int(n)
    return out


def fetch_kpis(conn: Connection, cfg: MonitorConfig, starts: list[datetime], end: datetime
               ) -> dict[int, list[dict]]:
    """Mean of each KPI per window index and KPI segment (``all`` when the segment is empty)."""
    s = cfg.outcome
    k = kpis_ref(cfg)
    value = sa.cast(k.c[s.kpi_value], sa.Double)
    segment = sa.cast(k.c[s.kpi_segment], sa.String) if s.kpi_segment else sa.literal(None,
                                                                                        sa.String)
    query = (sa.select(_window_index(utc_time(kpi_time(cfg, k)), starts).label("widx"),
                       sa.cast(k.c[s.kpi_name], sa.String).label("kpi"), segment.label("segment"),
                       sa.func.sum(_exact(value)), sa.func.count(value), sa.func.min(value),
                       sa.func.max(value))
             .where(kpi_filter(cfg, k, starts[0], end))
             .group_by(*[sa.literal_column(str(i)) for i in (1, 2, 3)]))
    out: dict[int, list[dict]] = defaultdict(list)
    for widx, kpi, seg, total, n, lo, hi in conn.execute(query):
        mean = float(total) / n if n else None
        out[int(widx)].append({"kpi": kpi, "segment": seg, "mean": mean, "observations": int(n),
                               "min": None if lo is None else float(lo),
                               "max": None if hi is None else float(hi)})
    return out
