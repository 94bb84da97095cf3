"""A run's findings: its window's rows plus the label findings of the window it matured."""

from __future__ import annotations

from datetime import datetime, timedelta

from modelwatch.alerting.findings import MATURED_SINCE, matured_window, with_streaks
from modelwatch.alerting.grouping import build_groups, fingerprint

DAY = timedelta(days=1)
D12 = datetime(2026, 9, 12)


def older(check, day: datetime, value, status="alert", slice_="region=north", threshold=0.74):
    """An outcome row keyed by an older, evaluated window (as ``mw_metric`` returns it)."""
    return {"layer": "outcome", "check_name": check, "feature": None, "slice": slice_,
            "value": value, "threshold": threshold, "status": status, "details": {},
            "window_start": day, "window_end": day + DAY}


def test_the_matured_window_is_the_newest_one_the_label_delay_has_passed(demo_cfg) -> None:
    start = datetime(2026, 9, 26)
    assert matured_window(demo_cfg, start, start + DAY) == (start - 10 * DAY, start - 9 * DAY)
    labels = demo_cfg.labels
    half = demo_cfg.model_copy(update={"labels": labels.model_copy(
        update={"delay": timedelta(hours=36)})})
    assert matured_window(half, start, start + DAY) == (start - 2 * DAY, start - DAY)
    instant = demo_cfg.model_copy(update={"labels": labels.model_copy(
        update={"delay": timedelta(0)})})
    assert matured_window(instant, start, start + DAY) is None  # its own window is mature
    off = demo_cfg.model_copy(update={"outcome": demo_cfg.outcome.model_copy(
        update={"enabled": False})})
    assert matured_window(off, start, start + DAY) is None


def test_only_the_newest_matured_window_counts_and_its_streak_is_named() -> None:
    rows = [older("roc_auc", D12 - 3 * DAY, 0.55),  # a gap at day 11's predecessor...
            older("roc_auc", D12 - DAY, 0.54), older("roc_auc", D12 - 2 * DAY, 0.56),
            older("roc_auc", D12, 0.53), older("pr_auc", D12, 0.2),
            older("accuracy", D12 - DAY, 0.7)]  # ... and a crossing gone by day 12: not present
    kept = {r["check_name"]: r for r in with_streaks(rows, D12, DAY)}
    assert sorted(kept) == ["pr_auc", "roc_auc"]
    assert kept["roc_auc"][MATURED_SINCE] == D12 - 3 * DAY and kept["roc_auc"]["value"] == 0.53
    assert kept["pr_auc"][MATURED_SINCE] == D12
    rows.remove(rows[2])  # day 10 was fine: the streak restarts at day 11
    assert {r["check_name"]: r[MATURED_SINCE] for r in with_streaks(rows, D12, DAY)}[
        "roc_auc"] == D12 - DAY


def test_older_windows_rows_group_into_one_cause_per_slice_naming_the_windows(demo_cfg) -> None:
    own = [{"layer": "outcome", "check_name": "estimated_roc_auc", "feature": None,
            "slice": "all", "value": 0.79, "threshold": 0.74, "status": "ok", "details": {}}]
    matured = [{**older("pr_auc", D12, 0.21, threshold=0.4), MATURED_SINCE: D12 - 2 * DAY},
               {**older("accuracy", D12, 0.65, threshold=0.82), MATURED_SINCE: D12 - 2 * DAY},
               {**older("roc_auc", D12, 0.53), MATURED_SINCE: D12 - 2 * DAY},
               {**older("roc_auc", D12, 0.7, "warn", "all"), MATURED_SINCE: D12}]
    groups = build_groups(demo_cfg, own + matured)
    by_subject = {g.subject: g for g in groups}
    assert sorted(by_subject) == ["all", "region=north"]
    north = by_subject["region=north"]
    assert north.family == "realized_performance" and north.owner == "fraud-product"
    assert north.fingerprint == fingerprint("fraud_demo", "outcome", "realized_performance",
                                            "region=north")
    assert north.title == "realized performance: region=north (accuracy, pr_auc, roc_auc)"
    assert north.evidence[0] == ("roc_auc = 0.53 (alert at 0.74) [region=north] "
                                 "for windows 2026-09-10..2026-09-12 (labels matured)")
    assert by_subject["all"].evidence == (
        "roc_auc = 0.7 (warn; alert at 0.74) for window 2026-09-12 (labels matured)",)
    # the cause keeps its identity whichever matured windows show it: one episode
    later = [{**older("roc_auc", D12 + DAY, 0.51), MATURED_SINCE: D12 - 2 * DAY}]
    assert build_groups(demo_cfg, later)[0].fingerprint == north.fingerprint
