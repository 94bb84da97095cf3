"""NaN and ±inf in a numeric feature are read like NULL by every drift method, moment and sample
(one NaN once aborted the window in exact KS), on DuckDB and on the real PostgreSQL server.

The same rows are stored twice: with NULL, and with NaN/±inf in those places. Profile and window
must give the same rows; the data layer still counts the non-finite values on its own
(``non_finite_share``, read from the raw column).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from modelwatch.config.schema import MonitorConfig
from modelwatch.warehouse.engine import engine_for_url
from modelwatch.warehouse.load import load_frame
from modelwatch.window import Window
from tests.monitors import small_monitor


def _cfg() -> MonitorConfig:
    return small_monitor([("x", "numeric")], datetime(2026, 3, 1), datetime(2026, 3, 8))


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 9 * 1500
    ts = pd.Timestamp("2026-03-01") + pd.to_timedelta(rng.uniform(0, 9 * 86400, n), unit="s")
    x = rng.normal(size=n)
    x[rng.random(n) < 0.05] = np.nan  # missing in the reference and in the window
    return pd.DataFrame({"request_id": [f"r{i}" for i in range(n)], "event_ts": ts,
                         "model_name": "m", "model_version": "v1", "score": rng.random(n), "x": x})


def _run(url: str, monkeypatch, special: bool) -> dict:
    from modelwatch.runner import step_profile, step_window_checks

    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", url)
    engine = engine_for_url(url)
    with engine.begin() as conn:
        for t in ("predictions", "mw_reference_profile", "mw_metric"):
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {t}"))
    load_frame(engine, "predictions", _frame())
    if special:  # the NULLs become NaN, +inf and -inf, by request id
        with engine.begin() as conn:
            for remainder, value in ((0, "NaN"), (1, "Infinity"), (2, "-Infinity")):
                conn.execute(sa.text(
                    f"UPDATE predictions SET x = CAST('{value}' AS DOUBLE PRECISION) WHERE x IS NULL "
                    f"AND CAST(SUBSTRING(request_id, 2) AS INTEGER) % 3 = {remainder}"))
            assert conn.execute(sa.text("SELECT count(*) FROM predictions WHERE x IS NULL")).scalar() == 0
    cfg = _cfg()
    step_profile(cfg, rebuild=True)
    rows = step_window_checks(cfg, Window(datetime(2026, 3, 9), datetime(2026, 3, 10)), "t")
    return {(r.check_name, r.feature, r.slice): (r.value, r.status) for r in rows}


@pytest.fixture(params=["duckdb", "postgresql"])
def url(request, tmp_path):
    return (f"duckdb:///{tmp_path / 'w.duckdb'}" if request.param == "duckdb"
            else request.getfixturevalue("pg_url"))


def test_non_finite_values_count_as_missing_in_every_window_check(url, monkeypatch):
    with_null = _run(url, monkeypatch, special=False)
    with_nan = _run(url, monkeypatch, special=True)
    assert with_nan.keys() == with_null.keys()
    assert ("ks", "x", "all") in with_nan and ("psi", "x", "all") in with_nan
    for key, (value, status) in with_null.items():
        other_value, other_status = with_nan[key]
        assert other_status == status, key
        if value is None:
            assert other_value is None, key
        else:
            assert other_value == pytest.approx(value, rel=1e-9, abs=1e-12), key
    assert all(v is None or np.isfinite(v) for v, _ in with_nan.values())
