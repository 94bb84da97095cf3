"""Regression performance through the SQL path on a tiny embedded warehouse, against scikit-learn."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from scipy.stats import norm
from sklearn.metrics import (
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
)

from modelwatch.outcome import window_rows
from modelwatch.outcome.queries import LabelStats, joined
from modelwatch.outcome.reference import OutcomeReference
from modelwatch.outcome.regression import (
    RegressionSums,
    fetch_regression,
    label_mean,
    regression_metrics,
)
from modelwatch.outcome.windows import EvalWindow
from modelwatch.warehouse.load import load_frame
from tests.unit.outcome.task_configs import task_config

D = datetime(2026, 9, 10)
AS_OF = D + timedelta(days=20)
SEGMENTS = {"region": ["EU", "NA"]}
PRED = [3.0, 5.5, 2.0, 8.0, 0.5, 4.0, 7.0, 1.0, 6.0]
LABEL = [2.5, 5.0, 0.0, 10.0, 1.0, 3.0, 7.5, 2.0, np.nan]  # r9 unlabelled, r3 label 0
REGION = ["EU", "EU", "EU", "EU", "EU", "NA", "NA", "APAC", "EU"]
Z = norm.ppf(0.975)


@pytest.fixture(scope="module")
def cfg():
    return task_config("regression", score="predicted_value")


@pytest.fixture
def engine(duck_url, cfg):
    n = len(PRED)
    preds = pd.DataFrame({"request_id": [f"r{i}" for i in range(1, n + 1)],
                          "event_ts": [D + timedelta(hours=i) for i in range(n)],
                          "model_name": "regression_demo", "model_version": "v1",
                          "predicted_value": PRED, "region": REGION, "amount": 1.0})
    lab = [i for i in range(n) if not math.isnan(LABEL[i])]
    labels = pd.DataFrame({"request_id": [f"r{i + 1}" for i in lab],
                           "label": [LABEL[i] for i in lab],
                           "label_ts": [D + timedelta(days=1)] * len(lab)})
    eng = sa.create_engine(duck_url)
    load_frame(eng, "predictions", preds)
    load_frame(eng, "labels", labels)
    yield eng
    eng.dispose()


def fetch(engine, cfg, segments=SEGMENTS):
    with engine.connect() as conn:
        source = joined(cfg, D, D + timedelta(days=1), AS_OF, segments)
        return fetch_regression(conn, cfg, source, [D], segments)


def labelled(mask=None):
    y, p = np.array(LABEL), np.array(PRED)
    keep = ~np.isnan(y) if mask is None else (~np.isnan(y)) & mask
    return p[keep], y[keep]


def test_sql_sums_equal_numpy_sums(engine, cfg) -> None:
    sums = fetch(engine, cfg, {})[(0, "all")]
    expected = RegressionSums.from_arrays(PRED, LABEL)
    for name, value in vars(expected).items():
        assert getattr(sums, name) == pytest.approx(value, abs=1e-10), name
    assert (sums.n_rows, sums.n_labelled, int(sums.nonzero)) == (9, 8, 7)


def test_metrics_equal_scikit_learn(engine, cfg) -> None:
    sums = fetch(engine, cfg)[(0, "all")]
    m = regression_metrics(sums, cfg.outcome, gate=1, setting="outcome.min_labelled_rows")
    p, y = labelled()
    assert m["mae"].value == pytest.approx(mean_absolute_error(y, p), abs=1e-12)
    assert m["rmse"].value == pytest.approx(math.sqrt(mean_squared_error(y, p)), abs=1e-12)
    assert m["bias"].value == pytest.approx(np.mean(p - y), abs=1e-12)
    nz = y != 0  # MAPE leaves out the zero label; scikit-learn would divide by eps there
    assert m["mape"].value == pytest.approx(mean_absolute_percentage_error(y[nz], p[nz]),
                                            abs=1e-12)
    assert m["mape"].details["zero_label_rows"] == 1
    # normal interval on the mean of |e|: mean ± z·sd/√n
    e = p - y
    half = Z * np.std(np.abs(e), ddof=1) / math.sqrt(len(e))
    assert (m["mae"].low, m["mae"].high) == pytest.approx(
        (np.mean(np.abs(e)) - half, np.mean(np.abs(e)) + half), abs=1e-10)
    # RMSE: delta method on the MSE
    rmse = math.sqrt(np.mean(e**2))
    half = Z * np.std(e**2, ddof=1) / math.sqrt(len(e)) / (2 * rmse)
    assert (m["rmse"].low, m["rmse"].high) == pytest.approx((rmse - half, rmse + half), abs=1e-10)
    assert m["bias"].low < m["bias"].value < m["bias"].high
    mean = label_mean(sums, 0.95)
    assert mean.value == pytest.approx(np.mean(y)) and mean.details["std"] == pytest.approx(
        np.std(y, ddof=1))


def test_slices_match_scikit_learn_per_slice(engine, cfg) -> None:
    sums = fetch(engine, cfg)
    assert {k for _, k in sums} == {"all", "region=EU", "region=NA", "region=__other__"}
    eu = sums[(0, "region=EU")]
    p, y = labelled(np.array(REGION) == "EU")
    m = regression_metrics(eu, cfg.outcome, gate=1, setting="slices.min_rows")
    assert (eu.n_rows, eu.n_labelled) == (6, 5)
    assert m["mae"].value == pytest.approx(mean_absolute_error(y, p), abs=1e-12)
    assert m["rmse"].value == pytest.approx(math.sqrt(mean_squared_error(y, p)), abs=1e-12)


def test_slice_below_the_gate_is_skipped_with_the_reason(engine, cfg) -> None:
    small = cfg.model_copy(update={
        "slices": cfg.slices.model_copy(update={"min_rows": 3}),
        "outcome": cfg.outcome.model_copy(update={"min_labelled_rows": 5})})
    sums = fetch(engine, small)
    w = EvalWindow(0, D, D + timedelta(days=1), AS_OF, timedelta(days=10))
    ref = OutcomeReference({"mature": True, "slices": {}})
    stats = LabelStats(rows=9, labelled=8)
    rows = window_rows(small, w, {k: v for (_, k), v in sums.items()}, stats, ref, None)
    keyed = {(r.check_name, r.slice): r for r in rows}
    na = keyed[("mae", "region=NA")]  # 2 labelled rows
    assert na.status == "skipped"
    assert na.details["reason"] == "2 labelled rows, fewer than slices.min_rows=3"
    assert keyed[("rmse", "region=EU")].status == "ok"
    assert keyed[("mae", "all")].value == pytest.approx(mean_absolute_error(*labelled()[::-1]))
    assert keyed[("mae", "all")].details["judged"] is False  # no reference value


def test_judged_against_the_reference_on_a_share_of_its_error(engine, cfg) -> None:
    sums = {k: v for (_, k), v in fetch(engine, cfg, {}).items()}
    w = EvalWindow(0, D, D + timedelta(days=1), AS_OF, timedelta(days=10))
    gate = cfg.model_copy(update={"outcome": cfg.outcome.model_copy(
        update={"min_labelled_rows": 5})})
    mae = sums["all"].abs_err_sum / sums["all"].labelled  # 1.0
    assert mae == pytest.approx(1.0)
    # a reference MAE of 0.3 with a tight interval: the window's 1.0 is +233 % → alert
    ref = OutcomeReference({"mature": True, "slices": {"all": {"metrics": {
        "mae": {"value": 0.3, "low": 0.29, "high": 0.31},
        "bias": {"value": 0.0, "low": -0.01, "high": 0.01}}}}})
    rows = {r.check_name: r for r in window_rows(gate, w, sums, LabelStats(9, 8), ref, None)}
    row = rows["mae"]
    assert row.value == pytest.approx(mae)
    assert row.status == "alert" and row.details["levels_relative_to"] == "reference mae"
    assert row.threshold == pytest.approx(0.3 * 1.25)
    assert rows["bias"].details["higher_is_better"] is None  # two-sided
    assert rows["rmse"].details["judged"] is False  # no reference rmse


def test_label_mean_drift_in_reference_standard_deviations(engine, cfg) -> None:
    sums = {k: v for (_, k), v in fetch(engine, cfg, {}).items()}
    w = EvalWindow(0, D, D + timedelta(days=1), AS_OF, timedelta(days=10))
    small = cfg.model_copy(update={"outcome": cfg.outcome.model_copy(
        update={"min_labelled_rows": 5})})
    _, y = labelled()

    def row(mean, std):
        ref = OutcomeReference({"mature": True, "slices": {"all": {
            "label_mean": {"value": mean, "low": mean, "high": mean, "std": std}}}})
        return next(r for r in window_rows(small, w, sums, LabelStats(9, 8), ref, None)
                    if r.check_name == "label_mean")

    far = row(20.0, 4.0)
    assert far.value == pytest.approx(y.mean())
    assert far.details["standardized_change"] == pytest.approx((y.mean() - 20.0) / 4.0)
    assert far.details["standardized_change_lower_bound"] == pytest.approx(
        (20.0 - far.details["ci_high"]) / 4.0)
    assert far.status == "alert" and far.threshold == pytest.approx(20.0 - 0.25 * 4.0)
    assert row(y.mean(), 4.0).status == "ok"


def test_sums_that_overflow_the_decimal_are_a_terminal_contract_error(duck_url, cfg) -> None:
    from modelwatch.errors import ContractError

    preds = pd.DataFrame({"request_id": ["a", "b"], "event_ts": [D, D + timedelta(hours=1)],
                          "model_name": "regression_demo", "model_version": "v1",
                          "predicted_value": [1e7, 2.0], "region": "EU", "amount": 1.0})
    labels = pd.DataFrame({"request_id": ["a", "b"], "label": [0.0, 1.0],
                           "label_ts": [D + timedelta(days=1)] * 2})
    eng = sa.create_engine(duck_url)
    load_frame(eng, "predictions", preds)
    load_frame(eng, "labels", labels)
    with pytest.raises(ContractError, match="overflow NUMERIC") as info:
        fetch(eng, cfg, {})
    assert info.value.terminal
    eng.dispose()
