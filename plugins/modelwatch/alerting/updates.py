"""Edit the Slack message that announced an incident while it persists, instead of re-sending it.

A cause that is still open in a later window has nothing new to say (``lifecycle.decide`` covers
it), but the message people are looking at should not go stale: its thread-free answer is a
``chat.update`` of the announcing message with one status line per cause it announced —
"still open in window 2026-09-22 (3 windows)", then "resolved in window 2026-09-23". The lines
are keyed by fingerprint and replaced, not appended, so a rerun of a window produces the same
message and no update call; the original text and blocks are kept in ``mw_slack_message``.

``record_post`` stores a posted message; ``pending_updates`` computes, from ``mw_alert``, the
status lines a window gives each earlier announcing message; ``apply_update`` merges them and
says whether anything changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.alerting.lifecycle import FOLDED, OPEN_STATES, StoredAlert, episode_before
from modelwatch.alerting.message import format_window
from modelwatch.alerting.store import history, window_rows
from modelwatch.warehouse.tables import mw_alert, mw_slack_message

UPDATES_HEADER = "Updates (edited by later runs):"


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


def record_post(conn: Connection, *, model: str, channel: str, answer: Mapping, text: str,
                blocks: Sequence[dict] | None, alert_ids: Sequence[str], at: datetime) -> None:
    """Remember where a message landed (Slack's channel id and ts) and what it said."""
    channel_id, ts = answer.get("channel"), answer.get("ts")
    if not channel_id or not ts:
        return
    conn.execute(sa.update(mw_alert).where(mw_alert.c.alert_id.in_(list(alert_ids))).values(
        slack_channel_id=channel_id, slack_ts=ts))
    conn.execute(sa.delete(mw_slack_message).where(mw_slack_message.c.channel_id == channel_id,
                                                   mw_slack_message.c.ts == ts))
    conn.execute(sa.insert(mw_slack_message).values(
        channel_id=channel_id, ts=ts, model_name=model, channel=channel, text=text,
        blocks=list(blocks or []), updates={}, posted_at=at))


def status_line(row: StoredAlert, windows: int) -> str:
    window = format_window(row.window_start, row.window_end)
    name = row.base_title
    if row.status == "resolved" and (row.summary or "").startswith(FOLDED):
        return (f":arrow_heading_down: {name}: still alerting, now part of "
                f"\"{row.summary.removeprefix(FOLDED)}\" (window {window})")
    if row.status == "resolved":
        return f":white_check_mark: {name}: resolved in window {window}"
    ack = f", acked by {row.acked_by}" if row.acked_by else ""
    return (f":arrows_counterclockwise: {name}: still open in window {window} "
            f"({windows} windows, {row.severity}{ack})")


@dataclass(frozen=True)
class Anchor:
    """An earlier message to edit: where it is and the lines this window gives it."""

    channel_id: str
    ts: str
    lines: dict[str, str]


def pending_updates(conn: Connection, model: str, window_start: datetime,
                    window_end: datetime) -> list[Anchor]:
    """Status lines for the messages that announced the episodes this window continues or ends.

    An open row whose own message was posted in this window (new, reminder, escalation) is
    skipped: that message already says it. A resolution is both posted and edited into the
    announcement, which is where people look first.
    """
    current = window_rows(conn, model, window_start, window_end)
    if not current:
        return []
    rows_by_fp = history(conn, model, current)
    anchors: dict[tuple[str, str], dict[str, str]] = {}
    for fp, row in current.items():
        if row.severity == "log" or (row.slack_ts and row.is_open):
            continue
        rows = rows_by_fp.get(fp, [])
        index = next((i for i, r in enumerate(rows) if r.alert_id == row.alert_id), None)
        if index is None:
            continue
        episode = episode_before(rows, index)
        announced = [r for r in episode if r.slack_ts and r.slack_channel_id]
        if not announced or not (row.status in OPEN_STATES or row.status == "resolved"):
            continue
        anchor = announced[-1]
        windows = len(episode) + (1 if row.is_open else 0)
        anchors.setdefault((anchor.slack_channel_id, anchor.slack_ts), {})[fp] = status_line(
            row, windows)
    return [Anchor(c, t, lines) for (c, t), lines in sorted(anchors.items())]


@dataclass(frozen=True)
class EditedMessage:
    channel_id: str
    ts: str
    text: str
    blocks: list[dict]
    updates: dict[str, str]


def apply_update(conn: Connection, anchor: Anchor) -> EditedMessage | None:
    """The edited message, or None when it is unknown or would not change (a rerun)."""
    stored = conn.execute(sa.select(mw_slack_message).where(
        mw_slack_message.c.channel_id == anchor.channel_id,
        mw_slack_message.c.ts == anchor.ts)).mappings().first()
    if stored is None:
        return None
    before = dict(_json(stored["updates"]) or {})
    merged = {**before, **anchor.lines}
    if merged == before:
        return None
    lines = [merged[k] for k in sorted(merged)]
    text = stored["text"] + "\n\n" + UPDATES_HEADER + "\n" + "\n".join(lines)
    blocks = list(_json(stored["blocks"]) or [])
    if blocks:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": "\n".join([f"*{UPDATES_HEADER}*", *lines])[:2900]}]})
    return EditedMessage(anchor.channel_id, anchor.ts, text, blocks, merged)


def save_update(conn: Connection, edited: EditedMessage, at: datetime) -> None:
    conn.execute(sa.update(mw_slack_message).where(
        mw_slack_message.c.channel_id == edited.channel_id,
        mw_slack_message.c.ts == edited.ts).values(updates=edited.updates, updated_at=at))
