"""On a gradual drift, the change-point detectors fire before the per-window threshold does."""

from __future__ import annotations

from datetime import timedelta

import pytest

from modelwatch.demo import scenario
from modelwatch.runner import Window, run_window

FEATURE = "merchant_risk"


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    from modelwatch.config import load_monitor
    from modelwatch.warehouse.engine import engine_for_url
    from modelwatch.warehouse.tables import create_output_tables

    url = f"duckdb:///{tmp_path_factory.mktemp('gradual') / 'w.duckdb'}"
    mp = pytest.MonkeyPatch()
    mp.setenv("MODELWATCH_WAREHOUSE_URL", url)
    engine = engine_for_url(url)
    create_output_tables(engine)
    # merchant_risk ~ Beta(2, 5) (sd 0.16) creeps up by 0.006 a day from day 16; the demo's
    # day-20 shift is on other features and does not touch it.
    data = scenario.generate(rows_per_day=2000, days=40, gradual=(FEATURE, 16, 0.006))
    scenario.seed_warehouse(engine, data)
    cfg = load_monitor(scenario.__file__.replace("plugins/modelwatch/demo/scenario.py",
                                                 "include/monitors/fraud_demo.yaml"))
    results = {}
    for day in range(15, 41):
        start = scenario.day_of(day)
        results[day] = run_window(cfg, Window(start, start + timedelta(days=1)), f"d{day}")
    yield results
    engine.dispose()
    mp.undo()


def first_day(results, check: str, statuses=("warn", "alert")) -> int | None:
    for day, result in sorted(results.items()):
        for m in result.metrics:
            if m.check_name == check and m.feature == FEATURE and m.slice == "all" \
                    and m.status in statuses:
                return day
    return None


def test_detectors_fire_before_the_per_window_threshold(history) -> None:
    psi_day = first_day(history, "psi")
    assert psi_day is not None, "the drift must eventually cross the PSI threshold"
    for detector in ("psi_cusum", "psi_page_hinkley"):
        day = first_day(history, detector)
        assert day is not None and 16 <= day < psi_day, (detector, day, psi_day)


def test_no_change_point_on_a_stable_feature(history) -> None:
    for result in history.values():
        flagged = [m for m in result.metrics if m.feature == "credit_utilization"
                   and m.check_name.startswith("psi_") and m.status != "ok"]
        assert flagged == []


def test_sustained_windows_counts_the_alarm_run(history) -> None:
    last = history[40]
    row = next(m for m in last.metrics if m.check_name == "psi_cusum" and m.feature == FEATURE)
    assert row.status == "warn"
    assert row.details["sustained_windows"] == 40 - first_day(history, "psi_cusum") + 1
