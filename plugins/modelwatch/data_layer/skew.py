"""Training-serving skew: the features served online against the offline feature store.

A deterministic sample of the window's request ids (``data_layer.skew.sample_rate``; a request is
in it when the first 8 hex digits of ``md5("<seed>:<request_id>")`` are below
``rate × 16⁸``, the same on every dialect and in Python, see ``sql.python_in_sample``) is joined
with ``tables.offline_features`` on the request id, in SQL, in one query. Per feature:

- ``skew_mismatch_rate``: share of compared requests whose values differ (categoricals exactly,
  numerics beyond ``relative_tolerance`` × max(|a|, |b|) + ``absolute_tolerance``; null on one
  side only is a mismatch, NaN equals NaN);
- ``skew_mean_abs_diff`` (numerics): mean |online − offline| over rows finite on both sides;
- ``skew_missing_share``: share of sampled requests with no offline row, or the value null on
  exactly one side (feature ``None``: requests with no offline row at all).

``skew_vector_mismatch_rate`` compares a hash of the whole feature vector per request (``sql.
vector_hash``: md5 of ``name=value|…`` over the features sorted by name, numerics quantised to
1e-6), a cheap count of requests whose transformation diverged anywhere.

Request ids that occur more than once on either side are ambiguous: they are counted in the
details (``ambiguous_requests``) and left out, the SQL equivalent of a many-to-one validation.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.config.schema import MonitorConfig
from modelwatch.data_layer.rows import judged, pct, share, skipped
from modelwatch.data_layer.sql import as_double, as_text, count_if, in_sample, is_finite, vector_hash
from modelwatch.metrics import MetricRow
from modelwatch.warehouse.source import offline_ref, predictions_columns, window_filter

CHECKS = ("skew_mismatch_rate", "skew_mean_abs_diff", "skew_missing_share", "skew_vector_mismatch_rate")


def _equal(kind: str, a, b, rtol: float, atol: float):
    if kind == "categorical":
        return as_text(a).is_not_distinct_from(as_text(b))
    x, y = as_double(a), as_double(b)
    # finite on both sides first: NaN <= NaN is true on DuckDB and PostgreSQL
    close = sa.and_(is_finite(a), is_finite(b),
                    sa.func.abs(x - y) <= rtol * sa.func.greatest(sa.func.abs(x), sa.func.abs(y)) + atol)
    return sa.or_(sa.and_(x.is_(None), y.is_(None)), x == y, close)


def sampled_join(conn: Connection, cfg: MonitorConfig, start: datetime, end: datetime, names: list[str]):
    """The window's sampled requests left-joined with their offline rows, as a subquery.

    Columns: ``rid``, ``on<i>`` / ``off<i>`` (online / offline value of ``names[i]``), ``off_rid``
    (null without an offline row) and ``n_rows`` (join fan-out: above 1 the id is ambiguous).
    """
    s = cfg.data_layer.skew
    c = cfg.columns
    pred = predictions_columns(cfg, *names)
    off = offline_ref(cfg, *names)
    sample = (sa.select(pred.c[c.request_id].label("rid"),
                        *(pred.c[n].label(f"on{i}") for i, n in enumerate(names)))
              .where(window_filter(cfg, pred, start, end),
                     in_sample(conn.dialect.name, pred.c[c.request_id], s.seed, s.sample_rate))
              .subquery("s"))
    joined = (sa.select(sample, off.c[c.request_id].label("off_rid"),
                        *(off.c[n].label(f"off{i}") for i, n in enumerate(names)),
                        sa.func.count().over(partition_by=sample.c.rid).label("n_rows"))
              .select_from(sample.outerjoin(off, off.c[c.request_id] == sample.c.rid))
              .subquery("j"))
    return joined


def skew_query(conn: Connection, cfg: MonitorConfig, start: datetime, end: datetime,
               features: list[tuple[str, str]]):
    """The one aggregate query; ``features`` are (name, kind) present on both sides."""
    s = cfg.data_layer.skew
    joined = sampled_join(conn, cfg, start, end, [n for n, _ in features])
    unique = joined.c.n_rows == 1
    present = sa.and_(unique, joined.c.off_rid.is_not(None))
    cols = [sa.func.count(sa.distinct(joined.c.rid)).label("sampled"),
            sa.func.count(sa.distinct(sa.case((joined.c.n_rows > 1, joined.c.rid)))).label("ambiguous"),
            count_if(sa.and_(unique, joined.c.off_rid.is_(None)), "no_offline"),
            count_if(present, "compared")]
    online_vec, offline_vec = [], []
    for i, (name, kind) in enumerate(features):
        a, b = joined.c[f"on{i}"], joined.c[f"off{i}"]
        equal = _equal(kind, a, b, s.relative_tolerance, s.absolute_tolerance)
        differs = sa.case((equal, sa.false()), else_=sa.true())  # NULL (one side null) differs
        cols.append(count_if(sa.and_(present, differs), f"mm{i}"))
        cols.append(count_if(sa.and_(present, sa.or_(sa.and_(a.is_(None), b.is_not(None)),
                                                      sa.and_(a.is_not(None), b.is_(None)))), f"ms{i}"))
        if kind == "numeric":
            both = sa.and_(present, is_finite(a), is_finite(b))
            diff = sa.func.abs(as_double(a) - as_double(b))
            cols.append(sa.func.sum(sa.case((both, diff))).label(f"ad{i}"))
            cols.append(count_if(both, f"nd{i}"))
        online_vec.append((name, a, kind))
        offline_vec.append((name, b, kind))
    cols.append(count_if(sa.and_(present, vector_hash(online_vec) != vector_hash(offline_vec)), "vec"))
    return sa.select(*cols)


def skew_checks(conn: Connection, cfg: MonitorConfig, start: datetime, end: datetime,
                features: list[tuple[str, str]], offline_columns: dict[str, str] | None,
                skipped_features: dict[str, str]) -> list[MetricRow]:
    """Skew rows for every feature; ``skipped_features`` maps a feature to its condition."""
    kinds = dict(features) | {f.name: f.kind for f in cfg.features if f.name in skipped_features}
    rows: list[MetricRow] = []

    def skip_all(name: str | None, kind: str | None, condition: str, message: str | None = None) -> None:
        checks = ["skew_missing_share"] if name is None else ["skew_mismatch_rate", "skew_missing_share"]
        if kind == "numeric":
            checks.append("skew_mean_abs_diff")
        rows.extend(skipped(check, name, condition, message) for check in checks)

    if offline_columns is None:
        message = f"table {cfg.tables.offline_features} does not exist: no skew can be measured"
        for f in cfg.features:
            skip_all(f.name, f.kind, "missing_offline_table", message)
        skip_all(None, None, "missing_offline_table", message)
        rows.append(skipped("skew_vector_mismatch_rate", None, "missing_offline_table", message))
        return rows
    compared_features = [(n, k) for n, k in features if n in offline_columns]
    for name, kind in features:
        if name not in offline_columns:
            skip_all(name, kind, "missing_offline_column",
                     f"{name} is not a column of {cfg.tables.offline_features}")
    for name, condition in skipped_features.items():
        skip_all(name, kinds[name], condition)
    r = conn.execute(skew_query(conn, cfg, start, end, compared_features)).mappings().one()
    sampled, ambiguous = int(r["sampled"] or 0), int(r["ambiguous"] or 0)
    no_offline, compared = int(r["no_offline"] or 0), int(r["compared"] or 0)
    base = {"sampled_requests": sampled, "compared_requests": compared, "ambiguous_requests": ambiguous,
            "missing_offline_rows": no_offline, "sample_rate": cfg.data_layer.skew.sample_rate}
    judged_rows = compared + no_offline
    if judged_rows < cfg.data_layer.skew.min_sampled:
        condition = "empty_window" if sampled == 0 else "too_few_rows"
        message = (f"no request of the window fell in the {pct(cfg.data_layer.skew.sample_rate)} sample"
                   if sampled == 0 else f"{judged_rows} unambiguous sampled requests, fewer than "
                   f"data_layer.skew.min_sampled={cfg.data_layer.skew.min_sampled}")
        for name, kind in compared_features:
            skip_all(name, kind, condition, message)
        skip_all(None, None, condition, message)
        rows.append(skipped("skew_vector_mismatch_rate", None, condition, message))
        return rows
    missing_rows = share(no_offline, judged_rows)
    row = judged(cfg, "skew_missing_share", None, missing_rows, dict(base))
    row.details["message"] = (f"{no_offline} of {judged_rows} sampled requests ({pct(missing_rows)}) have no "
                              f"row in {cfg.tables.offline_features}")
    rows.append(row)
    vec = share(r["vec"], compared)
    if compared:
        row = judged(cfg, "skew_vector_mismatch_rate", None, vec,
                     {**base, "features": len(compared_features)})
        row.details["message"] = (f"{int(r['vec'] or 0)} of {compared} compared requests ({pct(vec)}) have a "
                                  "different feature vector online and offline")
    else:
        row = skipped("skew_vector_mismatch_rate", None, "missing_offline_table",
                      "no sampled request has an offline row to compare with", **base)
    rows.append(row)
    for i, (name, kind) in enumerate(compared_features):
        mismatches = int(r[f"mm{i}"] or 0)
        missing = no_offline + int(r[f"ms{i}"] or 0)
        rate = share(mismatches, compared)
        row = judged(cfg, "skew_mismatch_rate", name, rate, {**base, "mismatches": mismatches})
        row.details["message"] = (f"{name}: {mismatches} of {compared} sampled requests ({pct(rate)}) served "
                                  "a different value than the offline feature store"
                                  if compared else f"{name}: no sampled request has an offline row")
        rows.append(row)
        miss = share(missing, judged_rows)
        row = judged(cfg, "skew_missing_share", name, miss, {**base, "missing": missing})
        row.details["message"] = (f"{name}: {missing} of {judged_rows} sampled requests ({pct(miss)}) miss "
                                  "the value online or offline")
        rows.append(row)
        if kind == "numeric":
            n = int(r[f"nd{i}"] or 0)
            mad = float(r[f"ad{i}"]) / n if n and r[f"ad{i}"] is not None else None
            row = judged(cfg, "skew_mean_abs_diff", name, mad, {**base, "pairs": n})
            row.details["message"] = (f"{name}: mean |online - offline| = {mad:.6g} over {n} pairs"
                                      if mad is not None else f"{name}: no finite pair to compare")
            rows.append(row)
    return rows
