"""Tell the model owner when modelwatch changed the serving model: a rollback or a promotion.

These are not alerts (nothing to acknowledge or resolve) but the owner must hear of them at once:
the model answering requests is now another one. Each registry event of kind ``rollback`` or
``promote`` in ``mw_registry_event`` is announced once in the model owner's channel; its
``notified_at`` marks it told. The action's own task announces it; every later alerting step
sends what an outage left unsent, so an announcement is never lost and never doubled (the event
id is derived from the model, action and window, so a replayed action adds no event).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from modelwatch.alerting.message import format_window
from modelwatch.alerting.slack import DeliveryError, SlackHook, TokenResolver, resolve_settings
from modelwatch.clock import utcnow
from modelwatch.config.schema import MonitorConfig
from modelwatch.warehouse.tables import mw_registry_event

log = logging.getLogger(__name__)

ANNOUNCED = {"rollback": (":rewind:", "rolled back"), "promote": (":arrow_up:", "promoted")}
# Older untold events are history (e.g. from before this column existed), not news.
RECENT = timedelta(days=7)


def announcement(cfg: MonitorConfig, event: dict, dag_id: str | None = None) -> str:
    emoji, verb = ANNOUNCED[event["event"]]
    start = event.get("window_start")
    window = (f" in window {format_window(start, start + cfg.schedule.window)}"
              if start else "")
    source = "the previous version" if event["event"] == "rollback" else "the challenger"
    return (f"{emoji} {cfg.model.name} · {cfg.owners.model.team}: {verb}{window} — the champion "
            f"is now {event['version']} ({source}).\n"
            f"Reason: {event.get('reason') or 'not recorded'}\n"
            f"Monitoring tab: {cfg.alerting.model_tab_url(dag_id or cfg.dag_id)}")


def notify_registry_events(engine: Engine, cfg: MonitorConfig, *, dag_id: str | None = None,
                           slack: SlackHook | None = None,
                           token_resolver: TokenResolver | None = None,
                           now: datetime | None = None) -> int:
    """Announce the model's untold rollbacks and promotions; returns how many were sent."""
    now = now or utcnow()
    with engine.connect() as conn:
        events = [dict(r) for r in conn.execute(sa.select(mw_registry_event).where(
            mw_registry_event.c.model_name == cfg.model.name,
            mw_registry_event.c.event.in_(list(ANNOUNCED)),
            mw_registry_event.c.notified_at.is_(None),
            mw_registry_event.c.event_at >= now - RECENT).order_by(
                mw_registry_event.c.event_at)).mappings()]
    if not events:
        return 0
    if slack is None:
        settings = resolve_settings(resolver=token_resolver)
        slack = SlackHook.from_settings(settings) if settings else None
    channel = cfg.owners.model.slack_channel
    sent = 0
    for event in events:
        text = announcement(cfg, event, dag_id)
        if slack is None:
            log.info("Registry change for %s (%s), Slack not configured:\n%s",
                     cfg.owners.model.team, channel, text)
            continue
        try:
            slack.post_message(channel=channel, text=text)
        except DeliveryError as exc:
            log.warning("Could not announce %s of %s to %s (sent on a later run): %s",
                        event["event"], cfg.model.name, channel, exc)
            continue
        with engine.begin() as conn:
            conn.execute(sa.update(mw_registry_event).where(
                mw_registry_event.c.event_id == event["event_id"]).values(
                    notified_at=now))
        sent += 1
    return sent
