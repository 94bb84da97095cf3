"""Exact KS and the S3 reference on a real PostgreSQL warehouse: the same assertions as the
DuckDB/SQLite unit tests (tests/unit/test_ks_exact.py, test_reference_s3.py), on the dialect that
samples with ``md5`` and stages the parquet file through pyarrow record batches."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from modelwatch.warehouse.engine import engine_for_url
from modelwatch.warehouse.tables import create_output_tables, mw_reference_profile
from tests.unit import test_ks_exact as ks_cases
from tests.unit import test_reference_s3 as s3_cases

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(pg_url) -> str:
    """The module's database with no stored profile (each test seeds its own scenario)."""
    engine = engine_for_url(pg_url)
    create_output_tables(engine)
    with engine.begin() as conn:
        conn.execute(sa.delete(mw_reference_profile))
    return pg_url


def test_small_window_ks_is_ks_2samp_on_postgres(pg, demo_cfg, monkeypatch) -> None:
    data = ks_cases.frame()
    rows = ks_cases.run(pg, ks_cases.small_cfg(demo_cfg), data, monkeypatch)
    assert engine_for_url(pg).dialect.name == "postgresql"
    ks_cases.assert_exact_equals_scipy(rows, data)
    assert rows[("ks", "amount", "all")].details["threshold_type"] == "calibrated"


def test_grid_mode_above_the_cut_off_on_postgres(pg, demo_cfg, monkeypatch) -> None:
    rows = ks_cases.run(pg, ks_cases.small_cfg(demo_cfg, ks_exact_max_rows=150),
                        ks_cases.frame(), monkeypatch)
    assert rows[("ks", "amount", "all")].details["ks_mode"] == "grid"
    assert rows[("ks", "amount", "region=APAC")].details["ks_mode"] == "exact"


def test_s3_reference_profile_equals_the_table_profile_on_postgres(pg, demo_cfg, moto_s3,
                                                                   tmp_path, monkeypatch) -> None:
    s3_cases.assert_s3_profile_equals_table_profile(pg, demo_cfg, moto_s3, tmp_path, monkeypatch)


def test_changed_object_reprofiles_on_postgres(pg, demo_cfg, moto_s3, tmp_path,
                                               monkeypatch) -> None:
    s3_cases.assert_changed_object_reprofiles(pg, demo_cfg, moto_s3, tmp_path, monkeypatch)


def test_reference_sample_is_the_same_rows_on_postgres_and_duckdb(pg, duck_url, demo_cfg) -> None:
    from modelwatch.profile import ensure_profile
    from modelwatch.warehouse.load import load_frame

    data = ks_cases.frame(ref_per_day=450)  # more reference rows than the sample holds
    cfg = ks_cases.small_cfg(demo_cfg)
    samples = []
    for url in (pg, duck_url):
        engine = sa.create_engine(url)
        create_output_tables(engine)
        load_frame(engine, "predictions", data)
        samples.append(ensure_profile(engine, cfg, rebuild=True).sample)
        engine.dispose()
    assert samples[0]["rows"] == 5000
    assert samples[0] == samples[1]
