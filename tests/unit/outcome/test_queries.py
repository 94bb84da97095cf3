"""The outcome SQL on a tiny embedded warehouse whose answers are known by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from modelwatch.outcome.binary import realized_metrics
from modelwatch.outcome.cells import Cells
from modelwatch.outcome.intervals import rng_for
from modelwatch.outcome.queries import fetch_cells, fetch_kpis, fetch_label_stats, joined
from modelwatch.warehouse.load import load_frame

D = datetime(2026, 9, 10)
AS_OF = D + timedelta(days=5)
SEGMENTS = {"region": ["EU", "NA"], "customer_tier": ["gold"]}


def h(hours: float) -> datetime:
    return D + timedelta(hours=hours)


@pytest.fixture
def engine(duck_url):
    preds = pd.DataFrame({
        "request_id": ["r1", "r2", "r3", "r4", "r5", "r6", "x1", "x2"],
        "event_ts": [h(1), h(2), h(3), h(4), h(5), h(6), h(7), h(30)],
        "model_name": ["fraud_demo"] * 6 + ["other", "fraud_demo"],
        "model_version": "v1",
        "score": [0.9, 0.2, 0.7, 0.1, 0.6, 0.3, 0.5, 0.5],
        "region": ["EU", "EU", "NA", "NA", "APAC", "EU", "EU", "EU"],
        "customer_tier": ["gold", "std", "std", "std", "gold", "std", "std", "std"],
    })
    labels = pd.DataFrame({
        "request_id": ["r1", "r2", "r2", "r3", "r4", "r5", "x1"],
        "label": [1, 0, 1, 0, 0, 1, 1],
        "label_ts": [h(11), h(12), h(50), h(23), h(24), AS_OF + timedelta(hours=1), h(10)],
    })
    kpis = pd.DataFrame({"ts": [h(0), h(0), h(0), h(24)], "kpi": ["approval", "approval", "ctr", "ctr"],
                         "value": [0.9, 0.7, 0.1, 0.2], "segment": ["all", "EU", "all", "all"]})
    eng = sa.create_engine(duck_url)
    for name, frame in (("predictions", preds), ("labels", labels), ("kpis", kpis)):
        load_frame(eng, name, frame)
    yield eng
    eng.dispose()


def test_join_as_of_with_duplicates_reported(engine, demo_cfg) -> None:
    with engine.connect() as conn:
        source = joined(demo_cfg, D, D + timedelta(days=1), AS_OF, SEGMENTS)
        stats = fetch_label_stats(conn, source, [D])[0]
        cells = fetch_cells(conn, demo_cfg, source, [D], SEGMENTS)
    # r1..r6 are this model's rows in the window; r5's label lands after as_of; r2 has two
    assert (stats.rows, stats.labelled) == (6, 4)
    assert (stats.duplicated, stats.conflicting) == (1, 1)
    # delays (h): r1 10, r2 48 (its newest label), r3 20, r4 20 -> p50 20, p95 by interpolation
    assert stats.delay_p50_hours == pytest.approx(20.0)
    assert stats.delay_p95_hours == pytest.approx(np.percentile([10, 48, 20, 20], 95))
    assert stats.newest_label_ts == h(50)
    whole = cells[(0, "all")]
    assert (whole.n_rows, whole.n_labelled, whole.n_positives) == (6, 4, 2)  # r2 joined to label 1
    # labelled: r1 0.9+, r2 0.2+, r3 0.7-, r4 0.1-: pairs right = (0.9>0.7, 0.9>0.1, 0.2>0.1) = 3/4
    m = realized_metrics(whole, demo_cfg.outcome.model_copy(update={"min_class_rows": 1}),
                         rng_for(0, "t"))
    assert m["roc_auc"].value == pytest.approx(0.75)


def test_slices_are_grouping_sets_and_sum_to_the_whole(engine, demo_cfg) -> None:
    with engine.connect() as conn:
        source = joined(demo_cfg, D, D + timedelta(days=1), AS_OF, SEGMENTS)
        cells = fetch_cells(conn, demo_cfg, source, [D], SEGMENTS)
    rows = {key: c.n_rows for (_, key), c in cells.items()}
    assert rows == {"all": 6, "region=EU": 3, "region=NA": 2, "region=__other__": 1,
                    "customer_tier=gold": 2, "customer_tier=__other__": 4}


def test_sql_cells_equal_numpy_cells(engine, demo_cfg) -> None:
    with engine.connect() as conn:
        source = joined(demo_cfg, D, D + timedelta(days=1), AS_OF, {})
        sql = fetch_cells(conn, demo_cfg, source, [D], {})[(0, "all")]
    scores = [0.9, 0.2, 0.7, 0.1, 0.6, 0.3]
    labels = [1, 1, 0, 0, np.nan, np.nan]
    ref = Cells.from_scores(scores, labels, demo_cfg.outcome)
    for name in ("fine_bin", "decision", "ece_bin", "rows", "labelled", "positives"):
        np.testing.assert_array_equal(getattr(sql, name), getattr(ref, name), err_msg=name)
    for name in ("score_sum", "log_loss_sum", "log_loss_sq", "brier_sum", "brier_sq"):
        np.testing.assert_allclose(getattr(sql, name), getattr(ref, name), atol=1e-10,
                                   err_msg=name)


def test_windows_split_in_sql(engine, demo_cfg) -> None:
    starts = [D, D + timedelta(hours=4)]
    with engine.connect() as conn:
        source = joined(demo_cfg, D, D + timedelta(hours=8), AS_OF, {})
        stats = fetch_label_stats(conn, source, starts)
    assert (stats[0].rows, stats[1].rows) == (3, 3)  # r1-r3 before 04:00, r4-r6 after


def test_kpis_by_window_and_segment(engine, demo_cfg) -> None:
    starts = [D, D + timedelta(days=1)]
    with engine.connect() as conn:
        kpis = fetch_kpis(conn, demo_cfg, starts, D + timedelta(days=2))
    first = {(k["kpi"], k["segment"]): k["mean"] for k in kpis[0]}
    assert first == {("approval", "all"): 0.9, ("approval", "EU"): 0.7, ("ctr", "all"): 0.1}
    assert [(k["kpi"], k["mean"]) for k in kpis[1]] == [("ctr", 0.2)]
