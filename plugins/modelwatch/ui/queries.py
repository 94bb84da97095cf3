"""Read-only queries over the ``mw_*`` tables for the UI pages and the report.

Each function is one or two indexed SELECTs (model, window range, check names), returns plain
dataclasses, and never reads input tables: the pages show what the DAG runs stored. The model tab
asks for at most ``max_windows`` windows, so its cost does not grow with history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.warehouse.tables import (
    mw_alert,
    mw_decision,
    mw_metric,
    mw_model_registry,
    mw_registry_event,
)

DRIFT_CHECKS = ("psi", "ks", "jensen_shannon", "wasserstein", "chi_square", "kl")
DATA_FINDINGS = ("silent_default_share", "skew_mismatch_rate", "schema")
OPEN_ALERT_STATES = ("open", "acked")
SHADOW_CHECKS = ("decision_agreement", "auc_diff", "challenger_score_psi", "promotion_gate")


def _json(value) -> dict:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return {}
    return dict(value)


@dataclass(frozen=True)
class Cell:
    """One value of a check for one feature and window, as stored (with its threshold)."""

    feature: str
    window_start: datetime
    value: float | None
    threshold: float | None
    status: str
    details: dict = field(default_factory=dict, compare=False)

    @property
    def ratio(self) -> float | None:
        """Value relative to its alert threshold (1.0 = at the threshold)."""
        if self.value is None or not self.threshold:
            return None
        return self.value / self.threshold


@dataclass(frozen=True)
class Overview:
    model_name: str
    last_window: datetime | None
    last_decision: str | None
    last_rule: str | None
    open_alerts: dict[str, int]
    label_coverage: float | None
    coverage_window: datetime | None
    champion: str | None
    challenger: str | None


@dataclass(frozen=True)
class Point:
    window_start: datetime
    value: float | None
    low: float | None
    high: float | None
    status: str
    coverage: float | None = None


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str  # decision | registry | alert
    label: str
    detail: str
    severity: str = "info"


@dataclass(frozen=True)
class CheckRow:
    window_start: datetime
    window_end: datetime
    layer: str
    check_name: str
    feature: str | None
    slice: str
    value: float | None
    threshold: float | None
    status: str
    details: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Decision:
    window_start: datetime
    window_end: datetime
    decision: str
    rule: str | None
    signals: dict | list | None


def overview(conn: Connection, model_name: str, realized: str = "roc_auc") -> Overview:
    """What the overview page says of one model: its last decision, open alerts, versions.

    ``realized``: the headline check whose evaluated windows date the label coverage shown.
    """
    last = conn.execute(
        sa.select(mw_decision.c.window_start, mw_decision.c.decision, mw_decision.c.rule)
        .where(mw_decision.c.model_name == model_name)
        .order_by(mw_decision.c.window_start.desc()).limit(1)).first()
    alerts = dict(conn.execute(
        sa.select(mw_alert.c.severity, sa.func.count())
        .where(mw_alert.c.model_name == model_name, mw_alert.c.status.in_(OPEN_ALERT_STATES))
        .group_by(mw_alert.c.severity)).all())
    coverage = conn.execute(
        sa.select(mw_metric.c.window_start, mw_metric.c.value)
        .where(mw_metric.c.model_name == model_name, mw_metric.c.check_name == "label_coverage",
               mw_metric.c.slice == "all", mw_metric.c.value.is_not(None),
               mw_metric.c.window_start.in_(
                   sa.select(mw_metric.c.window_start).where(
                       mw_metric.c.model_name == model_name, mw_metric.c.check_name == realized,
                       mw_metric.c.slice == "all", mw_metric.c.status != "skipped")))
        .order_by(mw_metric.c.window_start.desc()).limit(1)).first()
    versions = registry_aliases(conn, model_name)
    return Overview(
        model_name=model_name,
        last_window=last[0] if last else None,
        last_decision=last[1] if last else None,
        last_rule=last[2] if last else None,
        open_alerts={str(k): int(v) for k, v in alerts.items()},
        label_coverage=None if coverage is None else float(coverage[1]),
        coverage_window=None if coverage is None else coverage[0],
        champion=versions.get("champion"),
        challenger=versions.get("challenger"),
    )


def registry_aliases(conn: Connection, model_name: str) -> dict[str, str]:
    rows = conn.execute(sa.select(mw_model_registry.c.alias, mw_model_registry.c.version).where(
        mw_model_registry.c.model_name == model_name, mw_model_registry.c.alias.is_not(None))).all()
    return {alias: version for alias, version in rows}


def recent_windows(conn: Connection, model_name: str, max_windows: int = 90) -> list[datetime]:
    """The newest ``max_windows`` window starts that have drift rows, oldest first."""
    rows = conn.execute(
        sa.select(mw_metric.c.window_start).distinct()
        .where(mw_metric.c.model_name == model_name, mw_metric.c.layer.in_(("data", "model")),
               mw_metric.c.check_name == "psi")
        .order_by(mw_metric.c.window_start.desc()).limit(max_windows)).scalars().all()
    return sorted(rows)


def drift_cells(conn: Connection, model_name: str, check: str, windows: list[datetime],
                slice_key: str = "all") -> list[Cell]:
    """Every feature's ``check`` value per window (whole population unless ``slice_key``)."""
    if not windows:
        return []
    rows = conn.execute(
        sa.select(mw_metric.c.feature, mw_metric.c.window_start, mw_metric.c.value,
                  mw_metric.c.threshold, mw_metric.c.status, mw_metric.c.details)
        .where(mw_metric.c.model_name == model_name, mw_metric.c.check_name == check,
               mw_metric.c.slice == slice_key, mw_metric.c.feature.is_not(None),
               mw_metric.c.window_start >= windows[0], mw_metric.c.window_start <= windows[-1])
    ).all()
    return [Cell(f, w, v, t, s, _json(d)) for f, w, v, t, s, d in rows]


def data_findings(conn: Connection, model_name: str, windows: list[datetime]) -> list[Cell]:
    """Data-layer alerts that explain drift cells (silent defaulting, skew, schema)."""
    if not windows:
        return []
    rows = conn.execute(
        sa.select(mw_metric.c.feature, mw_metric.c.window_start, mw_metric.c.value,
                  mw_metric.c.threshold, mw_metric.c.status, mw_metric.c.check_name)
        .where(mw_metric.c.model_name == model_name, mw_metric.c.layer == "data",
               mw_metric.c.check_name.in_(DATA_FINDINGS), mw_metric.c.slice == "all",
               mw_metric.c.status == "alert", mw_metric.c.feature.is_not(None),
               mw_metric.c.window_start >= windows[0], mw_metric.c.window_start <= windows[-1])
    ).all()
    return [Cell(f, w, v, t, s, {"check": c}) for f, w, v, t, s, c in rows]


def available_drift_checks(conn: Connection, model_name: str) -> list[str]:
    names = set(conn.execute(sa.select(mw_metric.c.check_name).distinct().where(
        mw_metric.c.model_name == model_name, mw_metric.c.check_name.in_(DRIFT_CHECKS))).scalars())
    return [c for c in DRIFT_CHECKS if c in names]


def series(conn: Connection, model_name: str, check: str, since: datetime | None = None,
           slice_key: str = "all", feature: str | None = None) -> list[Point]:
    """One check's whole-population series with its interval (``ci_low``/``ci_high``)."""
    query = (sa.select(mw_metric.c.window_start, mw_metric.c.value, mw_metric.c.status,
                       mw_metric.c.details)
             .where(mw_metric.c.model_name == model_name, mw_metric.c.check_name == check,
                    mw_metric.c.slice == slice_key)
             .order_by(mw_metric.c.window_start))
    query = query.where(mw_metric.c.feature.is_(None) if feature is None
                        else mw_metric.c.feature == feature)
    if since is not None:
        query = query.where(mw_metric.c.window_start >= since)
    points = []
    for start, value, status, details in conn.execute(query).all():
        d = _json(details)
        points.append(Point(start, value, _float(d.get("ci_low")), _float(d.get("ci_high")),
                            status, _float(d.get("label_coverage", d.get("coverage")))))
    return points


def _float(value) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def timeline(conn: Connection, model_name: str, since: datetime | None = None,
             limit: int = 500) -> list[Event]:
    """Decisions other than healthy, registry events and alerts, oldest first."""
    events: list[Event] = []
    q = sa.select(mw_decision.c.window_start, mw_decision.c.decision, mw_decision.c.rule).where(
        mw_decision.c.model_name == model_name, mw_decision.c.decision != "healthy")
    if since is not None:
        q = q.where(mw_decision.c.window_start >= since)
    for at, decision, rule in conn.execute(q.limit(limit)).all():
        events.append(Event(at, "decision", decision, rule or "", _DECISION_SEVERITY.get(decision,
                                                                                         "info")))
    q = sa.select(sa.func.coalesce(mw_registry_event.c.window_start, mw_registry_event.c.event_at),
                  mw_registry_event.c.event,
                  mw_registry_event.c.version, mw_registry_event.c.to_alias,
                  mw_registry_event.c.reason).where(mw_registry_event.c.model_name == model_name)
    for at, event, version, alias, reason in conn.execute(q.limit(limit)).all():
        events.append(Event(at, "registry", f"{event} {version}",
                            f"{'-> ' + alias + ': ' if alias else ''}{reason or ''}"))
    q = sa.select(mw_alert.c.window_start, mw_alert.c.severity, mw_alert.c.title,
                  mw_alert.c.layer, mw_alert.c.status).where(mw_alert.c.model_name == model_name)
    if since is not None:
        q = q.where(mw_alert.c.window_start >= since)
    for at, severity, title, layer, status in conn.execute(
            q.order_by(mw_alert.c.window_start.desc()).limit(limit)).all():
        events.append(Event(at, "alert", title, f"{layer} · {status}", severity))
    return sorted(events, key=lambda e: (e.at, e.kind))


_DECISION_SEVERITY = {"retrain": "notify", "rollback": "page", "promote": "notify",
                      "alert_only": "notify"}


def window_of_run(conn: Connection, model_name: str, run_id: str) -> tuple[datetime, datetime] | None:
    """The window a DAG run monitored (its decision row, or else its drift rows)."""
    row = conn.execute(sa.select(mw_decision.c.window_start, mw_decision.c.window_end).where(
        mw_decision.c.model_name == model_name, mw_decision.c.run_id == run_id)).first()
    if row is None:
        row = conn.execute(
            sa.select(mw_metric.c.window_start, mw_metric.c.window_end)
            .where(mw_metric.c.model_name == model_name, mw_metric.c.run_id == run_id,
                   mw_metric.c.layer.in_(("data", "model")))
            .order_by(mw_metric.c.window_end.desc()).limit(1)).first()
    return None if row is None else (row[0], row[1])


def window_checks(conn: Connection, model_name: str, start: datetime, end: datetime,
                  run_id: str | None = None) -> list[CheckRow]:
    """Every metric row of a window, plus the rows its run wrote for earlier windows (late
    labels re-evaluate past windows)."""
    cond = sa.and_(mw_metric.c.window_start == start, mw_metric.c.window_end == end)
    if run_id is not None:
        cond = sa.or_(cond, mw_metric.c.run_id == run_id)
    rows = conn.execute(
        sa.select(mw_metric.c.window_start, mw_metric.c.window_end, mw_metric.c.layer,
                  mw_metric.c.check_name, mw_metric.c.feature, mw_metric.c.slice,
                  mw_metric.c.value, mw_metric.c.threshold, mw_metric.c.status,
                  mw_metric.c.details)
        .where(mw_metric.c.model_name == model_name, cond)).all()
    out = [CheckRow(*r[:9], _json(r[9])) for r in rows]
    order = {"alert": 0, "warn": 1, "ok": 2, "skipped": 3}
    return sorted(out, key=lambda r: (order.get(r.status, 4), r.layer, r.check_name,
                                      r.feature or "", r.slice, r.window_start))


def decision_of(conn: Connection, model_name: str, start: datetime) -> Decision | None:
    row = conn.execute(sa.select(mw_decision.c.window_start, mw_decision.c.window_end,
                                 mw_decision.c.decision, mw_decision.c.rule, mw_decision.c.signals)
                       .where(mw_decision.c.model_name == model_name,
                              mw_decision.c.window_start == start)).first()
    if row is None:
        return None
    signals = row[4]
    if isinstance(signals, str):
        try:
            signals = json.loads(signals)
        except ValueError:
            signals = {"raw": signals}
    return Decision(row[0], row[1], row[2], row[3], signals)


def window_alerts(conn: Connection, model_name: str, start: datetime, end: datetime) -> list[dict]:
    rows = conn.execute(sa.select(mw_alert.c.severity, mw_alert.c.layer, mw_alert.c.title,
                                  mw_alert.c.status, mw_alert.c.owner, mw_alert.c.channel)
                        .where(mw_alert.c.model_name == model_name,
                               mw_alert.c.window_start == start, mw_alert.c.window_end == end)
                        ).all()
    return [dict(r._mapping) for r in rows]


def runs_by_window(conn: Connection, model_name: str, since: datetime | None = None
                   ) -> dict[datetime, str]:
    """The DAG run that decided each window (its run tab is keyed by run id)."""
    q = sa.select(mw_decision.c.window_start, mw_decision.c.run_id).where(
        mw_decision.c.model_name == model_name)
    if since is not None:
        q = q.where(mw_decision.c.window_start >= since)
    return {w: r for w, r in conn.execute(q).all()}
