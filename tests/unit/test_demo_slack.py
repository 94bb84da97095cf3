"""The demo's Slack summary and review weeks (the demo itself runs in `make demo`)."""

from __future__ import annotations

import json
from datetime import datetime

from modelwatch.demo.slack import review_weeks, slack_summary


def test_review_weeks_are_whole_monday_weeks_inside_the_range() -> None:
    weeks = review_weeks(datetime(2026, 9, 1), datetime(2026, 9, 23))  # Tue 1st .. Wed 23rd
    assert weeks == [(datetime(2026, 9, 7), datetime(2026, 9, 14)),
                     (datetime(2026, 9, 14), datetime(2026, 9, 21))]
    assert review_weeks(datetime(2026, 9, 16), datetime(2026, 9, 25)) == []


def test_summary_counts_posts_and_edits_per_channel(tmp_path) -> None:
    record = tmp_path / "slack.jsonl"
    entries = [
        {"method": "chat.postMessage", "status": 200, "body": {"channel": "#a", "text": "first\nx"}},
        {"method": "chat.postMessage", "status": 500, "body": {"channel": "#a", "text": "lost"}},
        {"method": "chat.update", "status": 200, "body": {"channel": "#a", "ts": "1", "text": "e"}},
        {"method": "chat.postMessage", "status": 200, "body": {"channel": "#b", "text": "second"}},
    ]
    record.write_text("\n".join(json.dumps(e) for e in entries))
    text = slack_summary(record)
    assert "#a: 1 message(s), 1 announcement edit(s)" in text
    assert "#b: 1 message(s), 0 announcement edit(s)" in text
    assert "first" in text and "lost" not in text and "\nx" not in text
