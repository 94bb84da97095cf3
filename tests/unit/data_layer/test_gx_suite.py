"""The generated suite and the result → row mapping, without running GX."""

from __future__ import annotations

from modelwatch.data_layer.gx.results import result_row
from modelwatch.data_layer.gx.suite import ExpectationSpec, build_suite
from modelwatch.profile import Profile
from tests.unit.data_layer.tiny import tiny_cfg

LIVE = {"request_id": "VARCHAR", "event_ts": "TIMESTAMP", "model_name": "VARCHAR",
        "model_version": "VARCHAR", "amount": "DOUBLE", "visits": "DOUBLE", "channel": "VARCHAR",
        "score": "DOUBLE", "prediction": "BIGINT"}
PROFILE = Profile("tiny", "k", {
    "numeric": {"amount": {"null_rate": 0.02, "percentiles": {"p1": 10.0, "p99": 30.0}},
                "visits": {"null_rate": 0.0, "percentiles": {"p1": 0.0, "p99": 4.0}}},
    "categorical": {"channel": {"null_rate": 0.0, "categories": ["web", "app", "pos"], "cardinality": 3}},
    "windows": [],
})


def by_key(specs):
    return {(s.type, s.target): s for s in specs}


def test_generated_suite_from_the_profile() -> None:
    specs = by_key(build_suite(tiny_cfg(), PROFILE, LIVE, set(), expected_rows=100))
    assert specs[("expect_column_values_to_be_between", "amount")].kwargs == {
        "column": "amount", "min_value": 5.0, "max_value": 35.0, "mostly": 0.95}  # margin 0.25 × 20
    assert specs[("expect_column_values_to_not_be_null", "amount")].kwargs["mostly"] == 0.93
    in_set = specs[("expect_column_values_to_be_in_set", "channel")]
    assert in_set.kwargs["value_set"] == ["app", "pos", "web"]
    assert specs[("expect_table_row_count_to_be_between", None)].kwargs == {"min_value": 50, "max_value": 150}
    assert ("expect_column_values_to_be_unique", "request_id") in specs
    assert ("expect_column_to_exist", "prediction") in specs


def test_broken_columns_keep_only_their_existence_check() -> None:
    specs = by_key(build_suite(tiny_cfg(), PROFILE, LIVE, {"amount"}, expected_rows=None))
    assert ("expect_column_to_exist", "amount") in specs
    assert not [k for k in specs if k[1] == "amount" and k[0] != "expect_column_to_exist"]
    assert ("expect_table_row_count_to_be_between", None) not in specs


def test_user_expectations_replace_generated_ones_and_carry_severity() -> None:
    cfg = tiny_cfg({"great_expectations": {"enabled": True, "expectations": [
        {"expectation": "expect_column_values_to_be_between", "severity": "page",
         "kwargs": {"column": "amount", "min_value": 0, "max_value": 1000}},
        {"expectation": "expect_column_values_to_match_like_pattern", "severity": "log",
         "kwargs": {"column": "channel", "like_pattern": "%b%"}}]}})
    specs = by_key(build_suite(cfg, PROFILE, LIVE, set(), None))
    between = specs[("expect_column_values_to_be_between", "amount")]
    assert (between.origin, between.severity, between.kwargs["max_value"]) == ("user", "page", 1000)
    assert specs[("expect_column_values_to_match_like_pattern", "channel")].severity == "log"


def test_result_rows() -> None:
    spec = ExpectationSpec("expect_column_values_to_be_between", {"column": "amount", "mostly": 0.95}, "page")
    failed = result_row(spec, False, {"unexpected_percent": 10.0, "unexpected_count": 6, "element_count": 60,
                                      "partial_unexpected_list": [1000.0] * 30}, sample=3)
    assert (failed.check_name, failed.feature, failed.status) == ("expect_column_values_to_be_between",
                                                                  "amount", "alert")
    assert failed.value == 0.1 and abs(failed.threshold - 0.05) < 1e-12
    assert failed.details["unexpected_sample"] == [1000.0] * 3
    assert "10.00% unexpected (allowed 5.00%)" in failed.details["message"]
    rows = ExpectationSpec("expect_table_row_count_to_be_between", {"min_value": 50, "max_value": 150},
                           "notify")
    low = result_row(rows, False, {"observed_value": 20}, sample=3)
    assert (low.value, low.threshold, low.status, low.feature) == (20.0, 50.0, "warn", None)
    logged = result_row(ExpectationSpec("expect_column_to_exist", {"column": "x"}, "log"), False, {}, 3)
    assert (logged.status, logged.value, logged.details["failed"]) == ("ok", 1.0, True)
