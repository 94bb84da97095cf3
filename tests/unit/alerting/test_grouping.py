"""Grouping: hundreds of crossings become one alert per owner and root cause."""

from __future__ import annotations

import pytest

from modelwatch.alerting.families import classify
from modelwatch.alerting.grouping import build_groups, fingerprint

METHODS = ("psi", "ks", "jensen_shannon", "wasserstein")
SLICES = ("all", "region=EU", "region=NA", "region=APAC", "region=LATAM", "customer_tier=gold",
          "customer_tier=standard", "customer_tier=platinum")


def row(layer, check, feature, value, status, *, slice_="all", threshold=0.25, warn=0.1):
    return {"layer": layer, "check_name": check, "feature": feature, "slice": slice_,
            "value": value, "threshold": threshold, "status": status,
            "details": {"warn_threshold": warn}}


def drift(feature, value=0.4, status="alert", methods=METHODS, slices=SLICES, layer="data"):
    return [row(layer, m, feature, value + i * 0.01, status, slice_=s)
            for i, s in enumerate(slices) for m in methods]


def test_drift_of_one_feature_across_methods_and_slices_is_one_alert(demo_cfg) -> None:
    rows = drift("device_risk") + drift("velocity_1h", 0.15, "warn", slices=SLICES[:2])
    rows += [row("data", "psi", "amount", 0.01, "ok"), row("data", "ks", "amount", None, "skipped")]
    groups = build_groups(demo_cfg, rows)
    assert [(g.title, g.severity, g.channel) for g in groups] == [
        ("feature drift: device_risk (4 methods, 8 slices)", "page", "#fraud-data"),
        ("feature drift: velocity_1h (4 methods, 2 slices)", "notify", "#fraud-data"),
    ]
    assert len(groups[0].members) == 32
    # worst crossing first, whole population before slices, then a count of the rest
    assert groups[0].evidence == ("jensen_shannon = 0.4 (alert at 0.25)", "ks = 0.4 (alert at 0.25)",
                                  "psi = 0.4 (alert at 0.25)", "… and 29 more")
    assert groups[1].evidence[0] == "jensen_shannon = 0.15 (warn at 0.1, alert at 0.25)"


def test_covariate_shift_on_three_features_stays_three_causes(demo_cfg) -> None:
    rows = [r for f in ("distance_from_home_km", "device_risk", "velocity_1h") for r in drift(f)]
    titles = [g.title for g in build_groups(demo_cfg, rows)]
    assert titles == [f"feature drift: {f} (4 methods, 8 slices)"
                      for f in ("device_risk", "distance_from_home_km", "velocity_1h")]


def test_quality_findings_on_many_features_are_one_pipeline_incident(demo_cfg) -> None:
    features = [f.name for f in demo_cfg.features[:7]]
    rows = [row("data", "null_rate_increase", f, 0.3, "alert", threshold=0.05) for f in features]
    rows += drift(features[0], methods=("psi",), slices=("all",))
    rows += drift(features[1], 0.15, "warn", methods=("psi",), slices=("all",))
    rows += [row("data", "row_count_change", None, 0.6, "alert", threshold=0.5)]
    rows += [row("model", "score_psi", "score", 0.6, "alert")]  # large: needs no corroboration
    groups = build_groups(demo_cfg, rows)
    assert [(g.title, g.severity, g.channel) for g in groups] == [
        ("data pipeline degraded: 7 features and table checks "
         "(null_rate_increase, row_count_change; drift on 2)", "page", "#fraud-data"),
        ("score drift: score (1 method, 1 slice)", "page", "#fraud-ml"),
    ]
    assert groups[0].evidence[0] == "account_age_days: null_rate_increase = 0.3 (alert at 0.05)"
    assert len(groups[0].members) == 10


@pytest.mark.parametrize(("n_features", "expected_groups"), [(6, 6), (7, 1)])
def test_drift_alone_on_a_large_share_of_features_is_titled_as_drift(demo_cfg, n_features,
                                                                      expected_groups) -> None:
    # 21 features, share 0.3: 7 drifting at once is one cause, but with no data-quality
    # evidence it is the population changing, not a broken pipeline
    rows = [r for f in demo_cfg.features[:n_features]
            for r in drift(f.name, methods=("psi",), slices=("all",))]
    groups = build_groups(demo_cfg, rows)
    assert len(groups) == expected_groups
    assert not any("pipeline" in g.title for g in groups)
    if expected_groups == 1:
        assert groups[0].title == "data drift on many features: 7 features (1 method, 1 slice)"
        assert groups[0].family == "broad_drift"


def test_mass_drift_with_a_quality_finding_is_a_pipeline_incident(demo_cfg) -> None:
    names = [f.name for f in demo_cfg.features[:7]]
    rows = [r for name in names for r in drift(name, methods=("psi",), slices=("all",))]
    rows.append(row("data", "null_rate_increase", names[0], 0.3, "alert", threshold=0.05))
    groups = build_groups(demo_cfg, rows)
    assert [g.title for g in groups] == [
        "data pipeline degraded: 7 features (null_rate_increase; drift on 7)"]


def _performance(status: str, check: str = "estimated_roc_auc") -> dict:
    return row("outcome", check, None, 0.8, status)


@pytest.mark.parametrize(("outcome", "severity"), [
    ([_performance("ok")], "notify"),  # measured and within its levels: not a night page
    ([_performance("ok"), _performance("warn", "roc_auc")], "page"),  # performance moved
    ([], "page"),  # nothing measured: drift is all there is to go on
])
def test_drift_only_alerts_page_only_when_performance_is_not_seen_to_hold(
        demo_cfg, outcome, severity) -> None:
    groups = build_groups(demo_cfg, drift("device_risk") + outcome)
    drift_group = next(g for g in groups if g.family == "feature_drift")
    assert drift_group.severity == severity
    assert ("performance holds (estimated_roc_auc)" in drift_group.summary) == (severity == "notify")


def test_paging_drift_whatever_the_performance_is_one_setting(demo_cfg) -> None:
    cfg = demo_cfg.model_copy(update={"alerting": demo_cfg.alerting.model_copy(
        update={"page_drift_when_performance_holds": True})})
    groups = build_groups(cfg, drift("device_risk") + [_performance("ok")])
    assert next(g for g in groups if g.family == "feature_drift").severity == "page"


def test_drift_of_a_feature_with_a_quality_finding_is_a_data_quality_symptom(demo_cfg) -> None:
    rows = [row("data", "silent_default_share", "avg_amount_30d", 0.98, "alert", threshold=0.2),
            row("data", "skew_mismatch_rate", "avg_amount_30d", 0.97, "alert", threshold=0.05)]
    rows += drift("avg_amount_30d", slices=("all", "region=EU"))
    rows += [row("data", "freshness_lag_hours", None, 8, "alert", threshold=6)]
    groups = build_groups(demo_cfg, rows)
    assert [g.title for g in groups] == [
        "data quality: avg_amount_30d (silent_default_share, skew_mismatch_rate; "
        "drift: 4 methods, 2 slices)",
        "data quality: table predictions (freshness_lag_hours)",
    ]


def test_severity_is_the_owners_policy_and_the_max_over_members(demo_cfg) -> None:
    # fraud-product maps alert -> notify and warn -> log
    rows = [row("outcome", "auc_drop", None, 0.1, "warn", threshold=0.05),
            row("outcome", "recall_drop", None, 0.2, "alert", threshold=0.05),
            row("outcome", "label_freshness_hours", None, 40, "warn", threshold=48)]
    by_title = {g.title: g.severity for g in build_groups(demo_cfg, rows)}
    assert by_title == {"model performance: auc_drop, recall_drop": "notify",
                        "labels: label_freshness_hours": "log"}


def test_fingerprint_is_stable_across_windows_and_values(demo_cfg) -> None:
    day1 = build_groups(demo_cfg, drift("device_risk", 0.4))
    day2 = build_groups(demo_cfg, drift("device_risk", 0.9, slices=("all",), methods=("psi",)))
    other = build_groups(demo_cfg, drift("velocity_1h"))
    assert day1[0].fingerprint == day2[0].fingerprint == fingerprint(
        "fraud_demo", "data", "feature_drift", "device_risk")
    assert other[0].fingerprint != day1[0].fingerprint


@pytest.mark.parametrize(("layer", "check", "family"), [
    ("data", "psi", "feature_drift"), ("data", "psi_cusum", "feature_drift"),
    ("data", "chi_square", "feature_drift"), ("data", "null_rate_increase", "data_quality"),
    ("data", "skew_mismatch_rate", "data_quality"), ("model", "score_ks", "score_drift"),
    ("model", "score_psi_page_hinkley", "score_drift"), ("model", "prediction_psi", "score_drift"),
    ("model", "mean_confidence_change", "model_behaviour"), ("shadow", "agreement", "shadow"),
    ("outcome", "label_positive_rate", "labels"), ("outcome", "auc", "performance"),
    ("system", "task_failed", "system"),
])
def test_families(layer, check, family) -> None:
    assert classify(layer, check) == family


def test_change_point_alarm_is_named_as_a_trend(demo_cfg) -> None:
    rows = [row("data", "psi_cusum", "amount", 12.0, "warn", threshold=8.0, warn=None)]
    (group,) = build_groups(demo_cfg, rows)
    assert group.title == "feature drift: amount (trend alarm)"
    assert group.evidence == ("psi_cusum = 12 (warn; alert at 8)",)


def test_a_lone_modest_crossing_is_logged_until_corroborated(demo_cfg) -> None:
    lone = build_groups(demo_cfg, [row("data", "ks", "amount", 0.3, "alert")])
    assert [(g.severity, g.held_from) for g in lone] == [("log", "page")]
    assert "told once corroborated" in lone[0].summary
    two_methods = build_groups(demo_cfg, [row("data", "ks", "amount", 0.3, "alert"),
                                          row("data", "psi", "amount", 0.3, "alert")])
    assert [g.severity for g in two_methods] == ["page"]  # methods agree
    large = build_groups(demo_cfg, [row("data", "ks", "amount", 0.6, "alert")])
    assert [g.severity for g in large] == ["page"]  # twice its level: no need to wait


def test_values_beyond_the_range_of_a_drifting_feature_join_its_drift_alert(demo_cfg) -> None:
    rows = drift("device_risk", methods=("psi", "ks"), slices=("all",))
    rows.append(row("data", "out_of_range_share", "device_risk", 0.3, "alert", threshold=0.15))
    groups = build_groups(demo_cfg, rows)
    assert [(g.family, len(g.members)) for g in groups] == [("feature_drift", 3)]
    alone = build_groups(demo_cfg, [row("data", "out_of_range_share", "amount", 0.3, "alert",
                                        threshold=0.15)])
    assert [g.family for g in alone] == ["data_quality"]  # no drift: a value problem
