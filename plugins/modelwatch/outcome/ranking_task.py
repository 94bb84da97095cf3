"""Realized performance of a ranking model: NDCG@k, MAP@k, recall@k and catalog coverage@k.

Predictions hold one row per (request, candidate item) with its served position
(``columns.rank``, 1 = top) or a score (ranked highest first); labels hold a relevance per
(request, item): a click or purchase (1) or a graded relevance (≥ 0). A served item without a
label in a request that has labels counts as relevance 0. Per request, with positions ``i`` of
the first ``k`` items, relevance ``rel_i``, ``R`` = items with ``rel > 0`` among the request's
candidates:

| metric | value per request (mean over requests, normal interval) |
|---|---|
| ndcg_at_k | DCG@k / IDCG@k, DCG = Σ rel_i / log2(i + 1): linear gain, as sklearn's ``ndcg_score`` |
| map_at_k | Σ_{i ≤ k, rel_i > 0} precision@i / min(k, R) |
| recall_at_k | relevant items in the top k / R |

``catalog_coverage_at_k`` is not per request: distinct items in any request's top k / distinct
candidate items of the window (and slice); a ratio of two counts, without an interval.

Every per-request value is computed in the warehouse with window functions (``ROW_NUMBER``
over the request for the served and the ideal order, a running count of relevant items for
precision@i), then summed per (window, slice) with its square as an exact decimal: the mean
over requests and its CLT interval come from ``n``, Σx and Σx², and no row leaves the warehouse.

The sample (``n_labelled``, what the gate counts) is the requests with at least one labelled
item; NDCG/MAP/recall average over those with at least one relevant item (``R > 0``: the others
have no ideal ranking), with their own gate on that number; how many were left out is in the
row's details (``no_relevant_requests``). A request's window and slice are those of its first
row (``min`` of event time and segment values): segment columns should be request-level.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.config.outcome import OutcomeSettings
from modelwatch.config.schema import MonitorConfig
from modelwatch.outcome.intervals import mean_interval
from modelwatch.outcome.queries import exact_wide, group_by_slices, slice_key, window_index
from modelwatch.outcome.values import MetricValue

REALIZED = ("ndcg_at_k", "map_at_k", "recall_at_k", "catalog_coverage_at_k")
MEANS = ("ndcg", "ap", "recall")
NOT_ADDITIVE = ("top_items", "candidate_items", "k", "window_coverage", "windows")


@dataclass
class RankingSums:
    """Sums of one (window, slice) over requests."""

    requests: float = 0.0
    labelled: float = 0.0  # requests with at least one labelled item
    relevant: float = 0.0  # labelled requests with at least one relevant item (R > 0)
    items: float = 0.0  # prediction rows (request × candidate)
    labelled_items: float = 0.0
    ndcg_sum: float = 0.0
    ndcg_sq: float = 0.0
    ap_sum: float = 0.0
    ap_sq: float = 0.0
    recall_sum: float = 0.0
    recall_sq: float = 0.0
    top_items: float = 0.0  # distinct items in any request's top k
    candidate_items: float = 0.0  # distinct candidate items
    k: int = 10
    # a reference read per window: the mean of its windows' catalog coverage, and their number
    window_coverage: float | None = None
    windows: int = 1

    @classmethod
    def combine(cls, parts: list[RankingSums]) -> RankingSums:
        """The reference from its windows: per-request sums add up; catalog coverage, which grows
        with a window's traffic, is the mean over the windows (so a day is compared with a
        typical reference day, not with a fortnight)."""
        additive = [f.name for f in fields(cls) if f.name not in NOT_ADDITIVE]
        out = cls(*[math.fsum(getattr(p, name) for p in parts) for name in additive], k=parts[0].k)
        covered = [p.top_items / p.candidate_items for p in parts if p.candidate_items > 0]
        out.top_items = max((p.top_items for p in parts), default=0.0)
        out.candidate_items = max((p.candidate_items for p in parts), default=0.0)
        out.window_coverage = sum(covered) / len(covered) if covered else None
        out.windows = len(covered)
        return out

    @property
    def n_rows(self) -> int:
        return int(round(self.requests))

    @property
    def n_labelled(self) -> int:
        return int(round(self.labelled))

    @property
    def coverage(self) -> float | None:
        return self.n_labelled / self.n_rows if self.n_rows else None


def _log2(x):
    return sa.func.ln(sa.cast(x, sa.Double)) / sa.func.ln(sa.literal(2.0, sa.Double))


def _items(source: sa.Subquery, n_seg: int) -> sa.Subquery:
    """Item rows with their served position ``pos`` and ideal position ``ipos`` in the request,
    the request's time and slice, and the running count of relevant items ``cumrel``."""
    d = source.c
    rel = sa.func.coalesce(d.label, 0.0)
    req = {"partition_by": d.rid}
    a = sa.select(
        d.rid, d.item, d.label, rel.label("rel"),
        sa.case((rel > 0, 1), else_=0).label("relbin"),
        sa.func.row_number().over(**req, order_by=[d.srank, d.item]).label("pos"),
        sa.func.row_number().over(**req, order_by=[rel.desc(), d.item]).label("ipos"),
        sa.func.min(d.ts).over(**req).label("rts"),
        *[sa.func.min(d[f"seg{i}"]).over(**req).label(f"seg{i}") for i in range(n_seg)],
    ).subquery("ri")
    return sa.select(
        a, sa.func.sum(a.c.relbin).over(partition_by=a.c.rid, order_by=a.c.pos,
                                        rows=(None, 0)).label("cumrel"),
    ).subquery("rc")


def fetch_ranking(conn: Connection, cfg: MonitorConfig, source: sa.Subquery,
                  starts: list[datetime], segments: dict[str, list[str]]
                  ) -> dict[tuple[int, str], RankingSums]:
    """Ranking sums per (window index, slice key): one query of per-request metrics and one of
    distinct items, both over the whole lookback with slices as grouping sets."""
    k = cfg.outcome.ranking.k
    n_seg = len(segments)
    it = _items(source, n_seg)
    c = it.c
    top = c.pos <= k
    per_request = sa.select(
        window_index(sa.func.min(c.rts), starts).label("widx"),
        *[sa.func.min(c[f"seg{i}"]).label(f"seg{i}") for i in range(n_seg)],
        sa.func.count().label("items"),
        sa.func.count(c.label).label("labelled_items"),
        sa.func.sum(c.relbin).label("r"),
        sa.func.sum(sa.case((top & (c.relbin == 1), 1), else_=0)).label("hits"),
        sa.func.sum(sa.case((top, c.rel / _log2(c.pos + 1)), else_=0.0)).label("dcg"),
        sa.func.sum(sa.case((c.ipos <= k, c.rel / _log2(c.ipos + 1)), else_=0.0)).label("idcg"),
        sa.func.sum(sa.case((top & (c.relbin == 1),
                             sa.cast(c.cumrel, sa.Double) / sa.cast(c.pos, sa.Double)),
                            else_=0.0)).label("ap_num"),
    ).group_by(c.rid).subquery("rq")
    q = per_request.c
    labelled = q.labelled_items > 0
    sample = labelled & (q.r > 0)
    r = sa.cast(q.r, sa.Double)
    values = {"ndcg": q.dcg / sa.func.nullif(q.idcg, 0.0),
              "ap": q.ap_num / sa.func.nullif(sa.func.least(r, float(k)), 0.0),
              "recall": sa.cast(q.hits, sa.Double) / sa.func.nullif(r, 0.0)}
    sums = []
    for name, v in values.items():
        sums += [sa.func.sum(exact_wide(sa.case((sample, v), else_=0.0))).label(f"{name}_sum"),
                 sa.func.sum(exact_wide(sa.case((sample, v * v), else_=0.0))).label(f"{name}_sq")]
    segs = [q[f"seg{i}"] for i in range(n_seg)]
    query = group_by_slices(
        sa.select(q.widx, *segs, sa.func.count().label("requests"),
                  sa.func.sum(sa.case((labelled, 1), else_=0)),
                  sa.func.sum(sa.case((sample, 1), else_=0)),
                  sa.func.sum(q["items"]), sa.func.sum(q.labelled_items), *sums),
        [q.widx], segs)
    names = list(segments)
    out: dict[tuple[int, str], RankingSums] = defaultdict(lambda: RankingSums(k=k))
    for row in conn.execute(query):
        key = (int(row[0]), slice_key(names, row[1:1 + n_seg]))
        out[key] = RankingSums(*[0.0 if v is None else float(v) for v in row[1 + n_seg:]], k=k)
    iw = sa.select(window_index(c.rts, starts).label("widx"),
                   *[c[f"seg{i}"] for i in range(n_seg)], c.item,
                   sa.case((top, c.item)).label("top_item")).subquery("iw")
    item_segs = [iw.c[f"seg{i}"] for i in range(n_seg)]
    items = group_by_slices(
        sa.select(iw.c.widx, *item_segs, sa.func.count(sa.distinct(iw.c.top_item)),
                  sa.func.count(sa.distinct(iw.c.item))),
        [iw.c.widx], item_segs)
    for row in conn.execute(items):
        key = (int(row[0]), slice_key(names, row[1:1 + n_seg]))
        if key in out:
            out[key].top_items, out[key].candidate_items = float(row[-2]), float(row[-1])
    return dict(out)


def ranking_metrics(s: RankingSums, settings: OutcomeSettings, rng, gate: int, setting: str
                    ) -> dict[str, MetricValue]:
    """NDCG@k, MAP@k, recall@k (mean over requests with a relevant item, normal interval) and
    catalog coverage@k (a ratio of distinct counts: no interval)."""
    conf, k = settings.confidence, s.k
    counts = {"k": k, "requests": s.n_rows, "labelled_requests": s.n_labelled,
              "relevant_requests": int(round(s.relevant)),
              "no_relevant_requests": int(round(s.labelled - s.relevant))}
    out: dict[str, MetricValue] = {}
    if s.relevant < gate:
        reason = (f"{int(round(s.relevant))} labelled requests with a relevant item "
                  f"({counts['no_relevant_requests']} without), fewer than {setting}={gate}")
        out |= {m: MetricValue.missing(reason) for m in REALIZED[:3]}
    else:
        for check, name in zip(REALIZED[:3], MEANS, strict=True):
            mean, lo, hi = mean_interval(getattr(s, f"{name}_sum"), getattr(s, f"{name}_sq"),
                                         s.relevant, conf)
            out[check] = MetricValue.of(mean, max(lo, 0.0), min(hi, 1.0), "normal", **counts)
    if s.window_coverage is not None:
        out["catalog_coverage_at_k"] = MetricValue(
            s.window_coverage, None, None, "none",
            {"k": k, "requests": s.n_rows, "windows": s.windows,
             "note": "mean of the reference windows' coverage"})
    elif s.candidate_items <= 0:
        out["catalog_coverage_at_k"] = MetricValue.missing("no candidate items in the window")
    else:
        out["catalog_coverage_at_k"] = MetricValue(
            s.top_items / s.candidate_items, None, None, "none",
            {"k": k, "requests": s.n_rows, "distinct_top_k_items": int(s.top_items),
             "distinct_candidate_items": int(s.candidate_items)})
    return out
