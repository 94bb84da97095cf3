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
from modelwatch.warehouse.window_stats import OTHER, StatsPlan, bin_expression, compute_window_stats

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
        "region": rng.choice(["EU", "NA", "APAC"], n),
    })
    frame["prediction"] = (frame["score"] >= 0.5).astype(int)
    frame.loc[rng.random(n) < 0.1, "amount"] = np.nan
    frame.loc[rng.random(n) < 0.05, "channel"] = None
    return frame


def tiny_cfg(demo_cfg):
    return demo_cfg.model_copy(update={"segments": ["region"], "features": [
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


def expected_stats(frame: pd.DataFrame, start, end, edges: list[float], region=None) -> dict:
    w = frame[(frame.model_name == "fraud_demo") & (frame.event_ts >= start)
              & (frame.event_ts < end)]
    if region is not None:
        w = w[w.region == region]
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
    plan = StatsPlan(edges={"amount": edges, "score": [0.5]}, categories=None,
                     segments={"region": ["EU", "NA"]})
    with engine.connect() as conn:
        stats = compute_window_stats(conn, cfg, start, end, plan)
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
    w = frame[(frame.model_name == "fraud_demo") & (frame.event_ts >= start) & (frame.event_ts < end)]
    confidence = np.maximum(w.score, 1 - w.score)
    assert stats.whole.mean_confidence("score") == pytest.approx(confidence.mean(), rel=1e-9)
    assert stats.whole.high_confidence_share("score") == pytest.approx((confidence >= 0.9).mean())
    assert stats.categories["prediction"] == {str(k): int(v) for k, v in
                                               w.prediction.value_counts().items()}
    # slices: kept values, the rest folded into __other__, each equal to pandas on that subset
    assert set(stats.slices) == {"all", "region=EU", "region=NA", f"region={OTHER}"}
    eu = expected_stats(frame, start, end, edges, region="EU")
    got_eu = stats.slices["region=EU"]
    assert got_eu.rows == eu["rows"] > 10
    assert got_eu.numeric["amount"].bins == eu["bins"]
    assert got_eu.numeric["amount"].mean == pytest.approx(eu["mean"], rel=1e-9)
    assert got_eu.categories["channel"] == eu["channels"]
    assert stats.slices[f"region={OTHER}"].rows == expected_stats(
        frame, start, end, edges, region="APAC")["rows"]


def test_categories_outside_the_kept_set_fold_into_other(engine, demo_cfg) -> None:
    frame = tiny_predictions()
    load_frame(engine, "predictions", frame)
    plan = StatsPlan(edges={"amount": [50.0], "score": [0.5]}, categories={"channel": ["web"]})
    with engine.connect() as conn:
        stats = compute_window_stats(conn, tiny_cfg(demo_cfg), START, START + timedelta(days=3),
                                     plan)
    w = frame[frame.model_name == "fraud_demo"]
    assert stats.categories["channel"] == {
        "web": int((w.channel == "web").sum()),
        OTHER: int(w.channel.isin(["app", "pos"]).sum())}


@pytest.mark.parametrize("n_edges", [1, 2, 7, 99])
def test_bin_tree_matches_numpy_searchsorted(engine, n_edges) -> None:
    rng = np.random.default_rng(n_edges)
    edges = sorted(rng.normal(size=n_edges).round(3).tolist())
    values = np.concatenate([rng.normal(size=300), edges]).round(3)  # include exact edge values
    load_frame(engine, "v", pd.DataFrame({"x": values}))
    tbl = sa.table("v", sa.column("x"))
    with engine.connect() as conn:
        got = [int(b) for b in conn.execute(sa.select(bin_expression(tbl.c.x, edges))).scalars()]
    assert got == np.searchsorted(edges, values, side="right").tolist()


def test_empty_window_gives_zero_rows_not_an_error(engine, demo_cfg) -> None:
    load_frame(engine, "predictions", tiny_predictions())
    with engine.connect() as conn:
        stats = compute_window_stats(conn, tiny_cfg(demo_cfg), datetime(2030, 1, 1),
                                     datetime(2030, 1, 2),
                                     StatsPlan({"amount": [1.0], "score": [0.5]}, None,
                                               {"region": ["EU"]}))
    assert stats.rows == 0
    assert stats.null_rate("amount") is None
    assert stats.numeric["amount"].mean is None


@pytest.fixture(params=["duckdb", "postgresql"])
def grid_engine(request, tmp_path):
    """The two dialects that bin through the profile's grid (``count_at_most`` over cells)."""
    if request.param == "duckdb":
        engine = sa.create_engine(f"duckdb:///{tmp_path / 'w.duckdb'}")
    else:
        from modelwatch.warehouse.engine import engine_for_url

        engine = engine_for_url(request.getfixturevalue("pg_url"))
    yield engine
    engine.dispose()


def _grid_frame(n: int = 4000, seed: int = 11) -> pd.DataFrame:
    """Values with ties, exact edge hits and a long tail, plus a 3,000-category column."""
    rng = np.random.default_rng(seed)
    frame = tiny_predictions(seed, n)
    frame["amount"] = np.round(rng.lognormal(3, 1, n), 1)  # ties, tail far beyond the grid
    frame.loc[rng.random(n) < 0.05, "amount"] = np.nan
    frame["channel"] = [f"m{k}" for k in rng.zipf(1.3, n) % 3000]
    return frame


def test_grid_binning_and_moments_equal_numpy(grid_engine, demo_cfg) -> None:
    """The two-level grid path (cells over rows, bins over cells) gives exactly numpy's bins on
    the profile's snapped edges, and moments summed over bins equal the column's, per slice."""
    from modelwatch.profile import _grid

    frame = _grid_frame()
    load_frame(grid_engine, "predictions", frame)
    cfg = tiny_cfg(demo_cfg)
    start, end = START, START + timedelta(days=3)
    mine = frame[(frame.model_name == "fraud_demo") & (frame.event_ts >= start)
                 & (frame.event_ts < end)]
    amount = mine["amount"].dropna()
    cuts = np.quantile(amount, [0.005, *(i / 100 for i in range(1, 100)), 0.995]).tolist()
    edges, _, _, grid = _grid(cfg, cuts)
    assert grid and len(edges) > 20
    top = mine["channel"].value_counts().index[:50].tolist()
    plan = StatsPlan(edges={"amount": edges, "score": [0.5]}, categories={"channel": top,
                                                                          "prediction": ["0", "1"]},
                     segments={"region": ["EU", "NA"]}, grids={"amount": grid})
    with grid_engine.connect() as conn:
        stats = compute_window_stats(conn, cfg, start, end, plan)
    for key, subset in [("all", mine), ("region=EU", mine[mine.region == "EU"]),
                        (f"region={OTHER}", mine[~mine.region.isin(["EU", "NA"])])]:
        got = stats.slices[key].numeric["amount"]
        values = subset["amount"].dropna().to_numpy()
        want_bins = np.bincount(np.searchsorted(edges, values, side="right"),
                                minlength=len(edges) + 1).tolist()
        assert got.bins == want_bins, key
        assert stats.slices[key].non_null["amount"] == values.size
        assert got.mean == pytest.approx(values.mean(), rel=1e-12)
        assert got.std == pytest.approx(values.std(ddof=1), rel=1e-9)
        assert (got.minimum, got.maximum) == (values.min(), values.max())
        channels = subset["channel"].value_counts()
        want = {str(k): int(v) for k, v in channels.items() if k in top}
        if (other := int(channels[~channels.index.isin(top)].sum())):
            want[OTHER] = other
        assert stats.slices[key].categories["channel"] == want, key
        assert stats.slices[key].non_null["channel"] == int(subset["channel"].notna().sum())
    assert stats.null_rate("amount") == pytest.approx(mine["amount"].isna().mean())


@pytest.mark.parametrize("thresholds", [[], [0], [3, 8, 12], list(range(0, 2049, 7)),
                                        [-0.5, 0.25, 3.0, 12.000000000000002, 1e300]])
def test_count_at_most_is_searchsorted_right(grid_engine, thresholds) -> None:
    from modelwatch.warehouse.dialects import count_at_most

    cells = list(range(-1, 2049))
    load_frame(grid_engine, "cells", pd.DataFrame({"cell": cells}))
    tbl = sa.table("cells", sa.column("cell"))
    with grid_engine.connect() as conn:
        got = dict(conn.execute(sa.select(tbl.c.cell, count_at_most(tbl.c.cell, thresholds)))
                   .tuples().all())
    assert [got[c] for c in cells] == np.searchsorted(thresholds, cells, side="right").tolist()
