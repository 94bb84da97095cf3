"""Posts whose answer never came are looked up in Slack before anything is sent again.

A post can land without its sender knowing: Slack answers after the client's timeout, or the run
is killed between the request and the answer. Resending then doubles every alert of the message,
and the copy Slack holds is unknown to ``mw_slack_message``, so later edits never reach it. So
each post carries a delivery key in its Slack message metadata (``event_type``
``modelwatch_delivery``), written to ``mw_alert.claim_key`` before the request goes out. The next
delivery first reads the channel's history since the post (``conversations.history`` with its
metadata): a message with the key is the delivery — its alerts are marked delivered and the
message recorded for edits — and a key found nowhere is released, so its alerts are due again.

When the history cannot be read (a token without ``channels:history``, the bot not in the
channel), the alerts are released and sent again, with a warning: a page said twice is better
than a page never said.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from modelwatch.alerting import store, updates
from modelwatch.alerting.slack import DeliveryError, SlackHook
from modelwatch.clock import utcnow
from modelwatch.warehouse.tables import mw_slack_message

log = logging.getLogger(__name__)

EVENT_TYPE = "modelwatch_delivery"
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")
# Slack's ts and our clock may disagree a little: read the history from a bit before the post
CLOCK_MARGIN = timedelta(minutes=2)


def delivery_key(alert_ids: Iterable[str], at: datetime) -> str:
    """The key one post of these alerts carries: the same ids sent at another time are another
    delivery."""
    text = ",".join(sorted(alert_ids)) + "@" + at.isoformat()
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def metadata(model: str, key: str) -> dict:
    """The Slack message metadata of a post (what ``conversations.history`` gives back)."""
    return {"event_type": EVENT_TYPE, "event_payload": {"model": model, "key": key}}


@dataclass
class Reconciled:
    """What the look-up found: posts that had landed, and posts released for sending again."""

    found: int = 0
    released: int = 0
    alerts_found: int = 0


def reconcile(engine: Engine, hook: SlackHook, model: str) -> Reconciled:
    """Settle every post of ``model`` still in doubt (see the module docstring)."""
    result = Reconciled()
    with engine.connect() as conn:
        doubtful = store.in_doubt(conn, model)
    by_channel: dict[str, dict[str, tuple[list[str], datetime]]] = {}
    for (channel, key), entry in doubtful.items():
        by_channel.setdefault(channel, {})[key] = entry
    for channel, keys in by_channel.items():
        found = _look_up(engine, hook, model, channel, keys)
        for key, (ids, _) in keys.items():
            message = found.get(key)
            with engine.begin() as conn:
                if message is None:
                    store.release(conn, ids)
                    result.released += 1
                    continue
                _record(conn, model, channel, message, ids)
            result.found += 1
            result.alerts_found += len(ids)
    if result.found or result.released:
        log.info("Slack deliveries in doubt for %s: %d found in the channel (not sent again), "
                 "%d not there (due again)", model, result.found, result.released)
    return result


def _look_up(engine: Engine, hook: SlackHook, model: str, channel: str,
             keys: dict[str, tuple[list[str], datetime]]) -> dict[str, dict]:
    """key -> the message (with its ``channel`` id) that carries it, among ``channel``'s history."""
    oldest = min(at for _, at in keys.values()) - CLOCK_MARGIN
    try:
        channel_id = _channel_id(engine, hook, channel)
        if channel_id is None:
            raise DeliveryError(f"no channel {channel!r} visible to the token")
        messages = hook.history(channel_id=channel_id, oldest=oldest.replace(tzinfo=UTC).timestamp())
    except DeliveryError as exc:
        log.warning("Could not check whether %d post(s) of %s to %s landed (%s); sending them "
                    "again, which may repeat them. Fix: give the Slack token channels:read and "
                    "channels:history (groups:* for private channels)", len(keys), model, channel,
                    exc)
        return {}
    found = {}
    for message in messages:
        meta = message.get("metadata") or {}
        payload = meta.get("event_payload") or {}
        if meta.get("event_type") == EVENT_TYPE and payload.get("key") in keys:
            found[payload["key"]] = {**message, "channel": channel_id}
    return found


def _channel_id(engine: Engine, hook: SlackHook, channel: str) -> str | None:
    """The id to read the history of: the channel itself if it is an id, else the id an earlier
    answer gave for that name (``mw_slack_message``), else ``conversations.list``."""
    if _CHANNEL_ID.match(channel):
        return channel
    with engine.connect() as conn:
        known = conn.execute(sa.select(mw_slack_message.c.channel_id).where(
            mw_slack_message.c.channel == channel).limit(1)).scalar()
    return known or hook.channel_id(channel)


def _record(conn: Connection, model: str, channel: str, message: dict, ids: list[str]) -> None:
    """The post landed: its alerts are delivered (when Slack stamped it) and the message is
    remembered, so later windows edit it in place."""
    try:
        at = datetime.fromtimestamp(float(message["ts"]), UTC).replace(tzinfo=None)
    except (KeyError, ValueError):
        at = utcnow()
    store.mark_delivered(conn, ids, at)
    updates.record_post(conn, model=model, channel=channel, answer=message,
                        text=message.get("text") or "", blocks=message.get("blocks"),
                        alert_ids=ids, at=at)
