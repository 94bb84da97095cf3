"""The weekly review counts every episode open during the week: those that started in it and those
still open from before (a page left open all week), never one that ended before or starts after."""

from __future__ import annotations

from datetime import datetime, timedelta

from modelwatch.alerting.review import Episode, owner_message, review, review_table

D = timedelta(days=1)
MONDAY = datetime(2026, 9, 14)


def episode(fp: str, start: datetime, end: datetime, severity: str = "page") -> Episode:
    return Episode(fingerprint=fp, family="feature_drift", owner="data-eng", channel="#data",
                   severity=severity, start=start, end=end, acked=False, noted=False)


def test_episodes_open_during_the_week_count_and_those_from_before_are_named() -> None:
    eps = [
        episode("all-week", MONDAY - 10 * D, MONDAY + 14 * D),  # opened before, open all week
        episode("into-monday", MONDAY - 2 * D, MONDAY + D),  # ends in the week's first window
        episode("ended-before", MONDAY - 5 * D, MONDAY),  # last window ended as the week began
        episode("started-in", MONDAY + 3 * D, MONDAY + 4 * D),
        episode("next-week", MONDAY + 7 * D, MONDAY + 8 * D),
        episode("logged", MONDAY + 2 * D, MONDAY + 3 * D, severity="log"),  # nobody was told
    ]
    rows = review("m", eps, [], week_start=MONDAY, week_end=MONDAY + 7 * D, window=D)
    assert [(r.alerts, r.carried) for r in rows] == [(3, 2)]
    assert "from before" in review_table(rows)
    text = owner_message("m", "data-eng", rows, MONDAY, MONDAY + 7 * D)
    assert "3 alert(s) (2 open from before the week)" in text


def test_a_week_with_only_a_page_left_open_is_not_an_empty_week() -> None:
    rows = review("m", [episode("left-open", MONDAY - 20 * D, MONDAY + 30 * D)], [],
                  week_start=MONDAY, week_end=MONDAY + 7 * D, window=D)
    assert [(r.alerts, r.carried) for r in rows] == [(1, 1)]
    assert review_table([]) == "no alert episode was open in the week"
