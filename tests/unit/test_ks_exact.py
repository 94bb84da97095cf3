"""Exact KS on small windows: equal to scipy's ks_2samp on the raw values, grid KS above the
cut-off, per slice, seeded reference sample — on DuckDB and SQLite (PostgreSQL in integration/)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from scipy.stats import ks_2samp

from modelwatch.checks.drift import drift_checks
from modelwatch.profile import ensure_profile, load_profile
from modelwatch.runner import Window, step_window_checks
from modelwatch.warehouse.load import load_frame
from modelwatch.warehouse.samples import REFERENCE_SAMPLE, window_samples
from modelwatch.warehouse.tables import create_output_tables
from modelwatch.warehouse.window_stats import compute_window_stats

REF_START = datetime(2026, 9, 1)
WINDOW = Window(datetime(2026, 9, 15), datetime(2026, 9, 16))


def frame(seed: int = 7, ref_per_day: int = 200, window_rows: int = 400,
          shift: float = 0.0) -> pd.DataFrame:
    """14 reference days and one window; amount has 10 % nulls, the window's amount is shifted by
    ``shift`` standard deviations; a few rows of another model must be ignored."""
    rng = np.random.default_rng(seed)
    parts = []
    for day in range(15):
        n = window_rows if day == 14 else ref_per_day
        minutes = rng.integers(0, 1440, n)
        amount = rng.normal(50 + (10 * shift if day == 14 else 0), 10, n)
        amount[rng.random(n) < 0.1] = np.nan
        parts.append(pd.DataFrame({
            "request_id": [f"d{day}r{i}" for i in range(n)],
            "event_ts": [REF_START + timedelta(days=day, minutes=int(m)) for m in minutes],
            "model_name": np.where(rng.random(n) < 0.95, "fraud_demo", "other_model"),
            "model_version": "v1",
            "amount": amount,
            "channel": rng.choice(["web", "app", "pos"], n),
            "score": rng.beta(2, 5, n),
            "region": rng.choice(["EU", "NA", "APAC"], n, p=[0.5, 0.3, 0.2]),
        }))
    out = pd.concat(parts, ignore_index=True)
    out["prediction"] = (out["score"] >= 0.5).astype(int)
    return out


def small_cfg(demo_cfg, **drift):
    features = [demo_cfg.features[0].model_copy(update={"name": "amount"}),
                demo_cfg.features[-4].model_copy(update={"name": "channel"})]
    return demo_cfg.model_copy(update={
        "features": features, "segments": ["region"],
        "slices": demo_cfg.slices.model_copy(update={"min_rows": 50}),
        "drift": demo_cfg.drift.model_copy(update=drift),
        "data_layer": demo_cfg.data_layer.model_copy(update={"enabled": False}),
    })


def values(data: pd.DataFrame, column: str, start, end, region: str | None = None) -> np.ndarray:
    rows = data[(data.model_name == "fraud_demo") & (data.event_ts >= start)
                & (data.event_ts < end)]
    if region is not None:
        rows = rows[rows.region == region]
    return rows[column].dropna().to_numpy(dtype=float)


def run(url: str, cfg, data: pd.DataFrame, monkeypatch) -> dict:
    """The drift rows of WINDOW: through the runner's window step (the wiring), or by its parts
    on SQLite (whose string timestamps the step's other checks do not take)."""
    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", url)
    engine = sa.create_engine(url)
    create_output_tables(engine)
    load_frame(engine, "predictions", data)
    if engine.dialect.name != "sqlite":
        engine.dispose()
        rows = step_window_checks(cfg, WINDOW, "run_ks")
    else:
        profile = ensure_profile(engine, cfg)
        with engine.connect() as conn:
            stats = compute_window_stats(conn, cfg, WINDOW.start, WINDOW.end, profile.plan())
            samples = window_samples(conn, cfg, WINDOW.start, WINDOW.end, stats,
                                     profile.data["segments"])
        rows = drift_checks(cfg, stats, profile, None, samples)
        engine.dispose()
    return {(r.check_name, r.feature, r.slice): r for r in rows}


def assert_exact_equals_scipy(rows: dict, data: pd.DataFrame) -> None:
    for check, column in (("ks", "amount"), ("score_ks", "score")):
        for slice_key, region in (("all", None), ("region=EU", "EU"), ("region=APAC", "APAC")):
            row = rows[(check, column, slice_key)]
            ref = values(data, column, REF_START, WINDOW.start, region)
            cur = values(data, column, WINDOW.start, WINDOW.end, region)
            expected = ks_2samp(ref, cur)
            assert row.details["ks_mode"] == "exact", (check, slice_key, row.details)
            assert row.details["n_reference"] == ref.size  # the sample is the whole reference
            assert row.details["n_current"] == cur.size
            assert row.value == pytest.approx(expected.statistic, abs=1e-12)
            assert row.details["p_value"] == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


@pytest.fixture(params=["duckdb", "sqlite"])
def url(request, tmp_path) -> str:
    return {"duckdb": f"duckdb:///{tmp_path / 'w.duckdb'}",
            "sqlite": f"sqlite:///{tmp_path / 'w.sqlite'}"}[request.param]


def test_small_window_ks_is_ks_2samp_on_the_raw_values(url, demo_cfg, monkeypatch) -> None:
    data = frame()
    rows = run(url, small_cfg(demo_cfg), data, monkeypatch)
    assert_exact_equals_scipy(rows, data)
    # calibration keeps working: calibrated levels, never below the method's floor, no alert
    row = rows[("ks", "amount", "all")]
    assert row.details["threshold_type"] == "calibrated"
    assert row.threshold >= 0.2 and row.details["warn_threshold"] >= 0.1
    assert row.status == "ok"


def test_exact_mode_alerts_on_a_shift_with_calibrated_levels(url, demo_cfg, monkeypatch) -> None:
    rows = run(url, small_cfg(demo_cfg), frame(shift=1.0), monkeypatch)
    shifted, quiet = rows[("ks", "amount", "all")], rows[("score_ks", "score", "all")]
    assert shifted.details["ks_mode"] == quiet.details["ks_mode"] == "exact"
    assert shifted.status == "alert" and shifted.value > shifted.threshold
    assert quiet.status == "ok"


def test_grid_mode_above_the_cut_off_and_exact_for_small_slices(url, demo_cfg, monkeypatch) -> None:
    data = frame()
    rows = run(url, small_cfg(demo_cfg, ks_exact_max_rows=150), data, monkeypatch)
    whole = rows[("ks", "amount", "all")]
    assert values(data, "amount", WINDOW.start, WINDOW.end).size > 150
    assert whole.details["ks_mode"] == "grid" and "n_reference" not in whole.details
    exact = ks_2samp(values(data, "amount", REF_START, WINDOW.start),
                     values(data, "amount", WINDOW.start, WINDOW.end)).statistic
    assert whole.value <= exact + 1e-12 <= whole.value + whole.details["max_error"] + 1e-12
    for region in ("NA", "APAC"):  # under 150 values each: exact
        ref = values(data, "amount", REF_START, WINDOW.start, region)
        cur = values(data, "amount", WINDOW.start, WINDOW.end, region)
        assert cur.size <= 150
        row = rows[("ks", "amount", f"region={region}")]
        assert row.details["ks_mode"] == "exact"
        assert row.value == pytest.approx(ks_2samp(ref, cur).statistic, abs=1e-12)
    eu = values(data, "amount", WINDOW.start, WINDOW.end, "EU")
    assert rows[("ks", "amount", "region=EU")].details["ks_mode"] == (
        "exact" if eu.size <= 150 else "grid")


def test_zero_turns_exact_mode_off_and_draws_no_sample(url, demo_cfg, monkeypatch) -> None:
    cfg = small_cfg(demo_cfg, ks_exact_max_rows=0)
    rows = run(url, cfg, frame(), monkeypatch)
    ks_rows = [r for r in rows.values() if r.check_name in ("ks", "score_ks")]
    assert ks_rows and {r.details["ks_mode"] for r in ks_rows} == {"grid"}
    assert ensure_profile(sa.create_engine(url), cfg).sample is None


def test_reference_sample_is_seeded_uniform_and_capped(url, demo_cfg, monkeypatch) -> None:
    data = frame(ref_per_day=450)  # 14 × 450 × 0.95 ≈ 6000 reference rows of the model
    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", url)
    engine = sa.create_engine(url)
    create_output_tables(engine)
    load_frame(engine, "predictions", data)
    cfg = small_cfg(demo_cfg)
    first = ensure_profile(engine, cfg).sample
    again = ensure_profile(engine, cfg, rebuild=True).sample
    assert first == again  # seeded: the same rows on every computation
    assert first["rows"] == REFERENCE_SAMPLE
    ref = data[(data.model_name == "fraud_demo") & (data.event_ts < WINDOW.start)]
    assert len(ref) > REFERENCE_SAMPLE
    sampled = [v for v in first["numeric"]["score"]]
    assert set(sampled) <= set(ref["score"].astype(float))
    assert len(set(sampled)) == REFERENCE_SAMPLE  # without replacement
    # uniform: the sample's region mix and amount quantiles match the reference's
    codes = np.asarray(first["segments"]["region"])
    kept = ensure_profile(engine, cfg).data["segments"]["region"]
    for i, region in enumerate(kept):
        assert (codes == i).mean() == pytest.approx((ref.region == region).mean(), abs=0.03)
    amounts = np.asarray([v for v in first["numeric"]["amount"] if v is not None])
    assert ks_2samp(amounts, ref["amount"].dropna()).pvalue > 0.01
    engine.dispose()


def test_the_sample_is_read_from_its_column_only_when_a_window_needs_it(
        url, demo_cfg, monkeypatch) -> None:
    """A loaded profile leaves the sample in the warehouse until exact KS asks for it: a window
    above the cut-off never reads that column, a small one reads the rows that were stored."""
    data = frame()
    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", url)
    engine = sa.create_engine(url)
    create_output_tables(engine)
    load_frame(engine, "predictions", data)
    cfg = small_cfg(demo_cfg, ks_exact_max_rows=20)  # every slice of WINDOW is bigger
    stored = ensure_profile(engine, cfg).sample
    assert stored and stored["rows"] > 0
    with engine.connect() as conn:
        loaded = load_profile(conn, cfg)
    assert "sample" not in loaded.data and loaded.has_sample
    reads = []

    def spy(_conn, _cursor, statement, *_args) -> None:
        if "mw_reference_profile.sample" in statement:
            reads.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", spy)
    try:
        if not url.startswith("sqlite"):  # the runner's other checks need real timestamps
            rows = step_window_checks(cfg, WINDOW, "no-sample")
            assert {r.details["ks_mode"] for r in rows if r.check_name == "ks"} == {"grid"}
            assert reads == []
        assert loaded.sample == stored and len(reads) == 1
        assert loaded.sample == stored and len(reads) == 1  # read once
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", spy)
        engine.dispose()
