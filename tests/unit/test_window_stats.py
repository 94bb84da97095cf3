"""The SQL aggregation pass equals the same statistics computed row by row in pandas.

Run on DuckDB (the embedded default) and SQLite (the generic-dialect fallback), on a small
frame whose answers pandas computes exactly. PostgreSQL gets the same test in integration/.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from modelwatch.warehouse.load import load_frame
from modelwatch.warehouse.window_stats import compute_window_stats

START = datetime(2026, 9, 1)


def tiny_predictions(seed: int = 3, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "request_id": [f"r{i}" for i in range(n)],
        "event_ts": [START + timedelta(minutes=int(m)) for m in rng.integers(0, 3 * 1440, n)],
        "model_name": np.where(rng.random(n) < 0.9, "fraud_demo", "other_model"),
        "model_version": np.where(rng.random(n) < 0.7, "v1", "v2"),
        "amount": rng.normal(50, 10, n),
        "channel": rng.choice(["web", "app", "pos"], n),
        "score": rng.random(n),
    })
    frame.loc[rng.random(n) < 0.1, "amount"] = np.nan
    frame.loc[rng.random(n) < 0.05, "channel"] = None
    return frame


def tiny_cfg(demo_cfg):
    return demo_cfg.model_copy(update={"segments": [], "features": [
        demo_cfg.features[0].model_copy(update={"name": "amount"}),
        demo_cfg.features[-4].model_copy(update={"name": "channel"}),
    ]})


@pytest.fixture(params=["duckdb", "sqlite"])
def engine(request, tmp_path):
    url = {"duckdb": f"duckdb:///{tmp_path / 'w.duckdb'}",
           "sqlite": f"sqlite:///{tmp_path / 'w.sqlite'}"}[request.param]
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()


def expected_stats(frame: pd.DataFrame, start, end, edges: list[float]) -> dict:
    w = frame[(frame.model_name == "fraud_demo") & (frame.event_ts >= start)
              & (frame.event_ts < end)]
    amount = w["amount"].dropna()
    bins = np.searchsorted(np.array(edges), amount.to_numpy(), side="right")
    return {
        "rows": len(w),
        "non_null_amount": int(w["amount"].notna().sum()),
        "mean": amount.mean(), "std": amount.std(ddof=1),
        "min": amount.min(), "max": amount.max(),
        "bins": np.bincount(bins, minlength=len(edges) + 1).tolist(),
        "channels": w["channel"].dropna().value_counts().to_dict(),
        "versions": w["model_version"].value_counts().to_dict(),
        "max_ts": w["event_ts"].max(),
    }


def test_window_stats_match_pandas(engine, demo_cfg) -> None:
    frame = tiny_predictions()
    load_frame(engine, "predictions", frame)
    cfg = tiny_cfg(demo_cfg)
    start, end = START + timedelta(days=1), START + timedelta(days=2)
    edges = [40.0, 45.0, 50.0, 55.0, 60.0]
    with engine.connect() as conn:
        stats = compute_window_stats(conn, cfg, start, end, {"amount": edges, "score": [0.5]})
    want = expected_stats(frame, start, end, edges)
    got = stats.numeric["amount"]
    assert stats.rows == want["rows"] > 100
    assert stats.non_null["amount"] == want["non_null_amount"]
    assert got.mean == pytest.approx(want["mean"], rel=1e-9)
    assert got.std == pytest.approx(want["std"], rel=1e-6)
    assert (got.minimum, got.maximum) == pytest.approx((want["min"], want["max"]))
    assert got.bins == want["bins"]
    assert stats.categories["channel"] == want["channels"]
    assert stats.versions == want["versions"]
    assert pd.Timestamp(stats.max_event_ts) == want["max_ts"]
    assert sum(stats.numeric["score"].bins) == want["rows"]


def test_empty_window_gives_zero_rows_not_an_error(engine, demo_cfg) -> None:
    load_frame(engine, "predictions", tiny_predictions())
    with engine.connect() as conn:
        stats = compute_window_stats(conn, tiny_cfg(demo_cfg), datetime(2030, 1, 1),
                                     datetime(2030, 1, 2), {"amount": [1.0], "score": [0.5]})
    assert stats.rows == 0
    assert stats.null_rate("amount") is None
    assert stats.numeric["amount"].mean is None
