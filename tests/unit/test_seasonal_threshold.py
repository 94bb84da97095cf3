"""Seasonal thresholds: config, band selection, median/MAD levels, fallback, and a weekly pattern
run through ``step_window_checks`` on an embedded DuckDB warehouse."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import yaml

from modelwatch.checks.columns import Column
from modelwatch.checks.drift import DriftContext
from modelwatch.config import load_monitor
from modelwatch.config.schema import ConstantThreshold, MonitorConfig, SeasonalThreshold
from modelwatch.drift.seasonal import (
    MAD_TO_SD,
    HistoryPoint,
    SeasonalHistory,
    band_of,
    band_values,
    history_intervals,
    seasonal_levels,
)
from modelwatch.errors import ConfigError
from modelwatch.metrics import judge
from modelwatch.profile import Profile
from tests.conftest import DEMO_YAML

SAT = datetime(2026, 2, 14)  # a Saturday
DAY = timedelta(days=1)
WEEK = timedelta(weeks=1)


# --- config -------------------------------------------------------------------------------------

def _demo_with(tmp_path, mutate):
    raw = yaml.safe_load(DEMO_YAML.read_text())
    mutate(raw)
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _error(path) -> str:
    with pytest.raises(ConfigError) as info:
        load_monitor(path)
    return str(info.value)


def test_seasonal_threshold_parses_with_defaults_and_in_overrides(tmp_path) -> None:
    def mutate(raw):
        raw["thresholds"]["defaults"]["psi"] = {"type": "seasonal", "min_warn": 0.1,
                                                "min_alert": 0.25}
        raw["thresholds"]["overrides"].append(
            {"check": "ks", "feature": "amount",
             "threshold": {"type": "seasonal", "lookback": 4, "min_history": 2, "k_warn": 2}})

    cfg = load_monitor(_demo_with(tmp_path, mutate))
    psi = cfg.thresholds.for_check("psi", "amount")
    assert isinstance(psi, SeasonalThreshold)
    assert (psi.period, psi.lookback, psi.min_history, psi.k_warn, psi.k_alert) == (
        "weekday", 8, 3, 3.0, 5.0)
    assert (psi.min_warn, psi.min_alert) == (0.1, 0.25)
    ks = cfg.thresholds.for_check("ks", "amount")
    assert (ks.type, ks.lookback, ks.min_history, ks.k_warn) == ("seasonal", 4, 2, 2.0)


@pytest.mark.parametrize(("threshold", "where", "says"), [
    ({"type": "seasonal", "k_warn": 6}, "thresholds.defaults.psi.seasonal",
     "k_warn (6.0) must not exceed k_alert (5.0)"),
    ({"type": "seasonal", "min_warn": 0.3, "min_alert": 0.2}, "thresholds.defaults.psi.seasonal",
     "min_warn (0.3) must not exceed min_alert (0.2)"),
    ({"type": "seasonal", "period": "weekly"}, "thresholds.defaults.psi.seasonal.period",
     "'weekday' or 'weekday_hour'"),
    ({"type": "seasonal", "lookback": 0}, "thresholds.defaults.psi.seasonal.lookback",
     "greater than or equal to 1"),
    ({"type": "seasonal", "lookback": 2, "min_history": 3}, "(top level)",
     "min_history=3 windows can never be found in lookback=2 weeks"),
    ({"type": "seasonal", "period": "weekday_hour"}, "(top level)",
     "which needs windows shorter than a day, but schedule.window is 1d; use period 'weekday'"),
    ({"type": "seasonal", "windows": 3}, "thresholds.defaults.psi.seasonal.windows",
     "remove it or fix its spelling"),
])
def test_invalid_seasonal_thresholds_say_what_and_how_to_fix(tmp_path, threshold, where,
                                                             says) -> None:
    message = _error(_demo_with(tmp_path, lambda raw: raw["thresholds"]["defaults"].update(
        psi=threshold)))
    assert f"`{where}`" in message and says in message, message


def test_seasonal_threshold_on_a_non_drift_check_is_refused(tmp_path) -> None:
    message = _error(_demo_with(tmp_path, lambda raw: raw["thresholds"]["defaults"].update(
        row_count_change={"type": "seasonal"})))
    assert "thresholds.defaults.row_count_change: a seasonal threshold applies to drift checks "\
        "only" in message
    assert "'score_psi'" in message and "use a constant threshold" in message


def test_weekday_hour_fits_hourly_windows_and_counts_windows_per_band(tmp_path) -> None:
    def hourly(raw, threshold):
        raw["schedule"].update(cron="0 * * * *", window="15m")
        raw["thresholds"]["defaults"]["psi"] = threshold

    cfg = load_monitor(_demo_with(tmp_path, lambda raw: hourly(
        raw, {"type": "seasonal", "period": "weekday_hour", "lookback": 2, "min_history": 8})))
    assert cfg.thresholds.for_check("psi").period == "weekday_hour"  # 4 windows/hour x 2 weeks
    message = _error(_demo_with(tmp_path, lambda raw: hourly(
        raw, {"type": "seasonal", "period": "weekday_hour", "lookback": 2, "min_history": 9})))
    assert "lookback=2 weeks (4 window(s) per band a week)" in message


def test_windows_longer_than_a_day_cannot_be_seasonal(tmp_path) -> None:
    def weekly(raw):
        raw["schedule"].update(cron="@weekly", window="1w")
        raw["thresholds"]["defaults"]["score_psi"] = {"type": "seasonal"}

    message = _error(_demo_with(tmp_path, weekly))
    assert "thresholds.defaults.score_psi: period 'weekday' compares a window with the same " \
        "weekday of earlier weeks, which needs windows of at most a day, but schedule.window " \
        "is 1w; use period 'weekday' for daily windows, or a calibrated threshold" in message


# --- bands and history --------------------------------------------------------------------------

def test_bands_are_the_weekday_or_the_weekday_hour_of_the_window_start() -> None:
    assert band_of(SAT + timedelta(hours=14, minutes=30), "weekday").label == "weekday Saturday"
    hourly = band_of(SAT + timedelta(hours=14, minutes=30), "weekday_hour")
    assert hourly.label == "weekday Saturday, hour 14"
    assert (hourly.start, hourly.length) == (SAT + timedelta(hours=14), timedelta(hours=1))
    assert history_intervals(SAT + timedelta(hours=9), "weekday", 2) == [
        (SAT - WEEK, SAT - WEEK + DAY), (SAT - 2 * WEEK, SAT - 2 * WEEK + DAY)]


def _daily(start: datetime, value: float) -> HistoryPoint:
    return HistoryPoint(start, start + DAY, value)


def test_band_values_pick_earlier_same_weekday_windows_of_the_same_length() -> None:
    points = [
        _daily(SAT - 9 * WEEK, 9.0),  # beyond the 8-week lookback
        *[_daily(SAT - j * WEEK, float(j)) for j in range(1, 9) if j != 5],  # Saturdays
        _daily(SAT - WEEK + DAY, 100.0),  # a Sunday
        _daily(SAT - 2 * WEEK - DAY, 100.0),  # a Friday
        HistoryPoint(SAT - 3 * WEEK, SAT - 3 * WEEK + timedelta(hours=1), 100.0),  # hourly window
        _daily(SAT - 4 * WEEK + timedelta(hours=6), 100.0),  # same band, other length: 1 day ok
        _daily(SAT - 5 * WEEK, math.nan),  # a window where the statistic was not computable
        _daily(SAT, 100.0),  # the window itself (a rerun) and a later one (a backfill)
        _daily(SAT + WEEK, 100.0),
    ]
    spec = SeasonalThreshold(type="seasonal")
    band, values = band_values(points, SAT, SAT + DAY, spec)
    assert band.label == "weekday Saturday"
    # oldest first; 4 weeks back has two windows (00:00 and 06:00), 5 weeks back only NaN
    assert values == [8.0, 7.0, 6.0, 4.0, 100.0, 3.0, 2.0, 1.0]
    _, short = band_values(points, SAT, SAT + DAY, SeasonalThreshold(type="seasonal", lookback=2))
    assert short == [2.0, 1.0]


def test_median_and_mad_levels_are_exact() -> None:
    values = [0.30, 0.32, 0.35, 0.31, 0.50]
    # median 0.32; |v - 0.32| = 0.02, 0, 0.03, 0.01, 0.18 -> MAD 0.02 (the 0.50 week is ignored)
    spec = SeasonalThreshold(type="seasonal")
    warn, alert, details = seasonal_levels(spec, values)
    sd = 1.4826 * 0.02
    assert MAD_TO_SD == 1.4826
    assert warn == pytest.approx(0.32 + 3 * sd, abs=1e-12)
    assert alert == pytest.approx(0.32 + 5 * sd, abs=1e-12)
    assert details["history_median"] == pytest.approx(0.32, abs=1e-12)
    assert details["history_mad"] == pytest.approx(0.02, abs=1e-12)
    assert (details["threshold_type"], details["history_windows"], details["spread_source"]) == (
        "seasonal", 5, "history MAD")
    # a history quieter than sampling noise: the noise is the spread
    warn, alert, details = seasonal_levels(spec, values, noise_spread=0.05)
    assert (warn, alert) == pytest.approx((0.32 + 0.15, 0.32 + 0.25), abs=1e-12)
    assert details["spread_source"] == "reference sampling noise"
    # effect-size floors
    floored = SeasonalThreshold(type="seasonal", min_warn=0.5, min_alert=0.6)
    assert seasonal_levels(floored, values)[:2] == (0.5, 0.6)


def _profile_without_reference_windows() -> Profile:
    return Profile("tiny", "k", {"numeric": {"amount": {"min": 0.0, "max": 1.0}}, "windows": []})


def _cfg(threshold: dict) -> MonitorConfig:
    owner = {"team": "t", "slack_channel": "#t"}
    return MonitorConfig.model_validate({
        "model": {"name": "tiny", "task": "binary"},
        "owners": {layer: owner for layer in ("data", "model", "outcome", "infra")},
        "features": [{"name": "amount", "kind": "numeric"}],
        "schedule": {"start_date": "2026-01-05"},
        "reference": {"start": "2026-01-05T00:00:00", "end": "2026-01-19T00:00:00"},
        "thresholds": {"defaults": {"psi": threshold}},
    })


def test_drift_context_uses_the_saturday_history_of_the_same_slice() -> None:
    cfg = _cfg({"type": "seasonal", "min_history": 3})
    history = SeasonalHistory(SAT, SAT + DAY, {
        ("psi", "amount", "all"): [_daily(SAT - j * WEEK, v) for j, v in
                                   ((1, 0.40), (2, 0.30), (3, 0.34), (4, 0.31))]
        + [_daily(SAT - WEEK - DAY, 0.01), _daily(SAT - 2 * WEEK - DAY, 0.02)],  # Fridays
        ("psi", "amount", "region=EU"): [_daily(SAT - WEEK, 0.9)],
    })
    ctx = DriftContext(cfg, _profile_without_reference_windows(), history)
    column = Column("amount", "numeric", "data", "", 1.0)
    threshold, details = ctx.levels(column, "psi", "psi", 2000.0, 0.36, 28_000.0)
    # Saturdays 0.30 0.31 0.34 0.40: median 0.325, deviations 0.025 0.015 0.015 0.075 -> MAD 0.02
    sd = 1.4826 * 0.02
    assert threshold.warn == pytest.approx(0.325 + 3 * sd, abs=1e-12)
    assert threshold.alert == pytest.approx(0.325 + 5 * sd, abs=1e-12)
    assert details["band"] == "weekday Saturday" and details["history_windows"] == 4
    assert details["history_median"] == pytest.approx(0.325, abs=1e-12)
    assert details["sampling_noise"] == 0.0  # no reference windows to measure it on
    assert judge("data", "psi", "amount", 0.36, threshold).status == "ok"
    assert judge("data", "psi", "amount", 0.36, ConstantThreshold(warn=0.1, alert=0.25)
                 ).status == "alert"

    # the EU slice has one Saturday only: the method-default levels, and the reason
    threshold, details = ctx.levels(column, "psi", "psi", 2000.0, 0.36, 28_000.0, "region=EU")
    assert (threshold.warn, threshold.alert) == (0.1, 0.25)
    assert details["threshold_type"] == "method default"
    assert details["history_windows"] == 1
    assert details["seasonal_fallback"].startswith(
        "1 earlier window(s) of weekday Saturday in the last 8 weeks, fewer than min_history=3")


def test_no_history_loaded_falls_back_and_says_so() -> None:
    cfg = _cfg({"type": "seasonal", "min_warn": 0.2, "min_alert": 0.5})
    ctx = DriftContext(cfg, _profile_without_reference_windows())
    threshold, details = ctx.levels(Column("amount", "numeric", "data", "", 1.0), "psi", "psi",
                                    2000.0, 0.3, 28_000.0)
    assert (threshold.warn, threshold.alert) == (0.2, 0.5)  # the seasonal floors still hold
    assert details["history_windows"] == 0 and details["band"] is None
    assert "no history was loaded" in details["seasonal_fallback"]


# --- a weekly pattern through step_window_checks on DuckDB ---------------------------------------

START = datetime(2026, 1, 5)  # Monday; reference: two weeks, monitoring from Monday 01-19
ROWS = 3000
SATURDAY_SHIFT = 6.0  # amount ~ N(50, 10) on weekdays, N(56, 10) on Saturdays: PSI ~ 0.3
SATURDAYS = [datetime(2026, 1, 24) + j * WEEK for j in range(5)]  # 01-24 .. 02-21
SHIFTED_WEDNESDAY = datetime(2026, 2, 18)  # a genuine shift: N(58, 10)
SHIFTED_SATURDAY = SATURDAYS[-1]  # a Saturday beyond its usual: N(66, 10)
LAST_DAY = datetime(2026, 2, 21)


def _frame(day: datetime, rng: np.random.Generator) -> pd.DataFrame:
    mean = 50.0 + (SATURDAY_SHIFT if day.weekday() == 5 else 0.0)
    if day == SHIFTED_WEDNESDAY:
        mean = 58.0
    if day == SHIFTED_SATURDAY:
        mean = 66.0
    i = np.arange(ROWS)
    return pd.DataFrame({
        "request_id": [f"{day:%m%d}_{k}" for k in i],
        "event_ts": [day + timedelta(seconds=int(k * 86400 / ROWS)) for k in i],
        "model_name": "weekly", "model_version": "v1",
        "amount": rng.normal(mean, 10.0, ROWS),
        "channel": rng.choice(["web", "app", "pos"], ROWS, p=[0.5, 0.3, 0.2]),
        "score": rng.random(ROWS),
        "prediction": 0,
    })


def _weekly_cfg(url_env: str, psi: dict) -> MonitorConfig:
    owner = {"team": "t", "slack_channel": "#t"}
    return MonitorConfig.model_validate({
        "model": {"name": "weekly", "task": "binary"},
        "owners": {layer: owner for layer in ("data", "model", "outcome", "infra")},
        "warehouse": {"url_env": url_env},
        "features": [{"name": "amount", "kind": "numeric"},
                     {"name": "channel", "kind": "categorical"}],
        "schedule": {"start_date": "2026-01-05"},
        "reference": {"start": START.isoformat(), "end": (START + 2 * WEEK).isoformat()},
        "thresholds": {"defaults": {"psi": psi}},
        "drift": {"numeric_methods": ["psi"], "categorical_methods": ["psi"],
                  "change_point": []},
    })


SEASONAL = {"type": "seasonal", "min_history": 3, "min_warn": 0.1, "min_alert": 0.25}
CONSTANT = {"type": "constant", "warn": 0.1, "alert": 0.25}


@pytest.fixture(scope="module")
def weekly(tmp_path_factory):
    """Both warehouses seeded with the same rows; the seasonal one run day by day to LAST_DAY."""
    from modelwatch.runner import Window, step_publish, step_window_checks
    from modelwatch.warehouse.engine import engine_for_url
    from modelwatch.warehouse.load import load_frame

    rng = np.random.default_rng(11)
    days = [START + d * DAY for d in range((LAST_DAY - START).days + 1)]
    predictions = pd.concat([_frame(day, rng) for day in days], ignore_index=True)
    mp = pytest.MonkeyPatch()
    cfgs = {}
    for name, psi in (("seasonal", SEASONAL), ("constant", CONSTANT)):
        url = f"duckdb:///{tmp_path_factory.mktemp(name) / 'w.duckdb'}"
        mp.setenv(f"MW_TEST_{name.upper()}_URL", url)
        load_frame(engine_for_url(url), "predictions", predictions)
        cfgs[name] = _weekly_cfg(f"MW_TEST_{name.upper()}_URL", psi)
    results = {}
    for day in days[14:]:
        window = Window(day, day + DAY)
        results[day] = step_window_checks(cfgs["seasonal"], window, f"s{day:%m%d}")
        step_publish(cfgs["seasonal"], window)  # the next days' band reads this one
    yield cfgs, results
    mp.undo()


def _psi(rows, feature: str = "amount"):
    found = [r for r in rows if r.check_name == "psi" and r.feature == feature
             and r.slice == "all"]
    assert len(found) == 1
    return found[0]


def test_saturdays_fall_back_until_the_band_has_min_history(weekly) -> None:
    _, results = weekly
    for j, saturday in enumerate(SATURDAYS[:3]):
        row = _psi(results[saturday])
        assert row.details["history_windows"] == j, row.details
        assert row.details["seasonal_fallback"].startswith(
            f"{j} earlier window(s) of weekday Saturday"), row.details
        assert row.details["threshold_type"] in ("calibrated", "method default")


def test_a_usual_saturday_is_ok_under_seasonal_and_alerts_under_constant(weekly) -> None:
    from modelwatch.runner import Window, step_window_checks

    cfgs, results = weekly
    saturday = SATURDAYS[3]  # 02-14: three Saturdays of history
    row = _psi(results[saturday])
    assert row.status == "ok", row.details
    assert row.details["threshold_type"] == "seasonal"
    assert row.details["band"] == "weekday Saturday"
    assert row.details["history_windows"] == 3
    history = [_psi(results[s]).value for s in SATURDAYS[:3]]
    assert row.details["history_median"] == pytest.approx(float(np.median(history)), abs=1e-12)
    assert row.details["history_mad"] == pytest.approx(
        float(np.median(np.abs(np.asarray(history) - np.median(history)))), abs=1e-12)
    assert row.threshold == pytest.approx(
        max(row.details["history_median"] + 5 * row.details["spread"], 0.25), abs=1e-12)
    assert row.value > 0.25  # far from the reference: a constant threshold alerts on it ...
    constant = step_window_checks(cfgs["constant"], Window(saturday, saturday + DAY), "c")
    same = _psi(constant)
    assert same.value == pytest.approx(row.value, rel=1e-12)
    assert (same.status, same.details["threshold_type"]) == ("alert", "constant")
    # ... and the unchanged channel feature is ok under both
    assert _psi(results[saturday], "channel").status == "ok"


def test_genuine_shifts_still_alert_on_a_weekday_and_on_a_saturday(weekly) -> None:
    _, results = weekly
    wednesday = _psi(results[SHIFTED_WEDNESDAY])
    assert wednesday.status == "alert", wednesday.details
    assert wednesday.details["threshold_type"] == "seasonal"
    assert wednesday.details["band"] == "weekday Wednesday"
    assert wednesday.details["history_windows"] == 4  # Wednesdays 01-21 .. 02-11
    assert wednesday.details["history_median"] < 0.05
    # the calibrated levels (the fallback of the first weeks) widen every day for the Saturdays
    # in the reference, so they would miss this shift; the Wednesday band does not
    calibrated = _psi(results[SHIFTED_WEDNESDAY - 2 * WEEK])
    assert calibrated.details["threshold_type"] == "calibrated"
    assert wednesday.threshold < wednesday.value < calibrated.threshold
    saturday = _psi(results[SHIFTED_SATURDAY])
    assert saturday.details["threshold_type"] == "seasonal"
    assert saturday.status == "alert", saturday.details
    # the ordinary weekdays around it stay quiet
    quiet = [d for d, rows in results.items() if d.weekday() < 5 and d != SHIFTED_WEDNESDAY
             and _psi(rows).status != "ok"]
    assert quiet == []


def test_rerunning_a_window_after_later_ones_gives_the_same_rows(weekly) -> None:
    from modelwatch.runner import Window, step_window_checks

    cfgs, results = weekly
    saturday = SATURDAYS[3]
    again = step_window_checks(cfgs["seasonal"], Window(saturday, saturday + DAY), "rerun")
    before, after = _psi(results[saturday]), _psi(again)
    assert (after.value, after.threshold, after.status) == (before.value, before.threshold,
                                                            before.status)
    assert after.details == before.details


def test_the_history_is_one_query_per_window(weekly) -> None:
    import sqlalchemy as sa

    from modelwatch.runner import Window, step_window_checks
    from modelwatch.warehouse.engine import get_engine

    cfgs, _ = weekly
    engine = get_engine(cfgs["seasonal"].warehouse)
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        day = SATURDAYS[2]
        step_window_checks(cfgs["seasonal"], Window(day, day + DAY), "count")
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    # (create_output_tables probes the table's columns with "SELECT * ... WHERE 1 = 0")
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")
             and "mw_metric.value" in s]
    assert len(reads) == 1, reads


def test_the_documented_example_is_a_valid_config(tmp_path) -> None:
    from tests.conftest import PROJECT

    text = (PROJECT / "docs" / "drift_methods.md").read_text()
    section = text.split("### Seasonal thresholds", 1)[1]
    example = yaml.safe_load(section.split("```yaml", 1)[1].split("```", 1)[0])
    cfg = load_monitor(_demo_with(tmp_path, lambda raw: raw.update(example)))
    assert cfg.thresholds.for_check("psi", "channel").type == "seasonal"
    assert cfg.thresholds.for_check("ks", "amount").lookback == 4


def check_history_query(engine) -> None:
    """Earlier same-weekday rows of the seasonal checks come back; nothing else does."""
    from modelwatch.checks.seasonal import load_seasonal_history
    from modelwatch.metrics import MetricRow
    from modelwatch.warehouse.tables import create_output_tables
    from modelwatch.warehouse.writer import replace_metrics

    cfg = _cfg({"type": "seasonal"})
    create_output_tables(engine)
    written = [(SAT - 2 * WEEK, "tiny", 0.4), (SAT - WEEK, "tiny", 0.3),
               (SAT - WEEK - DAY, "tiny", 0.01),  # a Friday
               (SAT - 9 * WEEK, "tiny", 7.0),  # beyond lookback
               (SAT, "tiny", 100.0), (SAT + WEEK, "tiny", 100.0),  # itself, later
               (SAT - WEEK, "other_model", 100.0)]
    with engine.begin() as conn:
        for start, model, value in written:
            rows = [MetricRow("data", "psi", "amount", value, 0.25, "ok"),
                    MetricRow("data", "psi", "amount", value / 10, 0.25, "ok", {}, "region=EU"),
                    MetricRow("data", "ks", "amount", 100.0, 0.25, "ok")]  # not seasonal
            replace_metrics(conn, run_id="r", model_name=model, model_version="v1",
                            window_start=start, window_end=start + DAY, rows=rows)
    with engine.connect() as conn:
        history = load_seasonal_history(conn, cfg, SAT, SAT + DAY)
    assert sorted(history.points) == [("psi", "amount", "all"), ("psi", "amount", "region=EU")]
    spec = cfg.thresholds.for_check("psi", "amount")
    assert history.values(spec, "psi", "amount", "all")[1] == [0.4, 0.3]
    assert history.values(spec, "psi", "amount", "region=EU")[1] == pytest.approx([0.04, 0.03])
    with engine.connect() as conn:  # no seasonal threshold configured: nothing is read
        assert load_seasonal_history(conn, _cfg({"type": "calibrated"}), SAT, SAT + DAY) is None


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite"])
def test_history_query_on_embedded_dialects(tmp_path, dialect) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine({"duckdb": f"duckdb:///{tmp_path / 'w.duckdb'}",
                               "sqlite": f"sqlite:///{tmp_path / 'w.sqlite'}"}[dialect])
    try:
        check_history_query(engine)
    finally:
        engine.dispose()
