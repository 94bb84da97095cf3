"""DataLayerSettings: defaults keep existing monitor files valid; mistakes are named."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from modelwatch.config.data_layer import DataLayerSettings, expectation_target
from tests.unit.data_layer.tiny import tiny_cfg


def test_defaults_and_the_demo_monitor(demo_cfg) -> None:
    assert demo_cfg.data_layer == DataLayerSettings()
    assert demo_cfg.data_layer.skew.sample_rate == 0.01
    assert demo_cfg.data_layer.defaulting.numeric_constants == [0.0, -1.0]


def test_every_field_is_described() -> None:
    from modelwatch.config.docs import _models

    missing = [f"{m.__name__}.{n}" for m in _models(DataLayerSettings)
               for n, f in m.model_fields.items() if not f.description]
    assert missing == []


@pytest.mark.parametrize(("settings", "fragment"), [
    ({"skew": {"sample_rat": 0.1}}, "sample_rat"),
    ({"skew": {"sample_rate": 0}}, "greater than 0"),
    ({"great_expectations": {"expectations": [{"expectation": "ExpectColumnToExist"}]}}, "snake case"),
    ({"great_expectations": {"expectations": [
        {"expectation": "expect_column_to_exist", "kwargs": {"column": "a"}},
        {"expectation": "expect_column_to_exist", "kwargs": {"column": "a"}}]}}, "twice"),
    ({"artifacts": {"s3_bucket": "Bad_Bucket"}}, "not an S3 bucket name"),
    ({"great_expectations": {"expectations": [{"expectation": "expect_x", "severity": "urgent"}]}}, "page"),
])
def test_mistakes_are_errors(settings, fragment) -> None:
    with pytest.raises(ValidationError) as err:
        tiny_cfg(settings)
    assert fragment in str(err.value)


def test_expectation_target() -> None:
    assert expectation_target({"column": "a"}) == "a"
    assert expectation_target({"column_A": "a", "column_B": "b"}) == "a,b"
    assert expectation_target({"column_list": ["a", "b"]}) == "a,b"
    assert expectation_target({"min_value": 1}) is None
