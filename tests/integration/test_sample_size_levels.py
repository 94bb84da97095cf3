"""Levels of shares and means account for the window's size (on DuckDB and PostgreSQL).

The same quiet traffic — nulls, a common constant, a score with a high-confidence share — is
monitored at 150, 1,500 and 15,000 rows a window. Constant levels alone flag the small windows
on noise (the test checks its data is that sensitive); with levels raised to the change's
sampling error, 150 rows a window flags no more than 15,000, and a real change at 1,500 rows
still alerts on every check it touches.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from modelwatch.config.schema import MonitorConfig
from modelwatch.warehouse.load import load_frame
from modelwatch.window import Window
from tests.monitors import fresh_warehouse, small_monitor

START = datetime(2026, 3, 2)  # a Monday
REFERENCE_DAYS, QUIET_DAYS = 7, 14
CHANGE_DAY = REFERENCE_DAYS + QUIET_DAYS
SIZE_CHECKS = ("null_rate_increase", "mean_confidence_change", "high_confidence_share_change",
               "silent_default_share", "out_of_range_share")


def _cfg() -> MonitorConfig:
    return small_monitor([("x", "numeric"), ("visits", "numeric")], START,
                         START + timedelta(days=REFERENCE_DAYS), outcome={"enabled": False},
                         data_layer={"great_expectations": {"enabled": False}})


def _day(rng: np.random.Generator, day: int, n: int, changed: bool) -> pd.DataFrame:
    ts = pd.Timestamp(START + timedelta(days=day)) + pd.to_timedelta(
        rng.uniform(0, 86400, n), unit="s")
    x = rng.normal(size=n)
    x[rng.random(n) < (0.15 if changed else 0.03)] = np.nan
    visits = rng.poisson(3.0, n).astype(float)  # 0 is ~5 % of values
    if changed:
        visits[rng.random(n) < 0.4] = 0.0  # a fill upstream
    # a fifth of the scores confident (p < 0.1 or > 0.9); changed: twice as many
    score = rng.beta(0.4, 0.4, n) if changed else rng.random(n)
    return pd.DataFrame({"request_id": [f"d{day}-{i}" for i in range(n)], "event_ts": ts,
                         "model_name": "m", "model_version": "v1", "score": score, "x": x,
                         "visits": visits})


def _flags(url: str, monkeypatch, n: int) -> tuple[int, int, dict[str, str]]:
    """(flagged quiet rows, quiet rows over the constant level alone, statuses on the change day)."""
    from modelwatch.runner import step_data_layer, step_profile, step_window_checks

    engine = fresh_warehouse(url, monkeypatch)
    rng = np.random.default_rng(n)
    load_frame(engine, "predictions", pd.concat(
        [_day(rng, d, n, changed=d == CHANGE_DAY) for d in range(CHANGE_DAY + 1)]))
    cfg = _cfg()
    step_profile(cfg, rebuild=True)
    flagged = over_constant = 0
    for day in range(REFERENCE_DAYS, CHANGE_DAY + 1):
        window = Window(START + timedelta(days=day), START + timedelta(days=day + 1))
        rows = [r for r in (*step_window_checks(cfg, window, f"d{day}"),
                            *step_data_layer(cfg, window, f"d{day}"))
                if r.check_name in SIZE_CHECKS and r.value is not None]
        if day == CHANGE_DAY:
            changed = {f"{r.check_name}:{r.feature}": r.status for r in rows}
            continue
        flagged += sum(r.status in ("warn", "alert") for r in rows)
        over_constant += sum(r.value >= r.details.get("constant_warn", r.details["warn_threshold"])
                             for r in rows)
    return flagged, over_constant, changed


@pytest.fixture(params=["duckdb", "postgresql"])
def url(request, tmp_path):
    return (f"duckdb:///{tmp_path / 'w.duckdb'}" if request.param == "duckdb"
            else request.getfixturevalue("pg_url"))


def test_small_windows_flag_no_more_than_large_ones_and_a_real_change_still_alerts(
        url, monkeypatch):
    small, small_constant, _ = _flags(url, monkeypatch, 150)
    medium, _, changed = _flags(url, monkeypatch, 1500)
    large, _, _ = _flags(url, monkeypatch, 15_000)
    assert small_constant >= 5  # constant levels alone would flag this quiet traffic at 150 rows
    assert small <= large, (small, medium, large)
    assert small + medium + large <= 2  # quiet weeks stay quiet at every size
    for check in ("null_rate_increase:x", "silent_default_share:visits",
                  "high_confidence_share_change:score", "mean_confidence_change:score"):
        assert changed[check] == "alert", (check, changed)
