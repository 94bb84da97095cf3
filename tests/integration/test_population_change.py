"""A real population change is drift, never a pipeline fault (on DuckDB and PostgreSQL).

Five of six features move at once, the way a new market or a campaign moves them: a binary
feature's share of 1s from 55 % to 80 %, a category's share from 82 % to 95 %, three numeric
features shifted — no nulls filled, no value in every row. The window's rows go through the
data layer, the window checks and alert grouping as a run does them: the silent-defaulting rows
stay ``ok`` with the diagnosis ``population_shift`` (their levels alone would alert), and the
owner is told of drift on many features, not of a degraded pipeline. A real fill of the same
binary feature (nulls replaced by 0) is still called a fill.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from modelwatch.alerting.grouping import build_groups
from modelwatch.config.schema import MonitorConfig
from modelwatch.warehouse.load import load_frame
from modelwatch.window import Window
from tests.monitors import fresh_warehouse, small_monitor

START = datetime(2026, 3, 2)
REFERENCE_DAYS = 7
ROWS = 3000
WINDOW = Window(START + timedelta(days=REFERENCE_DAYS), START + timedelta(days=REFERENCE_DAYS + 1))
FEATURES = [("is_member", "numeric"), ("country", "categorical"), ("income", "numeric"),
            ("age", "numeric"), ("tenure", "numeric"), ("steady", "numeric")]


def _cfg() -> MonitorConfig:
    return small_monitor(FEATURES, START, WINDOW.start, outcome={"enabled": False},
                         data_layer={"great_expectations": {"enabled": False}})


def _day(rng, day: int, *, shifted: bool, filled: bool = False) -> pd.DataFrame:
    n = ROWS
    member = (rng.random(n) < (0.80 if shifted else 0.55)).astype(float)
    member[rng.random(n) < 0.3] = np.nan  # often unknown ...
    if filled:
        member[np.isnan(member)] = 0.0  # ... until a broken join fills the unknowns with 0
    country = np.where(rng.random(n) < (0.95 if shifted else 0.82), "US", "CA")
    bump = 0.8 if shifted else 0.0
    ts = pd.Timestamp(START + timedelta(days=day)) + pd.to_timedelta(rng.uniform(0, 86400, n),
                                                                       unit="s")
    return pd.DataFrame({
        "request_id": [f"d{day}-{i}" for i in range(n)], "event_ts": ts, "model_name": "m",
        "model_version": "v1", "score": rng.random(n), "is_member": member, "country": country,
        "income": rng.lognormal(10 + bump, 0.5, n), "age": rng.normal(40 + 8 * bump, 10, n),
        "tenure": rng.gamma(2 + 2 * bump, 2.0, n), "steady": rng.normal(size=n)})


def _window_rows(url: str, monkeypatch, *, filled: bool = False) -> list:
    from modelwatch.runner import step_data_layer, step_profile, step_window_checks

    engine = fresh_warehouse(url, monkeypatch)
    rng = np.random.default_rng(11)
    days = [_day(rng, d, shifted=False) for d in range(REFERENCE_DAYS)]
    if filled:  # the same population, its unknowns filled with 0
        days.append(_day(rng, REFERENCE_DAYS, shifted=False, filled=True))
    else:
        days.append(_day(rng, REFERENCE_DAYS, shifted=True))
    load_frame(engine, "predictions", pd.concat(days))
    cfg = _cfg()
    step_profile(cfg, rebuild=True)
    return [*step_window_checks(cfg, WINDOW, "w"), *step_data_layer(cfg, WINDOW, "w")]


@pytest.fixture(params=["duckdb", "postgresql"])
def url(request, tmp_path):
    return (f"duckdb:///{tmp_path / 'w.duckdb'}" if request.param == "duckdb"
            else request.getfixturevalue("pg_url"))


def test_a_population_change_is_drift_not_a_broken_pipeline(url, monkeypatch):
    rows = _window_rows(url, monkeypatch)
    defaults = {r.feature: r for r in rows if r.check_name == "silent_default_share"}
    for feature in ("is_member", "country"):  # the rising shares of 1 and of 'US'
        row = defaults[feature]
        assert row.details["judged_status"] in ("warn", "alert"), row.details
        assert row.status == "ok" and row.details["diagnosis"] == "population_shift"
    groups = build_groups(_cfg(), rows)
    titles = [g.title for g in groups]
    assert not any("pipeline" in t or t.startswith("data quality") for t in titles), titles
    broad = next(g for g in groups if g.family == "broad_drift")
    assert broad.title.startswith("data drift on many features: 5 features"), titles


def test_a_fill_of_the_same_feature_is_still_called_a_fill(url, monkeypatch):
    rows = _window_rows(url, monkeypatch, filled=True)
    row = next(r for r in rows if r.check_name == "silent_default_share" and r.feature == "is_member")
    assert row.status in ("warn", "alert") and row.details["diagnosis"] == "fill"
    assert "nulls_fell" in row.details["evidence"]
    assert row.details["message"].startswith("likely: is_member silently defaulted to 0")
    assert "no offline feature table to confirm by skew" in row.details["message"]
