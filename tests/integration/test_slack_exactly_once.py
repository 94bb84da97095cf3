"""Every alert reaches Slack exactly once, also when the answer to a post never comes.

The fake Slack server posts the message and answers too late (past the client's timeout), or
the delivering process is killed (``kill -9``) while it waits; the next delivery must find the
post in the channel's history by its metadata instead of posting again, record it so later windows
edit it, and send what never went out. Assertions are on what the server holds and on
``mw_alert`` / ``mw_slack_message``.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

import sqlalchemy as sa

from modelwatch.alerting import SlackHook
from modelwatch.warehouse.tables import mw_alert, mw_slack_message
from tests.conftest import DEMO_YAML
from tests.integration import test_slack_delivery as delivery
from tests.integration.test_slack_delivery import DRIFT, TOKEN, Stack, metrics, run_id, window

engine, slack = delivery.engine, delivery.slack  # the same fixtures as the delivery tests


def _in_channels(slack) -> list[dict]:
    """Every message the channels hold (what a user sees), oldest first per channel."""
    return [m for messages in slack.history.values() for m in messages]


def _delivered(stack: Stack) -> list[dict]:
    return [a for a in stack.alerts() if a["severity"] != "log"]


def _recorded(stack: Stack) -> set[tuple[str, str]]:
    with stack.engine.connect() as conn:
        return {tuple(r) for r in conn.execute(
            sa.select(mw_slack_message.c.channel_id, mw_slack_message.c.ts)).all()}


def test_a_post_answered_after_the_timeout_is_found_not_sent_again(engine, demo_cfg, slack):
    stack = Stack(engine, demo_cfg, slack, timeout=1, max_retries=0)
    slack.answer_late_next(2, seconds=2.5)
    first = stack.day(0, metrics(DRIFT))
    assert first.delivered == 0 and first.in_doubt == first.failed > 0  # both answers came late
    assert len(_in_channels(slack)) == 2  # ... yet Slack posted both messages

    rerun = stack.day(0, metrics(DRIFT), rerun=True)
    assert rerun.found_in_slack == first.in_doubt and rerun.messages_sent == 0
    assert len(_in_channels(slack)) == 2  # nothing posted twice
    alerts = _delivered(stack)
    assert alerts and all(a["delivered_at"] is not None for a in alerts)
    assert all(a["delivery_attempts"] == 1 for a in alerts)
    landed = {(cid, m["ts"]) for cid, messages in slack.history.items() for m in messages}
    assert _recorded(stack) == landed  # remembered where they are ...

    stack.day(1, metrics(DRIFT))  # ... so the next window edits them in place
    edits = {(c.body["channel"], c.body["ts"]) for c in slack.calls("chat.update")}
    assert edits and edits <= landed
    assert len(_in_channels(slack)) == 2


def test_a_post_refused_by_slack_is_sent_again_once(engine, demo_cfg, slack):
    stack = Stack(engine, demo_cfg, slack, max_retries=0)
    slack.fail_next(1, status=500)  # the first message's post: an answer, so certainly not posted
    first = stack.day(0, metrics(DRIFT))
    assert first.failed > 0 and first.in_doubt == 0
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(mw_alert)
                            .where(mw_alert.c.claim_key.is_not(None),
                                   mw_alert.c.delivered_at.is_(None))).scalar() == 0
    stack.day(0, metrics(DRIFT), rerun=True)
    channels = [m["text"].split(" · ")[1].split(":")[0] for m in _in_channels(slack)]
    assert sorted(channels) == ["data-eng", "ml-eng"]  # one message per owner, none twice


def test_when_the_history_cannot_be_read_the_alerts_are_sent_again_with_a_warning(
        engine, demo_cfg, slack, caplog):
    stack = Stack(engine, demo_cfg, slack, timeout=1, max_retries=0)
    slack.answer_late_next(2, seconds=2.5)
    stack.day(0, metrics(DRIFT))
    slack.fail_next(2, status=500)  # conversations.history of each channel
    with caplog.at_level(logging.WARNING, logger="modelwatch.alerting.reconcile"):
        again = stack.day(0, metrics(DRIFT), rerun=True)
    assert "Could not check whether" in caplog.text and "channels:history" in caplog.text
    assert again.found_in_slack == 0 and again.messages_sent == 2  # a page twice, never none
    assert all(a["delivered_at"] is not None for a in _delivered(stack))


CHILD = """
import sys
from modelwatch.alerting import SlackHook, deliver_alerts
from modelwatch.config import load_monitor
from modelwatch.runner import Window
from modelwatch.warehouse.engine import engine_for_url
from datetime import datetime
url, base_url, token, start, end, run_id, config = sys.argv[1:]
hook = SlackHook(token=token, base_url=base_url, timeout=120, max_retries=0)
deliver_alerts(engine_for_url(url), load_monitor(config),
               Window(datetime.fromisoformat(start), datetime.fromisoformat(end)), run_id,
               slack=hook)
"""


def test_a_run_killed_while_waiting_for_slack_leaves_no_double_and_no_loss(
        tmp_path, demo_cfg, slack):
    from modelwatch.warehouse.engine import engine_for_url
    from modelwatch.warehouse.tables import create_output_tables

    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    engine = engine_for_url(url)
    create_output_tables(engine)
    stack = Stack(engine, demo_cfg, slack)
    stack.day(0, metrics(DRIFT), slack=None)  # the window's alerts, stored, nothing sent yet
    engine.dispose()  # the child opens the DuckDB file

    slack.answer_late_next(1, seconds=60)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, slack.base_url, TOKEN, window(0).start.isoformat(),
         window(0).end.isoformat(), run_id(0), str(DEMO_YAML)],
        env={**os.environ, "MODELWATCH_SLACK_TOKEN": ""}, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not slack.calls("chat.postMessage") and time.monotonic() < deadline:
        assert child.poll() is None, child.stderr.read().decode()[-2000:]
        time.sleep(0.05)
    assert slack.calls("chat.postMessage"), "the child never posted"
    child.send_signal(signal.SIGKILL)  # killed while Slack holds the first message's answer
    child.wait(timeout=30)
    assert len(_in_channels(slack)) == 1

    engine = engine_for_url(url)
    stack = Stack(engine, demo_cfg, slack)
    report = stack.day(0, metrics(DRIFT), rerun=True)
    assert report.found_in_slack > 0 and report.messages_sent == 1  # the other owner's message
    channels = sorted(m["text"].split(" · ")[1].split(":")[0] for m in _in_channels(slack))
    assert channels == ["data-eng", "ml-eng"]  # each owner told once
    assert all(a["delivered_at"] is not None for a in _delivered(stack))
    assert len(_recorded(stack)) == 2
    engine.dispose()


def test_a_hook_built_from_settings_posts_with_metadata(slack):
    hook = SlackHook(token=TOKEN, base_url=slack.base_url)
    answer = hook.post_message(channel="#x", text="hi",
                               metadata={"event_type": "t", "event_payload": {"key": "k"}})
    found = hook.history(channel_id=answer["channel"], oldest=0)
    assert found[0]["metadata"]["event_payload"] == {"key": "k"}
    assert hook.channel_id("#x") == answer["channel"]
