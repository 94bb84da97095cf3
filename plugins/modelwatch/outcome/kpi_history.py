"""The stored history KPI judging and KPI correlation read: one query per run, then kept in step.

``load_kpi_history`` reads, in one query, the ``kpi`` rows (every slice) and the whole-population
rows of the metrics correlated with KPIs, for the window starts in ``[since, before)``. The outcome
run then rewrites its lookback windows oldest first; after each window is written its fresh rows
are ``record``-ed with ``replace_metrics``' own semantics (a window's rows of a (layer, check)
replace the stored ones), so the history seen by window *w* is exactly what ``mw_metric`` holds
at that point. Only windows before *w* are used to judge it, so a rerun or a backfill of a window
gives the same answer as long as the stored earlier windows are the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.drift.seasonal import HistoryPoint
from modelwatch.metrics import MetricRow
from modelwatch.outcome.thresholds import LAYER
from modelwatch.warehouse.window_stats import ALL
from modelwatch.warehouse.writer import Stage, visible_metrics

KPI_CHECK = "kpi"


@dataclass
class KpiHistory:
    """Stored values by ``(layer, check)`` → ``(feature, slice)`` → window start."""

    tracked: frozenset[tuple[str, str]]
    values: dict[tuple[str, str], dict[tuple[str | None, str], dict[datetime, HistoryPoint]]] = (
        field(default_factory=dict))

    def add(self, layer: str, check: str, feature: str | None, slice_key: str,
            point: HistoryPoint) -> None:
        per_check = self.values.setdefault((layer, check), {})
        per_check.setdefault((feature, slice_key), {})[point.window_start] = point

    def record(self, rows: Iterable[MetricRow], start: datetime, end: datetime) -> None:
        """Apply one window's write: its rows of a (layer, check) replace the stored ones."""
        rows = [r for r in rows if (r.layer, r.check_name) in self.tracked]
        for key in {(r.layer, r.check_name) for r in rows}:
            for points in self.values.get(key, {}).values():
                points.pop(start, None)
        for r in rows:
            if r.check_name != KPI_CHECK and r.slice != ALL:
                continue
            self.add(r.layer, r.check_name, r.feature, r.slice, HistoryPoint(start, end, r.value))

    def series(self, layer: str, check: str, feature: str | None, slice_key: str = ALL
               ) -> list[HistoryPoint]:
        """The stored points of one series, oldest first."""
        points = self.values.get((layer, check), {}).get((feature, slice_key), {})
        return [points[s] for s in sorted(points)]

    def features(self, layer: str, check: str, slice_key: str = ALL) -> list[str | None]:
        keys = self.values.get((layer, check), {})
        return sorted((f for f, s in keys if s == slice_key), key=lambda f: (f is not None, f or ""))


def parse_metric(spec: str) -> tuple[str, str]:
    """``"outcome.roc_auc"`` → ``("outcome", "roc_auc")`` (validated by the config)."""
    layer, check = spec.split(".", 1)
    return layer, check


def load_kpi_history(conn: Connection, model_name: str, metrics: Iterable[str], since: datetime,
                     before: datetime, stage: Stage | None = None) -> KpiHistory:
    """Stored ``kpi`` rows and the correlated metrics' whole-population rows in ``[since, before)``,
    with what the earlier steps of the run of ``stage`` staged (its window checks)."""
    pairs = sorted({parse_metric(m) for m in metrics})
    t = visible_metrics(model_name, stage)
    wanted = [sa.and_(t.c.layer == LAYER, t.c.check_name == KPI_CHECK)]
    wanted += [sa.and_(t.c.layer == layer, t.c.check_name == check, t.c.slice == ALL)
               for layer, check in pairs]
    query = (sa.select(t.c.layer, t.c.check_name, t.c.feature, t.c.slice, t.c.window_start,
                       t.c.window_end, t.c.value)
             .where(t.c.model_name == model_name, t.c.window_start >= since,
                    t.c.window_start < before, sa.or_(*wanted))
             .order_by(t.c.window_start))
    history = KpiHistory(frozenset([(LAYER, KPI_CHECK), *pairs]))
    for layer, check, feature, slice_key, start, end, value in conn.execute(query):
        history.add(layer, check, feature, slice_key,
                    HistoryPoint(start, end, None if value is None else float(value)))
    return history
