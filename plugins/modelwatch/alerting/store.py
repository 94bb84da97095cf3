"""``mw_alert`` reads and writes: recording a window's groups, the outbox, acks and listings.

The only module of the package that speaks SQL (SQLAlchemy Core, works on DuckDB and PostgreSQL).
Every decision is taken by the pure functions of ``grouping`` and ``lifecycle``; this module feeds
them rows and applies what they return.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.alerting import findings
from modelwatch.alerting.grouping import (
    DEFAULT_POLICY,
    INCIDENT_LAYER,
    AlertGroup,
    GroupingPolicy,
    build_groups,
    corroborated,
    owner_for,
)
from modelwatch.alerting.lifecycle import (
    DEFAULT_COOLDOWN,
    OPEN_STATES,
    Cover,
    DueItem,
    StoredAlert,
    WindowPlan,
    decide,
    plan_window,
)
from modelwatch.clock import utcnow
from modelwatch.config.schema import MonitorConfig
from modelwatch.errors import ModelwatchError
from modelwatch.warehouse.tables import mw_alert, mw_metric

_CHUNK = 500  # ids per IN (...) list


class AlertNotFound(ModelwatchError):
    """No alert (or more than one) matches the id given to ``alerts ack``."""

    user_error = True  # the id given is wrong: the CLI exits 2 with the message alone


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    values = sorted(set(values))
    for i in range(0, len(values), _CHUNK):
        yield values[i:i + _CHUNK]


def window_metrics(conn: Connection, model: str, window_start: datetime,
                   window_end: datetime) -> list[dict]:
    """The window's crossings (rows in warn/alert) from ``mw_metric``."""
    return [dict(r) for r in conn.execute(
        sa.select(mw_metric).where(
            mw_metric.c.model_name == model, mw_metric.c.window_start == window_start,
            mw_metric.c.window_end == window_end, mw_metric.c.status.in_(["warn", "alert"]))
    ).mappings()]


def run_metrics(conn: Connection, cfg: MonitorConfig, window_start: datetime,
                window_end: datetime) -> list[dict]:
    """The run's crossings: its window's, plus the label findings of the window it matured.

    Which rows count is ``findings`` (shared with the decision engine). A matured row keeps its
    own window keys and carries ``matured_since``, the first window of its streak.
    """
    model = cfg.model.name
    rows = window_metrics(conn, model, window_start, window_end)
    matured = findings.matured_window(cfg, window_start, window_end)
    if matured is None:
        return rows
    older = conn.execute(sa.select(mw_metric).where(
        mw_metric.c.model_name == model, mw_metric.c.layer == findings.OUTCOME_LAYER,
        mw_metric.c.window_start >= findings.lookback_start(cfg, window_end),
        mw_metric.c.window_end <= matured[1], mw_metric.c.status.in_(["warn", "alert"]))
    ).mappings()
    label_rows = [dict(r) for r in older if findings.is_label_finding(r["layer"], r["check_name"])]
    return rows + findings.with_streaks(label_rows, matured[0], cfg.schedule.window)


def history(conn: Connection, model: str, fingerprints: Iterable[str], *,
            before: datetime | None = None) -> dict[str, list[StoredAlert]]:
    """Rows per fingerprint, oldest window first (only windows starting before ``before``)."""
    out: dict[str, list[StoredAlert]] = {}
    for chunk in _chunks(fingerprints):
        query = sa.select(mw_alert).where(mw_alert.c.model_name == model,
                                          mw_alert.c.fingerprint.in_(chunk))
        if before is not None:
            query = query.where(mw_alert.c.window_start < before)
        for row in conn.execute(query.order_by(mw_alert.c.window_start)).mappings():
            out.setdefault(row["fingerprint"], []).append(StoredAlert.from_row(row))
    return out


def window_rows(conn: Connection, model: str, window_start: datetime,
                window_end: datetime) -> dict[str, StoredAlert]:
    rows = conn.execute(sa.select(mw_alert).where(
        mw_alert.c.model_name == model, mw_alert.c.window_start == window_start,
        mw_alert.c.window_end == window_end)).mappings()
    return {r["fingerprint"]: StoredAlert.from_row(r) for r in rows}


def _latest_rows(model: str | None, before: datetime | None = None) -> sa.Select:
    """Each fingerprint's latest row (optionally among windows starting before ``before``)."""
    inner = sa.select(mw_alert.c.fingerprint, sa.func.max(mw_alert.c.window_start).label("ws"))
    if model is not None:
        inner = inner.where(mw_alert.c.model_name == model)
    if before is not None:
        inner = inner.where(mw_alert.c.window_start < before)
    latest = inner.group_by(mw_alert.c.fingerprint).subquery()
    return sa.select(mw_alert).join(latest, sa.and_(
        mw_alert.c.fingerprint == latest.c.fingerprint, mw_alert.c.window_start == latest.c.ws))


def open_before(conn: Connection, model: str, window_start: datetime) -> set[str]:
    """Fingerprints of metric alerts whose latest row before the window is still open.

    Incidents (failed tasks, missed deadlines) are left out: their callbacks resolve them when
    the task succeeds again, which a window without them says nothing about.
    """
    query = _latest_rows(model, window_start).where(
        mw_alert.c.status.in_(OPEN_STATES),
        sa.or_(mw_alert.c.layer.is_(None), mw_alert.c.layer != INCIDENT_LAYER))
    return {r["fingerprint"] for r in conn.execute(query).mappings()}


def apply_plan(conn: Connection, plan: WindowPlan) -> None:
    if plan.inserts:
        conn.execute(sa.insert(mw_alert), plan.inserts)
    for alert_id, values in plan.updates:
        conn.execute(sa.update(mw_alert).where(mw_alert.c.alert_id == alert_id).values(**values))


@dataclass(frozen=True)
class Recorded:
    """What recording a window did: its groups, and how many causes resolved in it."""

    groups: list[AlertGroup]
    opened: int
    resolved: int


def record_window(conn: Connection, cfg: MonitorConfig, window_start: datetime,
                  window_end: datetime, *, now: datetime | None = None,
                  policy: GroupingPolicy = DEFAULT_POLICY) -> Recorded:
    """Group the run's stored findings and upsert its ``mw_alert`` rows (one transaction).

    The findings are the window's metrics and the label findings of the window its as-of date
    matured (``run_metrics``): a realized drop opens or continues its episode in the run that
    found it, keyed by this window like every other cause.
    """
    model = cfg.model.name
    now = now or utcnow()
    groups = build_groups(cfg, run_metrics(conn, cfg, window_start, window_end), policy)
    current = {fp: row for fp, row in window_rows(conn, model, window_start, window_end).items()
               if row.layer != INCIDENT_LAYER}
    needed = {g.fingerprint for g in groups} | set(current) | open_before(conn, model, window_start)
    earlier = history(conn, model, needed, before=window_start)
    # a lone crossing held back to log is told once it persists into a second window
    groups = [corroborated(g, "persists: also in the previous window")
              if g.held_from and any(r.window_end == window_start and r.is_open
                                     for r in earlier.get(g.fingerprint, [])) else g
              for g in groups]

    def owner_of(layer: str) -> tuple[str, str]:
        owner = owner_for(cfg, layer)
        return owner.team, owner.slack_channel

    plan = plan_window(groups, current, earlier, model=model, window_start=window_start,
                       window_end=window_end, now=now, owner_of=owner_of)
    apply_plan(conn, plan)
    return Recorded(groups, plan.opened, plan.resolved)


@dataclass(frozen=True)
class Outbox:
    """Rows to send now, and rows marked up to date without a message."""

    due: list[DueItem]
    covers: list[Cover]


def outbox(conn: Connection, model: str, *, now: datetime,
           cooldown: timedelta = DEFAULT_COOLDOWN) -> Outbox:
    """Everything undelivered for the model, judged per fingerprint (``lifecycle.decide``)."""
    pending = set(conn.execute(sa.select(mw_alert.c.fingerprint).distinct().where(
        mw_alert.c.model_name == model, mw_alert.c.delivered_at.is_(None),
        mw_alert.c.severity != "log")).scalars())
    due, covers = [], []
    for rows in history(conn, model, pending).values():
        decision = decide(rows, now=now, cooldown=cooldown)
        if isinstance(decision, DueItem):
            due.append(decision)
        elif isinstance(decision, Cover) and decision.alert_ids:
            covers.append(decision)
    due.sort(key=lambda d: (d.alert.channel or "", d.alert.window_start, d.alert.title))
    return Outbox(due, covers)


def apply_covers(conn: Connection, covers: Iterable[Cover]) -> int:
    count = 0
    for cover in covers:
        for chunk in _chunks(cover.alert_ids):
            count += conn.execute(sa.update(mw_alert).where(
                mw_alert.c.alert_id.in_(chunk), mw_alert.c.delivered_at.is_(None)
            ).values(delivered_at=cover.at)).rowcount
    return count


def claim(conn: Connection, item: DueItem) -> bool:
    """Count a delivery attempt, unless another run already took or sent this row.

    The update only matches the attempt count this run read, so two runs racing for the same row
    cannot both send it.
    """
    return conn.execute(sa.update(mw_alert).where(
        mw_alert.c.alert_id == item.alert.alert_id, mw_alert.c.delivered_at.is_(None),
        mw_alert.c.delivery_attempts == item.alert.delivery_attempts,
    ).values(delivery_attempts=mw_alert.c.delivery_attempts + 1)).rowcount == 1


def mark_sending(conn: Connection, alert_ids: Iterable[str], key: str, at: datetime) -> None:
    """Record, before the post, the key its metadata carries: should no answer come back, the
    next run finds the message by it (``reconcile``)."""
    for chunk in _chunks(alert_ids):
        conn.execute(sa.update(mw_alert).where(
            mw_alert.c.alert_id.in_(chunk), mw_alert.c.delivered_at.is_(None)
        ).values(claim_key=key, claimed_at=at))


def release(conn: Connection, alert_ids: Iterable[str]) -> None:
    """The post certainly did not land (Slack answered with an error, or it is not in the
    channel): the alerts are due again like any undelivered row."""
    for chunk in _chunks(alert_ids):
        conn.execute(sa.update(mw_alert).where(
            mw_alert.c.alert_id.in_(chunk), mw_alert.c.delivered_at.is_(None)
        ).values(claim_key=None, claimed_at=None))


def in_doubt(conn: Connection, model: str) -> dict[tuple[str, str], tuple[list[str], datetime]]:
    """Undelivered alerts whose post went out without an answer: (channel, key) -> ids, sent at."""
    rows = conn.execute(sa.select(mw_alert.c.alert_id, mw_alert.c.channel, mw_alert.c.claim_key,
                                  mw_alert.c.claimed_at).where(
        mw_alert.c.model_name == model, mw_alert.c.delivered_at.is_(None),
        mw_alert.c.claim_key.is_not(None))).all()
    out: dict[tuple[str, str], tuple[list[str], datetime]] = {}
    for alert_id, channel, key, at in rows:
        ids, first = out.get((channel or "", key), ([], at))
        out[(channel or "", key)] = ([*ids, alert_id], min(first, at))
    return out


def mark_delivered(conn: Connection, alert_ids: Iterable[str], at: datetime) -> None:
    """Delivered: the claim is settled (a later change of the row, e.g. its resolution, is a new
    delivery with a new key, never mistaken for this post)."""
    for chunk in _chunks(alert_ids):
        conn.execute(sa.update(mw_alert).where(
            mw_alert.c.alert_id.in_(chunk), mw_alert.c.delivered_at.is_(None)
        ).values(delivered_at=at, claim_key=None, claimed_at=None))


def still_open(conn: Connection, model: str, window_start: datetime, window_end: datetime,
               exclude: Iterable[str] = ()) -> list[StoredAlert]:
    """Causes open in this window that are not being sent (shown as one line of context)."""
    skip = set(exclude)
    rows = conn.execute(sa.select(mw_alert).where(
        mw_alert.c.model_name == model, mw_alert.c.window_start == window_start,
        mw_alert.c.window_end == window_end, mw_alert.c.status.in_(OPEN_STATES),
        mw_alert.c.severity != "log").order_by(mw_alert.c.title)).mappings()
    return [StoredAlert.from_row(r) for r in rows if r["fingerprint"] not in skip]


def run_id_of(conn: Connection, model: str, window_start: datetime,
              window_end: datetime) -> str | None:
    """The run that wrote the window's metrics (for links to older windows' runs)."""
    return conn.execute(sa.select(mw_metric.c.run_id).where(
        mw_metric.c.model_name == model, mw_metric.c.window_start == window_start,
        mw_metric.c.window_end == window_end).limit(1)).scalar()


def list_alerts(conn: Connection, *, model: str | None = None, status: str | None = None,
                every_window: bool = False) -> list[StoredAlert]:
    """Alerts, newest window first: each cause's latest row, or every window's row."""
    query = sa.select(mw_alert) if every_window else _latest_rows(model)
    if model is not None:
        query = query.where(mw_alert.c.model_name == model)
    if status is not None:
        query = query.where(mw_alert.c.status == status)
    query = query.order_by(mw_alert.c.window_start.desc(), mw_alert.c.severity, mw_alert.c.title)
    return [StoredAlert.from_row(r) for r in conn.execute(query).mappings()]


def ack(conn: Connection, alert_id: str, *, by: str, note: str,
        model: str | None = None) -> list[str]:
    """Acknowledge an alert: its row and the rest of its episode (later windows) get the ack.

    ``alert_id`` may be a unique prefix (as ``alerts list`` prints 12 characters). Open rows
    become ``acked``; a resolved row keeps its status and records who reviewed it and why.

    Returns:
        Ids of the rows updated.

    Raises:
        AlertNotFound: No alert, or several, start with ``alert_id``.
    """
    query = sa.select(mw_alert).where(mw_alert.c.alert_id.startswith(alert_id, autoescape=True))
    if model is not None:
        query = query.where(mw_alert.c.model_name == model)
    found = [StoredAlert.from_row(r) for r in conn.execute(query.limit(2)).mappings()]
    if len(found) != 1:
        what = "no alert" if not found else "several alerts"
        raise AlertNotFound(f"{what} with id {alert_id!r}. Fix: copy an id from "
                            "`modelwatch alerts list` (12 characters are enough)")
    target = found[0]
    rows = history(conn, target.model_name, [target.fingerprint])[target.fingerprint]
    start = next(i for i, r in enumerate(rows) if r.alert_id == target.alert_id)
    episode = [target]
    if target.is_open:  # the ack carries to the later windows of the same episode
        for row in rows[start + 1:]:
            episode.append(row)
            if not row.is_open:
                break
    for row in episode:
        values = {"acked_by": by, "ack_note": note}
        if row.status == "open":
            values["status"] = "acked"
        conn.execute(sa.update(mw_alert).where(mw_alert.c.alert_id == row.alert_id).values(**values))
    return [r.alert_id for r in episode]


def data_docs_of(conn: Connection, model: str, start: datetime, end: datetime) -> dict | None:
    """The Data Docs links the data layer stored on the window's expectation rows, if any."""
    rows = conn.execute(sa.select(mw_metric.c.details).where(
        mw_metric.c.model_name == model, mw_metric.c.layer == "data",
        mw_metric.c.window_start == start, mw_metric.c.window_end == end,
        mw_metric.c.check_name.like("expect_%")).limit(20)).scalars().all()
    for details in rows:
        if isinstance(details, str):
            details = json.loads(details)
        docs = (details or {}).get("data_docs")
        if isinstance(docs, dict) and docs:
            return docs
    return None
