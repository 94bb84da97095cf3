"""The demo's Slack: a local fake Web API server that records what owners would have received.

The monitoring runs deliver through the real slack-sdk path (token, retries, outbox) to
``FakeSlack`` on loopback; every request lands in ``$MODELWATCH_HOME/slack.jsonl``. After the
runs, the weekly alert review is posted the same way, and ``slack_summary`` prints, per channel,
the messages posted, the announcements edited in place, and each message's headline.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

DEMO_TOKEN = "xoxb-modelwatch-demo-local"


def record_path(home: Path) -> Path:
    return home / "slack.jsonl"


def slack_summary(path: Path, limit_per_channel: int = 8) -> str:
    """Per channel: posts, edits, and the first line of each post (what a phone shows)."""
    if not path.is_file():
        return "Slack: nothing recorded"
    from modelwatch.demo.slack_server import channel_id_of

    posts: dict[str, list[str]] = {}
    edits: dict[str, int] = {}  # by channel id: chat.update names the id Slack answered with
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("status") != 200:
            continue
        body = entry.get("body") or {}
        channel = body.get("channel", "?")
        if entry["method"] == "chat.postMessage":
            posts.setdefault(channel, []).append((body.get("text") or "").splitlines()[0])
        elif entry["method"] == "chat.update":
            edits[channel] = edits.get(channel, 0) + 1
    names = {channel_id_of(name): name for name in posts}
    for channel_id in [c for c in edits if c in names]:
        edits[names[channel_id]] = edits.get(names[channel_id], 0) + edits.pop(channel_id)
    lines = [f"Slack (local fake Web API; every request in {path}):"]
    for channel in sorted(set(posts) | set(edits)):
        sent = posts.get(channel, [])
        lines.append(f"    {channel}: {len(sent)} message(s), {edits.get(channel, 0)} "
                     "announcement edit(s) (chat.update)")
        for headline in sent[:limit_per_channel]:
            lines.append(f"        {headline[:110]}")
        if len(sent) > limit_per_channel:
            lines.append(f"        … {len(sent) - limit_per_channel} more")
    return "\n".join(lines)


def review_weeks(first: datetime, last_end: datetime) -> list[tuple[datetime, datetime]]:
    """Whole Monday-to-Monday weeks inside [first, last_end)."""
    monday = first + timedelta(days=(7 - first.weekday()) % 7)
    weeks = []
    while monday + timedelta(days=7) <= last_end:
        weeks.append((monday, monday + timedelta(days=7)))
        monday += timedelta(days=7)
    return weeks


def post_reviews(engine, cfg, first: datetime, last_end: datetime) -> str:
    """Run the weekly alert review for each whole week of the demo; a line per suggestion."""
    from modelwatch.alerting.review import run_review

    lines = ["Weekly alert review (posted to each owner's channel):"]
    weeks = review_weeks(first, last_end)
    if not weeks:
        lines.append("    (no whole Monday-to-Monday week among the days run)")
    for start, end in weeks:
        report = run_review(engine, cfg, start, end)
        rules = ", ".join(f"{r.family} {r.actioned}/{r.alerts} acted on" for r in report.rows)
        lines.append(f"    week of {start:%Y-%m-%d}: {rules or 'no alerts'}")
        lines += [f"        suggestion: {r.suggestion}" for r in report.rows if r.suggestion]
    return "\n".join(lines)
