"""Alert routing and delivery: grouped, deduplicated Slack messages with an outbox in ``mw_alert``.

``deliver_alerts`` is the one entry point a run calls after its checks wrote ``mw_metric``:

1. **Group** the window's crossings into one alert per owner and root cause
   (``grouping.build_groups``) and upsert them into ``mw_alert`` (``lifecycle.plan_window``): a
   cause that persists continues its episode, one that went away gets a ``resolved`` row, and a
   rerun of the window updates the same rows.
2. **Decide** per cause what its owner must hear now (``lifecycle.decide``): new, reopened,
   escalated, a reminder after the cooldown, or resolved — or nothing, when it was already said.
3. **Send** one Slack message per owner (``message.build_messages``) through ``SlackHook``. Each
   alert is claimed (``delivery_attempts`` + 1) before sending and marked ``delivered_at`` after
   Slack accepted it; what failed stays in the outbox and goes out on a later run, once.

Without Slack configured the messages are logged, the alerts stored, and the run stays green.
Package layout: ``families`` (root-cause kinds, runbooks), ``grouping``, ``lifecycle`` and
``message`` are pure; ``store`` is the SQL; ``slack`` the hook. Nothing here imports Airflow.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import quote

from sqlalchemy.engine import Engine

from modelwatch.alerting import actions, reconcile, store, updates
from modelwatch.alerting.grouping import DEFAULT_POLICY, AlertGroup, GroupingPolicy, build_groups
from modelwatch.alerting.lifecycle import DueItem
from modelwatch.alerting.message import Links, OwnerMessage, build_messages
from modelwatch.alerting.slack import DeliveryError, SlackHook, TokenResolver, resolve_settings
from modelwatch.clock import utcnow
from modelwatch.config.schema import MonitorConfig
from modelwatch.data_layer.artifacts import served_url
from modelwatch.paths import runbooks_dir
from modelwatch.warehouse.tables import create_output_tables
from modelwatch.window import naive_utc

__all__ = ["AlertGroup", "DeliveryError", "DeliveryReport", "GroupingPolicy", "SlackHook",
           "build_groups", "deliver_alerts", "resolve_settings", "send_due"]

log = logging.getLogger(__name__)


class WindowLike(Protocol):
    """A data interval, e.g. ``runner.Window``."""

    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...



@dataclass
class DeliveryReport:
    """What one ``deliver_alerts`` call did (small and JSON-safe, fit for XCom).

    Attributes:
        open_groups: Causes present in the window.
        opened / resolved: Causes that started / ended in the window.
        due: Alerts the owners had to hear about (this window's and older undelivered ones).
        covered: Undelivered rows with nothing new to say (a persisting cause): not re-sent.
        delivered: Alerts Slack accepted in this call; messages_sent: messages posted.
        failed: Alerts whose message Slack did not take: kept in the outbox for the next run.
        in_doubt: Of those, alerts whose post went out without an answer (timeout): the next run
            looks for it in the channel before sending again (``reconcile``).
        found_in_slack: Alerts an earlier post in doubt had delivered after all (not re-sent).
        pending: Alerts left undelivered (failed, not configured, or beyond one message's size).
        slack: Where the token came from, or ``not configured``.
    """

    model: str
    window_start: str
    window_end: str
    open_groups: int = 0
    opened: int = 0
    resolved: int = 0
    due: int = 0
    covered: int = 0
    delivered: int = 0
    failed: int = 0
    in_doubt: int = 0
    found_in_slack: int = 0
    pending: int = 0
    messages_sent: int = 0
    messages_updated: int = 0
    slack: str = "not configured"
    errors: list[str] = field(default_factory=list)
    lines: list[tuple[str, str, str, str, str]] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)

    def table(self) -> str:
        """A compact table for the task log: one line per alert due, then the totals."""
        header = ("result", "kind", "severity", "channel", "alert")
        rows = [header, *self.lines]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        out = ["  ".join([*(r[i].ljust(widths[i]) for i in range(4)), r[4]]) for r in rows]
        out.append(f"{self.model} window {self.window_start} – {self.window_end}: "
                   f"{self.open_groups} open, {self.opened} new, {self.resolved} resolved; "
                   f"{self.due} due, {self.delivered} delivered in {self.messages_sent} message(s), "
                   f"{self.failed} failed ({self.in_doubt} sent without an answer), "
                   f"{self.found_in_slack} found already posted, "
                   f"{self.pending} pending, {self.covered} not repeated, "
                   f"{self.messages_updated} earlier message(s) edited; "
                   f"Slack: {self.slack}")
        return "\n".join(out)


def _send(engine: Engine, hook: SlackHook, model: str, message: OwnerMessage, rebuild,
          report: DeliveryReport) -> None:
    """Claim the message's alerts, post it, mark them delivered; failures stay in the outbox."""
    with engine.begin() as conn:
        claimed = [item for item in message.items if store.claim(conn, item)]
        if not claimed:
            return
        if len(claimed) < len(message.items):  # another run took some: send only ours
            message = rebuild(claimed)
        sent_at = utcnow()
        key = reconcile.delivery_key(message.alert_ids, sent_at)
        store.mark_sending(conn, message.alert_ids, key, sent_at)
    try:
        answer = hook.post_message(channel=message.channel, text=message.text,
                                   blocks=message.blocks, metadata=reconcile.metadata(model, key))
    except DeliveryError as exc:
        if not exc.uncertain:  # Slack answered no: nothing landed, due again next run
            with engine.begin() as conn:
                store.release(conn, message.alert_ids)
        report.failed += len(message.items)
        report.in_doubt += len(message.items) if exc.uncertain else 0
        report.errors.append(f"{message.channel}: {exc}")
        level = logging.ERROR if exc.terminal else logging.WARNING
        log.log(level, "Slack delivery to %s failed, %d alert(s) kept for the next run%s: %s",
                message.channel, len(message.items),
                ", which first looks in the channel for this post" if exc.uncertain else "", exc)
        report.lines += [("failed", i.kind, i.alert.severity, message.channel, i.alert.title)
                         for i in message.items]
        return
    with engine.begin() as conn:
        at = utcnow()
        store.mark_delivered(conn, message.alert_ids, at)
        updates.record_post(conn, model=model, channel=message.channel, answer=answer,
                            text=message.text, blocks=message.blocks,
                            alert_ids=[i.alert.alert_id for i in message.items], at=at)
    report.messages_sent += 1
    report.delivered += len(message.items)
    report.lines += [("sent", i.kind, i.alert.severity, message.channel, i.alert.title)
                     for i in message.items]


def _edit_announcements(engine: Engine, hook: SlackHook, model: str, start: datetime,
                        end: datetime, report: DeliveryReport) -> None:
    """``chat.update`` the earlier messages whose causes this window continues or resolves."""
    with engine.connect() as conn:
        edits = [e for a in updates.pending_updates(conn, model, start, end)
                 if (e := updates.apply_update(conn, a)) is not None]
    for edit in edits:
        try:
            hook.update_message(channel=edit.channel_id, ts=edit.ts, text=edit.text,
                                blocks=edit.blocks or None)
        except DeliveryError as exc:  # the next run computes the same edit and tries again
            log.warning("Slack chat.update of %s/%s failed: %s", edit.channel_id, edit.ts, exc)
            report.errors.append(f"update {edit.channel_id}/{edit.ts}: {exc}")
            continue
        with engine.begin() as conn:
            updates.save_update(conn, edit, utcnow())
        report.messages_updated += 1


def deliver_alerts(
    engine: Engine,
    cfg: MonitorConfig,
    window: WindowLike,
    run_id: str,
    *,
    dag_id: str | None = None,
    slack: SlackHook | None = None,
    slack_conn_id: str | None = None,
    token_resolver: TokenResolver | None = None,
    cooldown: timedelta | None = None,
    now: datetime | None = None,
    policy: GroupingPolicy = DEFAULT_POLICY,
) -> DeliveryReport:
    """Group the window's crossings into alerts, store them, and send what is due.

    Safe to call again for the same window (a retry or a rerun): rows are updated in place and
    nothing already delivered is sent again. Never raises for Slack trouble — that is counted in
    the report and retried on the next call — so a Slack outage does not fail the monitoring run.

    Args:
        engine: The warehouse holding ``mw_metric`` and ``mw_alert``.
        window: The run's data interval (``.start``/``.end``; naive UTC or aware).
        run_id: The Airflow run id, for links in messages.
        dag_id: For links; defaults to the monitor's DAG id.
        slack: A ready hook (tests); otherwise built from ``resolve_settings``.
        slack_conn_id: Airflow connection holding the token (default ``slack_api_default``).
        token_resolver: ``conn_id -> token``, injected by the Airflow edge.
        cooldown: An open, unacknowledged cause is re-sent as a reminder after this long without
            a message about it; until then it is updated in ``mw_alert`` only. Defaults to the
            monitor's ``alerting.reminder_after``.
        now: Wall clock for bookkeeping and the cooldown (tests pin it).
    """
    start, end = naive_utc(window.start), naive_utc(window.end)
    now = now or utcnow()
    create_output_tables(engine)
    with engine.begin() as conn:
        recorded = store.record_window(conn, cfg, start, end, now=now, policy=policy)
    report = DeliveryReport(cfg.model.name, start.isoformat(), end.isoformat(),
                            open_groups=len(recorded.groups), opened=recorded.opened,
                            resolved=recorded.resolved)
    return send_due(engine, cfg, window, run_id, report, dag_id=dag_id, slack=slack,
                    slack_conn_id=slack_conn_id, token_resolver=token_resolver,
                    cooldown=cooldown, now=now)


def send_due(
    engine: Engine,
    cfg: MonitorConfig,
    window: WindowLike,
    run_id: str,
    report: DeliveryReport | None = None,
    *,
    dag_id: str | None = None,
    slack: SlackHook | None = None,
    slack_conn_id: str | None = None,
    token_resolver: TokenResolver | None = None,
    cooldown: timedelta | None = None,
    now: datetime | None = None,
) -> DeliveryReport:
    """Send what the model's outbox holds: one message per owner, each alert at most once.

    The second half of ``deliver_alerts``, also called on its own by the failure and deadline
    callbacks (``incidents``), which record their row in ``mw_alert`` without a window of metrics.
    """
    start, end = naive_utc(window.start), naive_utc(window.end)
    model = cfg.model.name
    now = now or utcnow()
    report = report or DeliveryReport(model, start.isoformat(), end.isoformat())
    cooldown = cfg.alerting.reminder_after if cooldown is None else cooldown
    if slack is None:
        settings = resolve_settings(conn_id=slack_conn_id, resolver=token_resolver)
        slack = SlackHook.from_settings(settings) if settings else None
        report.slack = settings.source if settings else "not configured"
    else:
        report.slack = "injected hook"
    if slack is not None:  # posts that went out without an answer: landed, or due again?
        report.found_in_slack = reconcile.reconcile(engine, slack, model).alerts_found
    with engine.begin() as conn:
        box = store.outbox(conn, model, now=now, cooldown=cooldown)
        report.covered = store.apply_covers(conn, box.covers)
        context = store.still_open(conn, model, start, end,
                                   exclude={d.alert.fingerprint for d in box.due})
        run_ids = {}
        for key in {(d.alert.window_start, d.alert.window_end) for d in box.due} - {(start, end)}:
            found = store.run_id_of(conn, model, *key)
            if found:
                run_ids[key] = found
    report.due = len(box.due)
    links = Links.from_config(cfg, runbooks_dir=runbooks_dir(), dag_id=dag_id)
    with engine.connect() as conn:
        docs = store.data_docs_of(conn, model, start, end)
    if docs:
        prefix = (f"{cfg.alerting.airflow_base_url.rstrip('/')}/modelwatch/dags/"
                  f"{quote(dag_id or cfg.dag_id)}/artifacts")
        links = dataclasses.replace(links, data_docs_url=docs.get("s3") or (
            served_url(cfg.data_layer.artifacts, prefix, docs["local"]) if docs.get("local") else None))

    def build(items: list[DueItem]) -> list[OwnerMessage]:
        return build_messages(model=model, window_start=start, window_end=end, run_id=run_id,
                              due=items, still_open=context, links=links, run_ids=run_ids)

    messages = build(box.due)
    for message in messages:
        log.info("Alert message for %s (%s):\n%s", message.owner, message.channel, message.text)
        if slack is None:
            report.lines += [("logged", i.kind, i.alert.severity, message.channel, i.alert.title)
                             for i in message.items]
            continue
        _send(engine, slack, model, message, lambda items: build(items)[0], report)
    if slack is not None:
        _edit_announcements(engine, slack, model, start, end, report)
        # rollbacks/promotions an outage kept from their owner (alerting.actions)
        actions.notify_registry_events(engine, cfg, dag_id=dag_id, slack=slack, now=now)
    if slack is None and box.due:
        log.warning("Slack is not configured (set MODELWATCH_SLACK_TOKEN or the Airflow connection "
                    "%s): %d alert(s) not sent, kept in mw_alert for delivery later (each message "
                    "is logged at INFO; `modelwatch alerts list` shows them)",
                    slack_conn_id or "slack_api_default", len(box.due))
    report.pending = report.due - report.delivered
    log.info("Alerts:\n%s", report.table())
    return report
