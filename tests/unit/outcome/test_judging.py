"""Degradation is judged on the interval, not the point; levels come from config first."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from modelwatch.config.outcome import OutcomeSettings
from modelwatch.config.schema import ConstantThreshold
from modelwatch.outcome.thresholds import judge_performance, levels
from modelwatch.outcome.values import MetricValue
from modelwatch.outcome.windows import plan_windows

REF = {"value": 0.80, "low": 0.79, "high": 0.81}


def test_wide_interval_point_below_level_stays_ok(demo_cfg) -> None:
    noisy = MetricValue(0.70, 0.55, 0.85, "delong")  # drop 0.10 > alert 0.06, but noisy
    row = judge_performance(demo_cfg, "roc_auc", "roc_auc", noisy, REF, "all", {})
    assert row.status == "ok"
    assert row.details["adverse_change_lower_bound"] < 0
    assert row.threshold == pytest.approx(0.80 - 0.06)


def test_narrow_interval_alerts_and_warns(demo_cfg) -> None:
    sure = MetricValue(0.70, 0.69, 0.71, "delong")
    assert judge_performance(demo_cfg, "roc_auc", "roc_auc", sure, REF, "all", {}).status == "alert"
    slight = MetricValue(0.755, 0.75, 0.76, "delong")  # drop ≥ 0.03 on the interval, < 0.06
    assert judge_performance(demo_cfg, "roc_auc", "roc_auc", slight, REF, "all", {}).status == "warn"


def test_losses_are_judged_upwards(demo_cfg) -> None:
    ref = {"value": 0.05, "low": 0.049, "high": 0.051}
    worse = MetricValue(0.12, 0.11, 0.13, "normal")
    better = MetricValue(0.01, 0.005, 0.015, "normal")
    assert judge_performance(demo_cfg, "log_loss", "log_loss", worse, ref, "all", {}).status == "alert"
    assert judge_performance(demo_cfg, "log_loss", "log_loss", better, ref, "all", {}).status == "ok"


def test_missing_values_and_references(demo_cfg) -> None:
    row = judge_performance(demo_cfg, "roc_auc", "roc_auc", MetricValue.missing("why"), REF, "x", {})
    assert (row.status, row.details["reason"], row.slice) == ("skipped", "why", "x")
    row = judge_performance(demo_cfg, "roc_auc", "roc_auc", MetricValue(0.5, 0.4, 0.6, "d"), None,
                            "all", {})
    assert row.status == "ok" and row.details["judged"] is False


def test_config_levels_win_and_estimates_fall_back(demo_cfg) -> None:
    cfg = demo_cfg.model_copy(update={"thresholds": demo_cfg.thresholds.model_copy(update={
        "defaults": {**demo_cfg.thresholds.defaults,
                     "roc_auc": ConstantThreshold(warn=0.2, alert=0.3)}})})
    assert levels(cfg, "roc_auc")[0].alert == 0.3
    assert levels(cfg, "estimated_roc_auc", "roc_auc") == (ConstantThreshold(warn=0.2, alert=0.3),
                                                           "thresholds: roc_auc")
    assert levels(demo_cfg, "roc_auc") == (ConstantThreshold(warn=0.03, alert=0.06),
                                           "outcome default")
    p95, source = levels(demo_cfg, "label_delay_p95_hours")
    assert (p95.warn, source) == (240.0, "labels.delay")  # demo: labels.delay 10d


def test_windows_and_maturity() -> None:
    end = datetime(2026, 9, 27)
    ws = plan_windows(end, timedelta(days=1), 30, timedelta(days=10))
    assert len(ws) == 30 and ws[-1].end == end and ws[0].start == datetime(2026, 8, 28)
    by_start = {w.start: w for w in ws}
    assert by_start[datetime(2026, 9, 16)].mature  # ends 09-17, +10d = as of
    late = by_start[datetime(2026, 9, 17)]
    assert not late.mature and late.maturity == pytest.approx(0.9)
    assert ws[-1].maturity == 0.0


def test_outcome_settings_are_strict_and_documented() -> None:
    with pytest.raises(ValueError, match="extra"):
        OutcomeSettings(lookback=3)
    with pytest.raises(ValueError, match="not a valid SQL name"):
        OutcomeSettings(kpi_ts="ts; drop table x")
    with pytest.raises(ValueError, match="different columns"):
        OutcomeSettings(kpi_value="ts")
    assert all(f.description for f in OutcomeSettings.model_fields.values())


def test_demo_config_gets_the_defaults(demo_cfg) -> None:
    # the demo sets only its KPI's proxy alert
    assert set(demo_cfg.outcome.kpis) == {"approval_rate"}
    assert demo_cfg.outcome == OutcomeSettings(kpis=demo_cfg.outcome.kpis)
