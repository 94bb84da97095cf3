"""How alert rows evolve from window to window, and what is due for delivery (pure, no I/O).

``mw_alert`` holds one row per (fingerprint, window) in which the cause was present — plus one
``resolved`` row in the first window where it was gone. Consecutive rows of a fingerprint that are
``open``/``acked`` form an *episode*: the incident the owner is told about once.

Rows (``plan_window``), for the window being recorded:

- a group present now gets a row; it continues the episode of the fingerprint's previous row
  when that one was open (keeping its ack), else starts a new episode;
- a fingerprint whose previous row was open and that is absent now gets a ``resolved`` row;
- a rerun of the window updates its rows in place (same ids), so it never adds copies.

Delivery state is ``delivered_at``: NULL means the owner has not been brought up to date on this
row yet (the outbox). A row's ``delivered_at`` is reset only when what the owner must hear
changes: it opens, resolves, reopens or escalates.

What is due (``decide``) is judged on the fingerprint's latest row against what its episode
already delivered:

===========================================  ==================================================
latest row                                   outcome
===========================================  ==================================================
open, nothing delivered in the episode       due: ``new``
open, reopened after a delivered resolution  due: ``reopened``
open, more severe than anything delivered    due: ``escalated``
open (not acked), last delivery ≥ cooldown   due: ``reminder``
open, otherwise                              covered: nothing new to tell (not re-sent)
resolved                                     due: ``resolved``
severity ``log``                             never sent: stored and logged (dashboard only)
===========================================  ==================================================

Older undelivered rows of a fingerprint are superseded by its latest row and are marked with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from modelwatch.alerting.grouping import (
    SEVERITY_RANK,
    AlertGroup,
    absorbed_fingerprints,
    alert_id,
    max_severity,
)

OPEN_STATES = ("open", "acked")
REOPENED = " (reopened)"
FOLDED = "folded into "  # how a closed episode's summary starts when its cause joined a group
DEFAULT_COOLDOWN = timedelta(days=7)
KINDS = ("new", "reopened", "escalated", "reminder", "resolved")


@dataclass(frozen=True)
class StoredAlert:
    """One ``mw_alert`` row."""

    alert_id: str
    fingerprint: str
    model_name: str
    severity: str
    layer: str
    title: str
    summary: str | None
    owner: str | None
    channel: str | None
    window_start: datetime
    window_end: datetime
    status: str
    first_seen: datetime
    last_seen: datetime
    delivered_at: datetime | None = None
    delivery_attempts: int = 0
    acked_by: str | None = None
    ack_note: str | None = None
    slack_channel_id: str | None = None
    slack_ts: str | None = None

    @classmethod
    def from_row(cls, row: Mapping) -> StoredAlert:
        names = cls.__dataclass_fields__
        values = {k: row[k] for k in names if k in row}
        values["delivery_attempts"] = values.get("delivery_attempts") or 0
        return cls(**values)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    @property
    def base_title(self) -> str:
        return self.title.removesuffix(REOPENED)


@dataclass
class WindowPlan:
    """Rows to insert and updates (by alert id) for one window, and how many causes started
    (or came back) and ended in it."""

    inserts: list[dict] = field(default_factory=list)
    updates: list[tuple[str, dict]] = field(default_factory=list)
    opened: int = 0
    resolved: int = 0

    @property
    def empty(self) -> bool:
        return not self.inserts and not self.updates


def episode_before(history: list[StoredAlert], index: int) -> list[StoredAlert]:
    """The open rows directly before ``history[index]`` in its episode (oldest first)."""
    out = []
    for row in reversed(history[:index]):
        if not row.is_open:
            break
        out.append(row)
    return out[::-1]


OwnerLookup = Callable[[str], tuple[str, str]]


def plan_window(
    groups: Iterable[AlertGroup],
    current: Mapping[str, StoredAlert],
    history: Mapping[str, list[StoredAlert]],
    *,
    model: str,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    owner_of: OwnerLookup,
) -> WindowPlan:
    """Rows for one window.

    Args:
        groups: This window's alert groups.
        current: This window's existing rows by fingerprint (a rerun finds them here).
        history: Per fingerprint, its rows of earlier windows, oldest first. Must hold every
            fingerprint in ``groups`` and every fingerprint whose latest earlier row is open.
        owner_of: Layer → (team, channel), for resolution rows of a layer with no group now.
        now: Wall clock for the bookkeeping columns only (``first_seen``/``last_seen``).
    """
    plan = WindowPlan()
    present = set()
    groups = list(groups)
    folded_into = {fp: g.title for g in groups for fp in absorbed_fingerprints(g)}
    for group in groups:
        present.add(group.fingerprint)
        earlier = history.get(group.fingerprint, [])
        prev = earlier[-1] if earlier else None
        continuing = prev is not None and prev.is_open
        fields = {"severity": group.severity, "title": group.title, "summary": group.summary,
                  "owner": group.owner, "channel": group.channel, "layer": group.layer,
                  "last_seen": now}
        cur = current.get(group.fingerprint)
        if cur is None:
            acked = continuing and prev.status == "acked"
            plan.opened += not continuing
            plan.inserts.append({
                **fields, "alert_id": alert_id(group.fingerprint, window_start, window_end),
                "fingerprint": group.fingerprint, "model_name": model,
                "window_start": window_start, "window_end": window_end,
                "status": "acked" if acked else "open",
                "first_seen": prev.first_seen if continuing else now,
                "delivered_at": None, "delivery_attempts": 0,
                "acked_by": prev.acked_by if acked else None,
                "ack_note": prev.ack_note if acked else None,
            })
            continue
        if cur.status == "resolved":  # a rerun finds the cause back
            plan.opened += 1
            acked = (continuing and prev.status == "acked") or cur.acked_by is not None
            fields["status"] = "acked" if acked else "open"
            fields["delivered_at"] = None
            if cur.delivered_at is not None:  # the owner was told it was resolved
                fields["title"] = group.title + REOPENED
        else:
            if cur.title.endswith(REOPENED) and cur.delivered_at is None:
                fields["title"] = group.title + REOPENED
            if (cur.delivered_at is not None
                    and SEVERITY_RANK[group.severity] > SEVERITY_RANK.get(cur.severity, 0)):
                fields["delivered_at"] = None
        plan.updates.append((cur.alert_id, fields))

    for fp in sorted((set(current) | set(history)) - present):
        cur = current.get(fp)
        if cur is not None:
            if cur.is_open:
                plan.resolved += 1
                plan.updates.append((cur.alert_id, {"status": "resolved", "last_seen": now,
                                                    "delivered_at": None,
                                                    "title": cur.base_title}))
            continue
        earlier = history.get(fp, [])
        if not earlier or not earlier[-1].is_open:
            continue
        prev = earlier[-1]
        episode = episode_before(earlier, len(earlier) - 1) + [prev]
        team, channel = owner_of(prev.layer)
        folded = folded_into.get(fp)
        # folded: the cause still alerts, inside a larger group that announces it; the episode
        # closes without telling anyone it is resolved (its own message says where it went)
        plan.resolved += folded is None
        plan.inserts.append({
            "alert_id": alert_id(fp, window_start, window_end), "fingerprint": fp,
            "model_name": model, "layer": prev.layer,
            "severity": max_severity(r.severity for r in episode), "title": prev.base_title,
            "summary": f"{FOLDED}{folded}" if folded else prev.summary, "owner": team,
            "channel": channel, "window_start": window_start, "window_end": window_end,
            "status": "resolved", "first_seen": prev.first_seen, "last_seen": now,
            "delivered_at": now if folded else None,
            "delivery_attempts": 0, "acked_by": prev.acked_by, "ack_note": prev.ack_note,
        })
    return plan


@dataclass(frozen=True)
class DueItem:
    """A row the owner must hear about now.

    Attributes:
        alert: The fingerprint's latest row, which the message describes.
        kind: One of ``KINDS``.
        since: Start of the episode's first window.
        windows: Windows the cause was present in this episode.
        covers: Ids marked delivered together with ``alert`` (older rows it supersedes).
        announced: False for a resolution of an episode the owner never heard about.
    """

    alert: StoredAlert
    kind: str
    since: datetime
    windows: int
    covers: tuple[str, ...] = ()
    announced: bool = True

    @property
    def alert_ids(self) -> tuple[str, ...]:
        return (self.alert.alert_id, *self.covers)


@dataclass(frozen=True)
class Cover:
    """Rows with nothing new to tell: marked as brought up to date at ``at``."""

    alert_ids: tuple[str, ...]
    at: datetime


def decide(history: list[StoredAlert], *, now: datetime,
           cooldown: timedelta = DEFAULT_COOLDOWN) -> DueItem | Cover | None:
    """What to do about one fingerprint, from all its rows (oldest first)."""
    if not history:
        return None
    latest = history[-1]
    older = tuple(r.alert_id for r in history[:-1]
                  if r.delivered_at is None and r.severity != "log")
    if latest.delivered_at is not None:
        return Cover(older, latest.delivered_at) if older else None
    if latest.severity == "log":
        return None
    episode = episode_before(history, len(history) - 1)
    delivered = [r for r in episode if r.delivered_at is not None]
    since = (episode[0] if episode else latest).window_start
    windows = len(episode) + (1 if latest.is_open else 0)

    def due(kind: str, *, announced: bool = True) -> DueItem:
        return DueItem(latest, kind, since, windows, older, announced)

    if latest.status == "resolved":
        return due("resolved", announced=bool(delivered) or not episode)
    if latest.title.endswith(REOPENED):
        return due("reopened")
    if not delivered:
        return due("new")
    told = max(SEVERITY_RANK.get(r.severity, 0) for r in delivered)
    last = max(r.delivered_at for r in delivered)
    if SEVERITY_RANK[latest.severity] > told:
        return due("escalated")
    if latest.status == "open" and now - last >= cooldown:
        return due("reminder")
    return Cover((latest.alert_id, *older), last)
