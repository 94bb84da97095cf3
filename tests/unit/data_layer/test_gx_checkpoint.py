"""Great Expectations for real: a Checkpoint on the window in DuckDB, Data Docs locally and on S3.

PostgreSQL runs the same Checkpoint in tests/integration/test_data_layer.py.
"""

from __future__ import annotations

import boto3
import pytest
import sqlalchemy as sa

from modelwatch.data_layer import run_data_layer
from modelwatch.data_layer.errors import GreatExpectationsError
from modelwatch.data_layer.gx.dialect import gx_url
from modelwatch.warehouse.catalog import live_columns
from modelwatch.warehouse.tables import mw_metric
from tests.unit.data_layer.tiny import AS_OF, WINDOW, metric, rows, seed, tiny_cfg

GX_ON = {"enabled": True, "unexpected_sample": 3}


def gx_cfg(**extra):
    return tiny_cfg({"great_expectations": {**GX_ON, **extra.pop("gx", {})}, **extra})


def test_plain_duckdb_engine_loses_results_the_buffered_dialect_keeps(tmp_path) -> None:
    """Why gx/dialect.py exists: GX reads results after the connection went back to the pool."""
    url = f"duckdb:///{tmp_path / 'd.duckdb'}"
    for engine_url, expected in ((url, []), (gx_url(url), [(1,)])):
        engine = sa.create_engine(engine_url)
        with engine.connect() as conn:
            result = conn.execute(sa.text("SELECT 1"))
        assert result.fetchall() == expected, engine_url
        engine.dispose()


def test_checkpoint_in_duckdb_writes_rows_and_data_docs(duck, tmp_path) -> None:
    window = rows(8, 60)
    window.loc[:5, "amount"] = 1000.0  # 10 % out of the range allowed for 95 % of values
    window.loc[6:8, "channel"] = "fax"
    profile = seed(duck, window)
    cfg = gx_cfg(gx={"expectations": [{"expectation": "expect_column_max_to_be_between", "severity": "page",
                                       "kwargs": {"column": "visits", "min_value": 0, "max_value": 3}}]})
    result = run_data_layer(duck, cfg, profile, WINDOW, "gx1", tmp_path / "art", as_of=AS_OF)
    between = metric(result, "expect_column_values_to_be_between", "amount")
    assert (between.status, between.value) == ("warn", 0.1)
    assert between.details["unexpected_sample"] == [1000.0, 1000.0, 1000.0]
    in_set = metric(result, "expect_column_values_to_be_in_set", "channel")
    assert in_set.value == 3 / 60 and in_set.status == "warn"  # 5 % > the 1 % allowed
    user = metric(result, "expect_column_max_to_be_between", "visits")
    assert (user.status, user.value, user.threshold) == ("alert", 4.0, 3.0)
    assert metric(result, "expect_column_values_to_be_unique", "request_id").status == "ok"
    assert metric(result, "expect_table_row_count_to_be_between").value == 60.0
    docs = between.details["data_docs"]["local"]
    index = tmp_path / "art" / "data_docs" / "tiny" / "20260112T000000_20260113T000000" / "index.html"
    assert docs == index.as_uri() and index.exists()
    assert list(index.parent.glob("validations/**/*.html"))
    with duck.connect() as conn:
        stored = conn.execute(sa.select(mw_metric.c.check_name).where(
            mw_metric.c.check_name.like("expect%"))).scalars().all()
        views = [t for t in conn.execute(sa.text("SELECT table_name FROM information_schema.tables"))
                 .scalars() if t.startswith("mw_gx_")]
    assert len(stored) == len([r for r in result if r.check_name.startswith("expect")]) > 10
    assert views == []  # the window view is dropped


def test_an_expectation_gx_cannot_evaluate_raises_and_writes_nothing(duck, tmp_path) -> None:
    profile = seed(duck)
    regex = {"expectation": "expect_column_values_to_match_regex",
             "kwargs": {"column": "channel", "regex": "^w"}}
    cfg = gx_cfg(gx={"generated": False, "expectations": [regex]})
    with pytest.raises(GreatExpectationsError) as err:
        run_data_layer(duck, cfg, profile, WINDOW, "gx2", tmp_path, as_of=AS_OF)
    assert "expect_column_values_to_match_regex on channel" in str(err.value)
    assert "Regex is not supported for dialect duckdb" in str(err.value)
    with duck.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(mw_metric)).scalar_one() == 0
        assert "mw_gx_" not in " ".join(live_columns(conn, "predictions") or {})


def test_unknown_expectation_and_bad_kwargs_are_named(duck, tmp_path) -> None:
    profile = seed(duck)
    cases = [({"expectation": "expect_the_moon"}, "unknown GX expectation 'expect_the_moon'"),
             ({"expectation": "expect_column_to_exist", "kwargs": {"colum": "a"}}, "rejects kwargs")]
    for spec, fragment in cases:
        cfg = gx_cfg(gx={"generated": False, "expectations": [spec]})
        with pytest.raises(GreatExpectationsError, match=fragment):
            run_data_layer(duck, cfg, profile, WINDOW, "gx3", tmp_path, as_of=AS_OF)


def test_empty_window_still_validates(duck, tmp_path) -> None:
    profile = seed(duck, rows(8, 0))
    result = run_data_layer(duck, gx_cfg(), profile, WINDOW, "gx4", tmp_path, as_of=AS_OF)
    count = metric(result, "expect_table_row_count_to_be_between")
    assert (count.status, count.value, count.threshold) == ("warn", 0.0, 30.0)


@pytest.fixture
def s3(moto_s3):
    boto3.client("s3", endpoint_url=moto_s3).create_bucket(Bucket="mw-docs")
    return moto_s3


def test_data_docs_reach_s3(duck, tmp_path, s3) -> None:
    profile = seed(duck)
    cfg = gx_cfg(artifacts={"s3_bucket": "mw-docs", "s3_prefix": "dd", "s3_endpoint_url": s3})
    result = run_data_layer(duck, cfg, profile, WINDOW, "gx5", tmp_path, as_of=AS_OF)
    uri = metric(result, "expect_table_row_count_to_be_between").details["data_docs"]["s3"]
    assert uri == "s3://mw-docs/dd/tiny/20260112T000000_20260113T000000/index.html"
    client = boto3.client("s3", endpoint_url=s3)
    listed = client.list_objects_v2(Bucket="mw-docs", Prefix="dd/tiny/")
    keys = [o["Key"] for o in listed["Contents"]]
    assert "dd/tiny/20260112T000000_20260113T000000/index.html" in keys
    assert any("/validations/" in k for k in keys)
    index = client.get_object(Bucket="mw-docs", Key="dd/tiny/20260112T000000_20260113T000000/index.html")
    assert index["ContentType"] == "text/html" and b"tiny_data_layer" in index["Body"].read()


def test_an_unreachable_s3_is_a_transient_error(duck, tmp_path, monkeypatch) -> None:
    from modelwatch.data_layer.artifacts import ArtifactStoreUnavailable

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    profile = seed(duck)
    cfg = gx_cfg(artifacts={"s3_bucket": "mw-docs", "s3_endpoint_url": "http://127.0.0.1:9",
                            "s3_region": "us-east-1"})
    with pytest.raises(ArtifactStoreUnavailable) as err:
        run_data_layer(duck, cfg, profile, WINDOW, "gx6", tmp_path, as_of=AS_OF)
    assert err.value.terminal is False
