"""A reference profile from a parquet file in S3 (a real moto server on loopback) equals the
profile of the same rows in a reference table; the ETag decides between reuse and re-profiling.

DuckDB here (``read_parquet``); PostgreSQL (pyarrow record batches) in
integration/test_postgres_reference.py with the same helpers.
"""

from __future__ import annotations

import boto3
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from modelwatch.errors import ContractError, ReferenceError_
from modelwatch.profile import ensure_profile, profile_key
from modelwatch.runner import step_window_checks
from modelwatch.warehouse import s3_reference
from modelwatch.warehouse.load import load_frame
from modelwatch.warehouse.tables import create_output_tables, mw_reference_profile
from tests.unit.test_ks_exact import WINDOW, frame, small_cfg

BUCKET = "mw-reference"
KEY = "fraud_demo/v1/reference.parquet"


def reference_rows(data: pd.DataFrame) -> pd.DataFrame:
    return data[data.event_ts < WINDOW.start].reset_index(drop=True)


def upload(endpoint: str, rows: pd.DataFrame, tmp_path, *, key: str = KEY, tz: bool = True) -> str:
    """Write ``rows`` as parquet (event_ts tz-aware UTC, small row groups) and upload it."""
    rows = rows.copy()
    if tz:
        rows["event_ts"] = pd.to_datetime(rows["event_ts"]).dt.tz_localize("UTC")
    path = tmp_path / "upload.parquet"
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), path, row_group_size=500)
    client = boto3.client("s3", endpoint_url=endpoint)
    client.upload_file(str(path), BUCKET, key)
    return client.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')


def s3_cfg(demo_cfg, endpoint: str, key: str = KEY):
    cfg = small_cfg(demo_cfg)
    return cfg.model_copy(update={"reference": cfg.reference.model_validate(
        {"s3_uri": f"s3://{BUCKET}/{key}", "s3_endpoint_url": endpoint, "s3_region": "us-east-1",
         "model_version": "v1"})})


def table_cfg(demo_cfg):
    cfg = small_cfg(demo_cfg)
    return cfg.model_copy(update={"reference": cfg.reference.model_validate(
        {"table": "reference_rows", "model_version": "v1"})})


def seed(url: str, data: pd.DataFrame) -> sa.Engine:
    engine = sa.create_engine(url)
    create_output_tables(engine)
    load_frame(engine, "predictions", data)
    load_frame(engine, "reference_rows", reference_rows(data))
    return engine


def without_source(profile) -> dict:
    return {k: v for k, v in profile.data.items() if k != "source"}


def count_downloads(monkeypatch) -> list:
    calls = []
    real = s3_reference.download

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(s3_reference, "download", counting)
    return calls


def assert_s3_profile_equals_table_profile(url, demo_cfg, moto_s3, tmp_path, monkeypatch) -> None:
    boto3.client("s3", endpoint_url=moto_s3).create_bucket(Bucket=BUCKET)
    data = frame()
    etag = upload(moto_s3, reference_rows(data), tmp_path)
    engine = seed(url, data)
    downloads = count_downloads(monkeypatch)
    from_s3 = ensure_profile(engine, s3_cfg(demo_cfg, moto_s3))
    from_table = ensure_profile(engine, table_cfg(demo_cfg))
    assert from_s3.data["source"] == {"s3_uri": f"s3://{BUCKET}/{KEY}", "etag": etag}
    assert without_source(from_s3) == without_source(from_table)
    assert from_s3.data["rows"] == int((reference_rows(data).model_name == "fraud_demo").sum())
    assert len(downloads) == 1
    # the staging table is gone, and the window's checks agree with the table reference's
    assert not sa.inspect(engine).has_table(s3_reference.STAGE_TABLE)
    engine.dispose()
    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", url)
    by_s3 = {(r.check_name, r.feature, r.slice): (r.value, r.status)
             for r in step_window_checks(s3_cfg(demo_cfg, moto_s3), WINDOW, "s3")}
    by_table = {(r.check_name, r.feature, r.slice): (r.value, r.status)
                for r in step_window_checks(table_cfg(demo_cfg), WINDOW, "table")}
    assert by_s3 == by_table and by_s3[("ks", "amount", "all")][0] is not None
    assert len(downloads) == 1  # the runs reused the stored profile


def assert_changed_object_reprofiles(url, demo_cfg, moto_s3, tmp_path, monkeypatch) -> None:
    boto3.client("s3", endpoint_url=moto_s3).create_bucket(Bucket=BUCKET)
    data = frame()
    rows = reference_rows(data)
    first_etag = upload(moto_s3, rows, tmp_path)
    engine = seed(url, data)
    downloads = count_downloads(monkeypatch)
    cfg = s3_cfg(demo_cfg, moto_s3)
    first = ensure_profile(engine, cfg)
    assert ensure_profile(engine, cfg).profile_key == first.profile_key
    assert len(downloads) == 1  # unchanged: reused, not downloaded again
    fewer = rows.iloc[: len(rows) // 2]
    second_etag = upload(moto_s3, fewer, tmp_path)
    assert second_etag != first_etag
    second = ensure_profile(engine, cfg)
    assert len(downloads) == 2
    assert second.profile_key == profile_key(cfg) != first.profile_key
    assert second.data["source"]["etag"] == second_etag
    assert second.data["rows"] == int((fewer.model_name == "fraud_demo").sum()) < first.data["rows"]
    with engine.connect() as conn:
        keys = set(conn.execute(sa.select(mw_reference_profile.c.profile_key)).scalars())
    assert {first.profile_key, second.profile_key} <= keys
    engine.dispose()


def test_s3_reference_profile_equals_the_table_profile(duck_url, demo_cfg, moto_s3, tmp_path,
                                                        monkeypatch) -> None:
    assert_s3_profile_equals_table_profile(duck_url, demo_cfg, moto_s3, tmp_path, monkeypatch)


def test_changed_object_reprofiles_unchanged_reuses(duck_url, demo_cfg, moto_s3, tmp_path,
                                                    monkeypatch) -> None:
    assert_changed_object_reprofiles(duck_url, demo_cfg, moto_s3, tmp_path, monkeypatch)


def test_missing_object_or_column_is_a_terminal_error(duck_url, demo_cfg, moto_s3, tmp_path) -> None:
    boto3.client("s3", endpoint_url=moto_s3).create_bucket(Bucket=BUCKET)
    data = frame()
    engine = seed(duck_url, data)
    with pytest.raises(ReferenceError_, match="no such object.*Fix:") as info:
        ensure_profile(engine, s3_cfg(demo_cfg, moto_s3, key="nope/reference.parquet"))
    assert info.value.terminal
    upload(moto_s3, reference_rows(data).drop(columns=["amount"]), tmp_path, key="thin.parquet")
    with pytest.raises(ContractError, match=r"no column\(s\) \['amount'\].*Fix:"):
        ensure_profile(engine, s3_cfg(demo_cfg, moto_s3, key="thin.parquet"))
    engine.dispose()
