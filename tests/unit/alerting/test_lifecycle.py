"""Alert rows across windows and what is due: dedup, escalation, reminders, resolution (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from modelwatch.alerting.grouping import AlertGroup
from modelwatch.alerting.lifecycle import REOPENED, Cover, DueItem, StoredAlert, decide, plan_window

D = timedelta(days=1)
T0 = datetime(2026, 9, 20)
NOW = datetime(2026, 11, 1, 12)
FP = "f" * 32


def stored(day: int, status="open", severity="page", delivered: datetime | None = None,
           **kw) -> StoredAlert:
    start = T0 + day * D
    return StoredAlert(alert_id=f"a{day}", fingerprint=FP, model_name="m", severity=severity,
                       layer="data", title="feature drift: x (1 method, 1 slice)", summary="psi = 1",
                       owner="data-eng", channel="#d", window_start=start, window_end=start + D,
                       status=status, first_seen=NOW, last_seen=NOW, delivered_at=delivered, **kw)


def group(severity="page") -> AlertGroup:
    return AlertGroup(fingerprint=FP, model="m", layer="data", family="feature_drift",
                      subject="x", severity=severity, title="feature drift: x (1 method, 1 slice)",
                      evidence=("psi = 1",), owner="data-eng", channel="#d", members=())


def plan(groups, current=(), history=(), day=1):
    return plan_window(groups, {r.fingerprint: r for r in current},
                       {FP: list(history)} if history else {}, model="m",
                       window_start=T0 + day * D, window_end=T0 + (day + 1) * D, now=NOW,
                       owner_of=lambda layer: ("data-eng", "#d"))


# -- what is due ----------------------------------------------------------------------------
def test_a_new_cause_is_due() -> None:
    item = decide([stored(0)], now=NOW)
    assert isinstance(item, DueItem) and item.kind == "new" and item.windows == 1


def test_a_persisting_cause_is_covered_not_resent() -> None:
    sent = NOW - timedelta(hours=5)
    decision = decide([stored(0, delivered=sent), stored(1)], now=NOW)
    assert decision == Cover(("a1",), sent)  # marked with the time the owner was told


def test_a_cause_whose_first_message_failed_goes_out_once_as_new_since_its_start() -> None:
    item = decide([stored(0, delivery_attempts=2), stored(1)], now=NOW)
    assert item.kind == "new" and item.since == T0 and item.windows == 2
    assert item.alert_ids == ("a1", "a0")  # the older row is marked with it


def test_escalation_is_sent_and_deescalation_is_not() -> None:
    told = NOW - timedelta(hours=1)
    assert decide([stored(0, severity="notify", delivered=told), stored(1)], now=NOW).kind == "escalated"
    assert isinstance(decide([stored(0, delivered=told), stored(1, severity="notify")], now=NOW), Cover)


def test_reminder_after_the_cooldown_unless_acknowledged() -> None:
    told = NOW - timedelta(days=3)
    history = [stored(0, delivered=told), stored(1)]
    assert isinstance(decide(history, now=NOW, cooldown=timedelta(days=4)), Cover)
    assert decide(history, now=NOW, cooldown=timedelta(days=3)).kind == "reminder"
    acked = [stored(0, "acked", delivered=told), stored(1, "acked", acked_by="ana")]
    assert isinstance(decide(acked, now=NOW, cooldown=timedelta(days=3)), Cover)


def test_resolution_is_due_and_says_whether_the_owner_had_heard() -> None:
    told = NOW - timedelta(hours=1)
    item = decide([stored(0, delivered=told), stored(1), stored(2, "resolved")], now=NOW)
    assert (item.kind, item.announced, item.windows, item.since) == ("resolved", True, 2, T0)
    unheard = decide([stored(0), stored(1, "resolved")], now=NOW)
    assert unheard.kind == "resolved" and not unheard.announced


def test_log_severity_is_never_sent_and_a_delivered_latest_row_covers_older_ones() -> None:
    assert decide([stored(0, severity="log")], now=NOW) is None
    told = NOW - timedelta(hours=1)
    assert decide([stored(0), stored(1, delivered=told)], now=NOW) == Cover(("a0",), told)
    assert decide([stored(0, delivered=told)], now=NOW) is None


def test_reopened_after_a_delivered_resolution_is_sent() -> None:
    told = NOW - timedelta(hours=1)
    reopened = replace(stored(1), title=stored(1).title + REOPENED)
    assert decide([stored(0, delivered=told), reopened], now=NOW).kind == "reopened"


# -- rows per window ------------------------------------------------------------------------
def test_a_continuing_cause_gets_a_row_that_keeps_the_ack() -> None:
    prev = stored(0, "acked", delivered=NOW, acked_by="ana", ack_note="known campaign")
    (row,) = plan([group()], history=[prev]).inserts
    assert (row["status"], row["acked_by"], row["ack_note"]) == ("acked", "ana", "known campaign")
    assert row["delivered_at"] is None and row["window_start"] == T0 + D


def test_a_cause_gone_gets_one_resolved_row_with_the_episode_severity() -> None:
    history = [stored(-1, severity="page", delivered=NOW), stored(0, severity="notify")]
    result = plan([], history=history)
    (row,) = result.inserts
    assert (row["status"], row["severity"], result.resolved) == ("resolved", "page", 1)
    # one window later nothing more happens
    assert plan([], history=[*history, stored(1, "resolved")], day=2).empty


def test_a_rerun_updates_rows_in_place() -> None:
    cur = stored(1, delivered=NOW)
    result = plan([group()], current=[cur], history=[stored(0, delivered=NOW)])
    assert not result.inserts and [i for i, _ in result.updates] == ["a1"]
    assert "delivered_at" not in result.updates[0][1]  # nothing new: stays delivered
    escalated = plan([group()], current=[replace(cur, severity="notify")])
    assert escalated.updates[0][1]["delivered_at"] is None


def test_a_rerun_that_clears_the_cause_resolves_its_row_and_one_that_brings_it_back_reopens() -> None:
    cleared = plan([], current=[stored(1, delivered=NOW)], history=[stored(0, delivered=NOW)])
    assert cleared.updates == [("a1", {"status": "resolved", "last_seen": NOW,
                                       "delivered_at": None, "title": stored(1).title})]
    back = plan([group()], current=[stored(1, "resolved", delivered=NOW)],
                history=[stored(0, delivered=NOW)])
    fields = back.updates[0][1]
    assert fields["status"] == "open" and fields["title"].endswith(REOPENED)
    # the resolution never reached the owner: back to open silently
    quiet = plan([group()], current=[stored(1, "resolved")], history=[stored(0, delivered=NOW)])
    assert not quiet.updates[0][1]["title"].endswith(REOPENED)
