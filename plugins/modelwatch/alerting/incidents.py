"""Incidents of the monitoring runs themselves: a task that failed for good, a run that failed
without a task failing (a timeout, a deadlock), a run past its deadline.

The Airflow callbacks (``modelwatch.airflow.callbacks``) turn what Airflow hands them into an
``Incident`` and call ``page_incident`` / ``resolve_incident``; everything else is the alerting
path every metric alert takes — one row per (cause, window) in ``mw_alert`` with the lifecycle of
``lifecycle.plan_window`` (episodes, acks, reopen), the infra owner's routing and severity, and
the outbox (``send_due``), so a failure is paged once, is not re-sent while it persists (a
retry, a rerun, the same task failing the next day), and a resolution follows when the task
succeeds again.

The cause is (model, kind, task): two different tasks failing are two incidents; the same task
failing on consecutive windows is one. Error texts are scrubbed of credentials before they are
stored or sent: a driver's error can quote a connection URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from modelwatch.alerting import DeliveryReport, send_due, store
from modelwatch.alerting.grouping import INCIDENT_LAYER, AlertGroup, fingerprint, owner_for
from modelwatch.alerting.lifecycle import plan_window
from modelwatch.alerting.slack import SlackHook, TokenResolver
from modelwatch.clock import utcnow
from modelwatch.config.schema import MonitorConfig
from modelwatch.warehouse.tables import create_output_tables
from modelwatch.window import naive_utc

KIND_FAMILY = {"task_failed": "task_failure", "run_failed": "run_failure",
               "deadline_missed": "run_deadline"}
MAX_ERROR = 400  # characters of the error kept: enough to recognise it, the log has the rest

_SECRETS = (
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1***@"),  # user:password@ in URLs
    (re.compile(r"xox[abposr]-[A-Za-z0-9-]+"), "xox*-***"),  # Slack tokens
    (re.compile(r"(?i)(password|passwd|pwd|secret|token|api_key)(\s*[=:]\s*)\S+"), r"\1\2***"),
)


def scrub(text: str) -> str:
    """The text without credentials (URL passwords, Slack tokens, ``password=…`` pairs)."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def error_line(error: BaseException | str | None) -> str | None:
    """``TypeName: first line of the message``, scrubbed and cut to ``MAX_ERROR`` characters."""
    if error is None:
        return None
    if isinstance(error, BaseException):
        message = str(error).strip().splitlines()
        text = type(error).__name__ + (f": {message[0]}" if message else "")
    else:
        text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    text = scrub(text)
    return text if len(text) <= MAX_ERROR else text[:MAX_ERROR - 1] + "…"



@dataclass(frozen=True)
class Incident:
    """What went wrong with one monitoring run.

    Attributes:
        kind: ``task_failed``, ``run_failed`` or ``deadline_missed``.
        window_start / window_end: The run's data interval: the window the incident is filed
            under (a rerun of the window finds and updates the same row).
        task_id / try_number / max_tries: The failed task and its last try (task_failed).
        error: The error, already cut to one line (``error_line``).
        log_url: The task's log in the Airflow UI.
        reason: Airflow's reason for a run failure, or the deadline that passed.
    """

    kind: str
    dag_id: str
    run_id: str
    window_start: datetime
    window_end: datetime
    task_id: str | None = None
    try_number: int | None = None
    max_tries: int | None = None
    error: str | None = None
    log_url: str | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KIND_FAMILY:
            raise ValueError(f"unknown incident kind {self.kind!r}; one of {sorted(KIND_FAMILY)}")

    @property
    def family(self) -> str:
        return KIND_FAMILY[self.kind]

    @property
    def subject(self) -> str:
        return self.task_id or "" if self.kind == "task_failed" else ""

    def title(self) -> str:
        if self.kind == "task_failed":
            tries = (f" (try {self.try_number} of {self.max_tries})"
                     if self.try_number and self.max_tries else "")
            return f"monitoring task failed: {self.task_id}{tries}"
        if self.kind == "run_failed":
            return f"monitoring run failed: {self.reason or 'no task failed'}"
        return f"monitoring run late: {self.reason or 'past its deadline'}"

    def evidence(self) -> tuple[str, ...]:
        lines = []
        if self.error:
            lines.append(f"error: {self.error}")
        if self.kind != "task_failed" and self.reason:
            lines.append(f"reason: {self.reason}")
        lines.append(f"dag {self.dag_id}, run {self.run_id}")
        if self.log_url:
            lines.append(f"log: {self.log_url}")
        return tuple(lines)


def incident_fingerprint(cfg: MonitorConfig, incident: Incident) -> str:
    return fingerprint(cfg.model.name, INCIDENT_LAYER, incident.family, incident.subject)


def _group(cfg: MonitorConfig, incident: Incident) -> AlertGroup:
    owner = owner_for(cfg, INCIDENT_LAYER)
    return AlertGroup(
        fingerprint=incident_fingerprint(cfg, incident), model=cfg.model.name,
        layer=INCIDENT_LAYER, family=incident.family, subject=incident.subject,
        severity=owner.severity.alert, title=incident.title(), evidence=incident.evidence(),
        owner=owner.team, channel=owner.slack_channel, members=())


def record_incident(engine: Engine, cfg: MonitorConfig, incident: Incident, *,
                    now: datetime | None = None) -> str:
    """Upsert the incident's ``mw_alert`` row for its window; returns the alert id.

    A second call for the same window (a retry, a rerun failing again) updates the row —
    latest try and error — and leaves its delivery state alone, so it is not paged twice.
    """
    now = now or utcnow()
    start, end = naive_utc(incident.window_start), naive_utc(incident.window_end)
    group = _group(cfg, incident)
    create_output_tables(engine)
    with engine.begin() as conn:
        current = {fp: row for fp, row in store.window_rows(conn, cfg.model.name, start, end).items()
                   if fp == group.fingerprint}
        earlier = store.history(conn, cfg.model.name, [group.fingerprint], before=start)
        plan = plan_window([group], current, earlier, model=cfg.model.name, window_start=start,
                           window_end=end, now=now, owner_of=lambda _layer: (group.owner,
                                                                              group.channel))
        store.apply_plan(conn, plan)
        return store.window_rows(conn, cfg.model.name, start, end)[group.fingerprint].alert_id


def resolve_incident(engine: Engine, cfg: MonitorConfig, incident: Incident, *,
                     now: datetime | None = None) -> bool:
    """Mark the cause resolved in the incident's window when its latest row is open.

    ``incident`` names the cause (kind and task) and the window of the run that succeeded.
    Returns whether anything was open. No row is written when nothing was, so the success
    callback of every task costs one read.
    """
    now = now or utcnow()
    start, end = naive_utc(incident.window_start), naive_utc(incident.window_end)
    fp = incident_fingerprint(cfg, incident)
    with engine.begin() as conn:
        rows = store.history(conn, cfg.model.name, [fp]).get(fp, [])
        open_rows = [r for r in rows if r.window_start <= start]
        if not open_rows or not open_rows[-1].is_open:
            return False
        same = [r for r in rows if (r.window_start, r.window_end) == (start, end)]
        current = {fp: same[0]} if same else {}
        earlier = {fp: [r for r in rows if r.window_start < start]}
        plan = plan_window([], current, earlier, model=cfg.model.name, window_start=start,
                           window_end=end, now=now,
                           owner_of=lambda layer: ((o := owner_for(cfg, layer)).team,
                                                   o.slack_channel))
        store.apply_plan(conn, plan)
    return plan.resolved > 0


@dataclass(frozen=True)
class _Span:
    start: datetime
    end: datetime


def page_incident(engine: Engine, cfg: MonitorConfig, incident: Incident, *,
                  slack: SlackHook | None = None, token_resolver: TokenResolver | None = None,
                  now: datetime | None = None) -> DeliveryReport:
    """Record the incident and send the outbox (the infra owner hears of it once)."""
    record_incident(engine, cfg, incident, now=now)
    return send_due(engine, cfg, _Span(incident.window_start, incident.window_end),
                    incident.run_id, dag_id=incident.dag_id, slack=slack,
                    token_resolver=token_resolver, now=now)


def close_incident(engine: Engine, cfg: MonitorConfig, incident: Incident, *,
                   slack: SlackHook | None = None, token_resolver: TokenResolver | None = None,
                   now: datetime | None = None) -> DeliveryReport | None:
    """Resolve the cause if it was open and send the resolution; None when nothing was open."""
    if not resolve_incident(engine, cfg, incident, now=now):
        return None
    return send_due(engine, cfg, _Span(incident.window_start, incident.window_end),
                    incident.run_id, dag_id=incident.dag_id, slack=slack,
                    token_resolver=token_resolver, now=now)
