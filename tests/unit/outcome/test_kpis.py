"""KPI proxy alerts and KPI correlations: the judging and correlation math on hand-computed
fixtures, the history bookkeeping, and the config's errors."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats

from modelwatch.alerting.families import FAMILIES, classify
from modelwatch.alerting.grouping import build_groups
from modelwatch.config import load_monitor
from modelwatch.config.outcome import KpiCorrelationSettings, KpiSettings
from modelwatch.drift.seasonal import HistoryPoint
from modelwatch.errors import ConfigError
from modelwatch.metrics import MetricRow
from modelwatch.outcome.kpi_correlation import correlation, correlation_rows
from modelwatch.outcome.kpi_history import KpiHistory
from modelwatch.outcome.kpis import adverse_move, history_window, judge_kpi, kpi_rows, noise_band
from tests.conftest import DEMO_YAML

D0 = datetime(2026, 9, 1)  # a Tuesday
DAY = timedelta(days=1)


def points(values, first: datetime = D0, step: timedelta = DAY) -> list[HistoryPoint]:
    return [HistoryPoint(first + i * step, first + (i + 1) * step, v) for i, v in enumerate(values)]


def spec(**kw) -> KpiSettings:
    return KpiSettings(**{"direction": "higher_is_better", "min_history": 3, **kw})


# --- the band -------------------------------------------------------------------------------

def test_mad_band_by_hand() -> None:
    # median 3; |x - 3| = 2, 1, 0, 1, 97 -> MAD 1; spread 1.4826; the outlier does not widen it
    band = noise_band([1, 2, 3, 4, 100], spec())
    assert band.center == 3 and band.spread == pytest.approx(1.4826)
    assert band.warn_move == pytest.approx(3 * 1.4826) and band.alert_move == pytest.approx(5 * 1.4826)


def test_sd_band_by_hand() -> None:
    band = noise_band([1, 2, 3, 4, 5], spec(method="sd", k_warn=2, k_alert=4))
    assert band.center == 3 and band.spread == pytest.approx(math.sqrt(2.5))
    assert band.alert_move == pytest.approx(4 * math.sqrt(2.5))


def test_min_spread_floors_a_constant_history() -> None:
    band = noise_band([0.5] * 6, spec(min_spread=0.01))
    assert band.raw_spread == 0 and band.spread == 0.01 and band.warn_move == pytest.approx(0.03)


def test_adverse_move_by_direction() -> None:
    assert adverse_move(2.0, 3.0, "higher_is_better") == 1.0
    assert adverse_move(2.0, 3.0, "lower_is_better") == -1.0
    assert adverse_move(4.0, 3.0, "two_sided") == adverse_move(2.0, 3.0, "two_sided") == 1.0


@pytest.mark.parametrize(("direction", "value", "status", "threshold"), [
    # history 1..5 -> median 3, spread 1.4826: warn beyond 4.4478, alert beyond 7.413
    ("higher_is_better", 3 - 5, "warn", 3 - 5 * 1.4826),
    ("higher_is_better", 3 - 8, "alert", 3 - 5 * 1.4826),
    ("higher_is_better", 3 + 8, "ok", 3 - 5 * 1.4826),  # a rise is good news
    ("higher_is_better", 3 - 4, "ok", 3 - 5 * 1.4826),
    ("lower_is_better", 3 + 8, "alert", 3 + 5 * 1.4826),
    ("lower_is_better", 3 - 8, "ok", 3 + 5 * 1.4826),
    ("two_sided", 3 - 5, "warn", 3 - 5 * 1.4826),
    ("two_sided", 3 + 8, "alert", 3 + 5 * 1.4826),
])
def test_judge_kpi(direction, value, status, threshold) -> None:
    got, level, details = judge_kpi(value, points([1, 2, 3, 4, 5]), spec(direction=direction))
    assert got == status and level == pytest.approx(threshold)
    assert details["judged"] is True and details["history_windows"] == 5
    assert details["alert_threshold"] == pytest.approx(threshold)
    assert details["history"][0] == [D0.isoformat(), 1]


def test_constant_history_without_a_floor_alerts_on_any_adverse_move_only() -> None:
    flat = points([0.5] * 5)
    assert judge_kpi(0.5, flat, spec())[0] == "ok"
    assert judge_kpi(0.6, flat, spec())[0] == "ok"
    assert judge_kpi(0.49, flat, spec())[0] == "alert"


def test_short_history_is_not_judged_and_says_why() -> None:
    status, threshold, details = judge_kpi(0.0, points([1, 2]), spec())
    assert (status, threshold, details["judged"]) == ("ok", None, False)
    assert "2 window(s) of history" in details["reason"] and "min_history=3" in details["reason"]


# --- which windows are history --------------------------------------------------------------

def test_history_is_earlier_windows_within_the_span_and_of_the_same_length() -> None:
    pts = points([1.0, None, 3.0, float("nan"), 5.0, 6.0, 7.0])
    pts.append(HistoryPoint(D0 + 2 * DAY, D0 + 2 * DAY + timedelta(hours=1), 9.0))  # an hour
    current = D0 + 5 * DAY  # day 6: only days 1-5 are history, 6-7 are not
    chosen = history_window(pts, current, current + DAY, DAY, spec(history_windows=4))
    assert [p.value for p in chosen] == [3.0, 5.0]  # day 1 is outside 4 windows back


def test_weekday_history_is_the_same_weekday_and_time() -> None:
    pts = points(list(range(30)))
    current = D0 + 28 * DAY
    chosen = history_window(pts, current, current + DAY, DAY,
                            spec(seasonal="weekday", history_windows=3))
    assert [p.window_start for p in chosen] == [D0 + 7 * DAY, D0 + 14 * DAY, D0 + 21 * DAY]


# --- rows -----------------------------------------------------------------------------------

def obs(kpi: str, mean: float, segment: str = "all") -> dict:
    return {"kpi": kpi, "segment": segment, "mean": mean, "observations": 1, "min": mean,
            "max": mean}


def test_kpi_rows_judge_configured_kpis_per_slice_from_the_history() -> None:
    history = KpiHistory(frozenset({("outcome", "kpi")}))
    for p in points([0.05, 0.051, 0.049, 0.05]):
        history.add("outcome", "kpi", "ctr", "all", p)
        history.add("outcome", "kpi", "ctr", "segment=EU", p)
    start = D0 + 4 * DAY
    rows = kpi_rows([obs("ctr", 0.03), obs("ctr", 0.0501, "EU"), obs("other", 1.0)], "segment",
                    {"window_start": start.isoformat()}, {"ctr": spec()}, history, start,
                    start + DAY, DAY)
    got = {(r.feature, r.slice): r for r in rows}
    assert got[("ctr", "all")].status == "alert" and got[("ctr", "all")].threshold is not None
    assert got[("ctr", "segment=EU")].status == "ok"
    other = got[("other", "all")]
    assert other.status == "ok" and "outcome.kpis.other" in other.details["reason"]


def test_record_replaces_a_windows_rows_like_replace_metrics() -> None:
    history = KpiHistory(frozenset({("outcome", "kpi"), ("outcome", "roc_auc")}))
    history.add("outcome", "kpi", "gone", "all", HistoryPoint(D0, D0 + DAY, 1.0))
    history.record([MetricRow("outcome", "kpi", "ctr", 0.05, None, "ok", {}),
                    MetricRow("outcome", "roc_auc", None, 0.8, None, "ok", {}),
                    MetricRow("outcome", "roc_auc", None, 0.1, None, "ok", {}, "region=EU"),
                    MetricRow("outcome", "brier", None, 0.1, None, "ok", {})], D0, D0 + DAY)
    assert history.series("outcome", "kpi", "gone") == []
    assert [p.value for p in history.series("outcome", "kpi", "ctr")] == [0.05]
    assert history.features("outcome", "roc_auc") == [None]  # slices of metrics are not kept
    assert ("outcome", "brier") not in history.values


# --- correlation ----------------------------------------------------------------------------

def test_correlation_by_hand() -> None:
    # x - 3 = -2,-1,0,1,2; y - 4 = -2,0,1,0,1: sum of products 6, squares 10 and 6
    got = correlation([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])
    assert got["pearson"] == pytest.approx(6 / math.sqrt(60))
    assert got["n"] == 5
    assert got["spearman"] == pytest.approx(stats.spearmanr([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])[0])


def test_correlation_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=25)
    y = 0.4 * x + rng.normal(size=25)
    got = correlation(x, y)
    p, s = stats.pearsonr(x, y), stats.spearmanr(x, y)
    assert got["pearson"] == pytest.approx(p.statistic, abs=1e-12)
    assert got["pearson_p"] == pytest.approx(p.pvalue, rel=1e-9)
    assert got["spearman"] == pytest.approx(s.statistic, abs=1e-12)
    assert got["spearman_p"] == pytest.approx(s.pvalue, rel=1e-9)


def test_correlation_is_undefined_on_constant_or_tiny_series() -> None:
    assert correlation([1, 2, 3], [5, 5, 5]) is None
    assert correlation([1, 2], [1, 2]) is None
    assert correlation([1, 2, 3], [3, 2, 1])["pearson"] == -1.0


def test_correlation_rows_name_kpi_and_metric_and_gate_on_n() -> None:
    history = KpiHistory(frozenset({("outcome", "kpi"), ("model", "score_psi")}))
    kpi = [0.05, 0.05, 0.04, 0.03, 0.05, 0.02]
    psi = [0.01, 0.02, 0.20, 0.30, 0.01, 0.50]
    for p, q in zip(points(kpi), points(psi), strict=True):
        history.add("outcome", "kpi", "ctr", "all", p)
        history.add("model", "score_psi", "score", "all", q)
    last = D0 + 5 * DAY
    settings = KpiCorrelationSettings(windows=5, min_windows=3)
    rows = correlation_rows(history, ["model.score_psi", "outcome.roc_auc"], settings, last,
                            last + DAY, DAY, {})
    by = {r.feature: r for r in rows}
    r = by["ctr~score_psi[score]"]
    assert r.value == pytest.approx(stats.pearsonr(kpi[1:], psi[1:]).statistic)
    assert r.details["n"] == 5 and r.status == "ok" and r.threshold is None
    assert by["ctr~roc_auc"].status == "skipped"
    strict = KpiCorrelationSettings(windows=5, min_windows=5)
    short = correlation_rows(history, ["model.score_psi"], strict, D0 + 3 * DAY, D0 + 4 * DAY,
                             DAY, {})
    assert short[0].status == "skipped" and "min_windows=5" in short[0].details["reason"]


# --- alert routing --------------------------------------------------------------------------

def test_kpi_alerts_are_their_own_family_with_a_runbook(demo_cfg) -> None:
    assert classify("outcome", "kpi") == classify("outcome", "kpi_correlation") == "business_kpi"
    assert FAMILIES["business_kpi"].runbook == "business_kpi.md"
    rows = [MetricRow("outcome", "kpi", "approval_rate", 0.82, 0.95, "alert",
                      {"warn_threshold": 0.96}),
            MetricRow("outcome", "roc_auc", None, 0.6, 0.7, "alert", {})]
    groups = {g.family: g for g in build_groups(demo_cfg, rows)}
    kpi = groups["business_kpi"]
    assert kpi.title == "business KPI: approval_rate outside its historical noise (1 slice)"
    assert kpi.owner == demo_cfg.owners.outcome.team and "realized_performance" in groups


# --- config ---------------------------------------------------------------------------------

def _error(tmp_path: Path, outcome: dict) -> str:
    raw = yaml.safe_load(DEMO_YAML.read_text())
    raw["outcome"] = outcome
    path = tmp_path / "kpi.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as info:
        load_monitor(path)
    return str(info.value)


@pytest.mark.parametrize(("outcome", "expected"), [
    ({"kpis": {"ctr": {"direction": "up"}}},
     ["key `outcome.kpis.ctr.direction`", "'up'", "Fix: use one of 'higher_is_better'"]),
    ({"kpis": {"ctr": {}}}, ["key `outcome.kpis.ctr.direction`", "(missing)"]),
    ({"kpis": {"ctr": {"direction": "higher_is_better", "k_warn": 6}}},
     ["key `outcome.kpis.ctr`", "k_alert (5.0) is below k_warn (6.0)", "k_alert >= k_warn"]),
    ({"kpis": {"ctr": {"direction": "higher_is_better", "min_history": 30}}},
     ["min_history (30) exceeds history_windows (28)", "set min_history <= history_windows"]),
    ({"kpis": {"ctr": {"direction": "higher_is_better", "k_wran": 2}}},
     ["key `outcome.kpis.ctr.k_wran`", "keys allowed here: direction, history_windows"]),
    ({"kpis": {"a~b": {"direction": "two_sided"}}}, ["'a~b'", "must not contain '~'"]),
    ({"kpi_correlation": {"metrics": ["roc_auc"]}},
     ["key `outcome.kpi_correlation.metrics`", "'roc_auc' is not `<layer>.<check>`",
      "'outcome.roc_auc'"]),
    ({"kpi_correlation": {"windows": 5}}, ["min_windows (10) exceeds windows (5)"]),
])
def test_config_errors_name_key_value_and_fix(tmp_path: Path, outcome, expected) -> None:
    message = _error(tmp_path, outcome)
    for part in expected:
        assert part in message, (part, message)
