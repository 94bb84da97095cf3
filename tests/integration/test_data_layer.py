"""The data layer on the demo scenario, end to end, on the embedded DuckDB and on PostgreSQL.

The demo's pipeline bug serves ``avg_amount_30d`` as 0 on days 30-32 while the offline feature
store keeps the true value. The data layer must name it — as silent defaulting and as skew — on
exactly those days, and on no other day; GX must validate every window in the warehouse.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from modelwatch.data_layer import run_data_layer
from modelwatch.demo import scenario
from modelwatch.profile import ensure_profile
from modelwatch.runner import Window
from modelwatch.warehouse.engine import engine_for_url
from modelwatch.warehouse.tables import create_output_tables, mw_metric

DAYS = range(28, 34)
GX_DAYS = (30, 33)  # GX costs ~2-3 s of Python per window: a bug day and a clean day keep the file short
FLAGGED = ("warn", "alert")


@pytest.fixture(scope="module")
def data():
    return scenario.generate(rows_per_day=2000, days=33)


def without_gx(cfg):
    gx = cfg.data_layer.great_expectations.model_copy(update={"enabled": False})
    return cfg.model_copy(update={"data_layer": cfg.data_layer.model_copy(update={"great_expectations": gx})})


def run_days(url: str, data, cfg, artifacts, gx_days=GX_DAYS) -> dict[int, list]:
    engine = engine_for_url(url)
    create_output_tables(engine)
    scenario.seed_warehouse(engine, data)
    profile = ensure_profile(engine, cfg)
    as_of = scenario.day_of(34)
    results = {}
    for day in DAYS:
        window = Window(scenario.day_of(day), scenario.day_of(day) + timedelta(days=1))
        day_cfg = cfg if day in gx_days else without_gx(cfg)
        results[day] = run_data_layer(engine, day_cfg, profile, window, f"demo_{day}", artifacts, as_of=as_of)
    return results


@pytest.fixture(scope="module")
def duck_results(data, demo_cfg, tmp_path_factory):
    root = tmp_path_factory.mktemp("duck")
    return run_days(f"duckdb:///{root / 'warehouse.duckdb'}", data, demo_cfg, root, GX_DAYS), root


def flagged(rows, check: str) -> set[str]:
    return {r.feature for r in rows if r.check_name == check and r.status in FLAGGED}


def assert_bug_caught_on_its_days_only(results, gx_days=GX_DAYS) -> None:
    for day, rows in results.items():
        bug = day in scenario.BUG_DAYS
        expected = {scenario.BUG_FEATURE} if bug else set()
        assert flagged(rows, "silent_default_share") == expected, day
        assert flagged(rows, "skew_mismatch_rate") == expected, day
        assert bool(flagged(rows, "skew_vector_mismatch_rate")) == bug, day
        if bug:
            row = next(r for r in rows if r.check_name == "silent_default_share"
                       and r.feature == scenario.BUG_FEATURE)
            assert row.status == "alert" and row.details["value"] == 0.0
            assert "avg_amount_30d silently defaulted to 0 in 100.0% of rows" in row.details["message"]
        for check in ("schema", "volume_vs_weekday", "duplicate_request_id_share", "future_event_rows",
                      "non_finite_share", "skew_missing_share"):
            assert flagged(rows, check) == set(), (day, check)
        gx_rows = [r for r in rows if r.check_name.startswith("expect_")]
        if day in gx_days:
            assert len(gx_rows) > 40 and all("data_docs" in r.details for r in gx_rows), day


def test_demo_on_duckdb(duck_results) -> None:
    results, root = duck_results
    assert_bug_caught_on_its_days_only(results)
    assert not (root / "data_docs" / "fraud_demo" / "20260928T000000_20260929T000000").exists()
    assert (root / "data_docs" / "fraud_demo" / "20260930T000000_20261001T000000" / "index.html").exists()


@pytest.mark.postgres
def test_demo_on_postgres_matches_duckdb(pg_url, data, demo_cfg, duck_results, tmp_path) -> None:
    results = run_days(pg_url, data, demo_cfg, tmp_path)
    assert_bug_caught_on_its_days_only(results)
    engine = engine_for_url(pg_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(mw_metric).where(
            mw_metric.c.layer == "data")).scalar_one()
        views = conn.execute(sa.text("SELECT count(*) FROM information_schema.views "
                                     "WHERE table_name LIKE 'mw_gx_%'")).scalar_one()
    assert stored == sum(len(r) for r in results.values()) and views == 0
    # the same numbers on the embedded warehouse: the sample hash and every count are portable
    duck, _ = duck_results
    for day in GX_DAYS:
        pg_rows = {(r.check_name, r.feature): r for r in results[day]}
        duck_rows = {(r.check_name, r.feature): r for r in duck[day]}
        assert pg_rows.keys() == duck_rows.keys()
        for key, row in pg_rows.items():
            other = duck_rows[key]
            assert row.status == other.status, (day, key)
            if row.value is None:
                assert other.value is None, (day, key)
            else:
                assert row.value == pytest.approx(other.value, rel=1e-9, abs=1e-12), (day, key)
