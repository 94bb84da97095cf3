"""Regression and multiclass monitors through ``run_outcome`` on DuckDB and PostgreSQL.

A synthetic month per task (800 predictions a day in three regions, labels arriving within five
days, ``labels.delay`` 7 days, reference = days 1–14). From day 15 the regression model
over-predicts by 1.5 and the multiclass model serves a wrong class for 30 % of requests. Run as of
the end of day 26: days up to 19 are mature and get realized rows; their values are checked
against the same metric computed in NumPy from the generated frames.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from modelwatch.metrics import MetricRow
from modelwatch.outcome import run_outcome
from modelwatch.runner import Window
from modelwatch.warehouse.engine import engine_for_url
from modelwatch.warehouse.load import load_frame
from modelwatch.warehouse.tables import create_output_tables, mw_metric, mw_reference_profile
from tests.unit.outcome.task_configs import task_config

START = datetime(2026, 9, 1)
DAYS, RUN_DAY, SHIFT_DAY, PER_DAY = 30, 26, 15, 800
CLASSES = ["a", "b", "c"]


def day_of(day: int) -> datetime:
    return START + timedelta(days=day - 1)


def configure(cfg):
    return cfg.model_copy(update={
        "labels": cfg.labels.model_copy(update={"delay": timedelta(days=7)}),
        "slices": cfg.slices.model_copy(update={"min_rows": 100}),
        "outcome": cfg.outcome.model_copy(update={"lookback_windows": 30})})


def regression_cfg():
    return configure(task_config("regression", score="predicted", prediction=None))


def multiclass_cfg():
    return configure(task_config("multiclass", score=["p_a", "p_b", "p_c"], classes=CLASSES,
                                 prediction="served"))


def frames(task: str, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = DAYS * PER_DAY
    day = np.repeat(np.arange(1, DAYS + 1), PER_DAY)
    ts = (pd.Timestamp(START) + pd.to_timedelta(day - 1, unit="D")
          + pd.to_timedelta(rng.uniform(0, 86_399, n), unit="s")).to_numpy()
    region = rng.choice(["EU", "NA", "LATAM"], size=n, p=[0.56, 0.40, 0.04])
    preds = pd.DataFrame({"request_id": [f"q{i}" for i in range(n)], "event_ts": ts,
                          "model_name": f"{task}_demo", "model_version": "v1",
                          "region": region, "amount": rng.gamma(2.0, 30.0, n)})
    shifted = day >= SHIFT_DAY
    if task == "regression":
        y = 10 + 0.1 * preds["amount"].to_numpy() + rng.normal(0, 2, n)
        y[rng.random(n) < 0.02] = 0.0  # zero targets: left out of MAPE
        preds["predicted"] = y + rng.normal(0, 1.5, n) + np.where(shifted, 1.5, 0.0)
        label = y
    else:
        truth = rng.integers(0, 3, n)
        logits = rng.normal(0, 1, (n, 3))
        logits[np.arange(n), truth] += 2.0
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        served = probs.argmax(axis=1)
        wrong = shifted & (rng.random(n) < 0.3)
        served[wrong] = (truth[wrong] + 1) % 3
        for i, k in enumerate(CLASSES):
            preds[f"p_{k}"] = probs[:, i]
        preds["served"] = np.array(CLASSES)[served]
        label = np.array(CLASSES)[truth]
    has = rng.random(n) < 0.95
    labels = pd.DataFrame({"request_id": preds["request_id"][has].to_numpy(), "label": label[has],
                           "label_ts": ts[has] + pd.to_timedelta(rng.uniform(0, 5 * 86_400,
                                                                             has.sum()), unit="s")})
    return preds, labels


def seed(url: str, preds: pd.DataFrame, labels: pd.DataFrame) -> sa.Engine:
    engine = engine_for_url(url)
    create_output_tables(engine)
    load_frame(engine, "predictions", preds)
    load_frame(engine, "labels", labels)
    return engine


def as_of_run() -> Window:
    return Window(day_of(RUN_DAY), day_of(RUN_DAY + 1))


def keyed(rows: list[MetricRow]) -> dict[tuple[int, str, str], MetricRow]:
    return {((datetime.fromisoformat(r.details["window_start"]) - START).days + 1, r.check_name,
             r.slice): r for r in rows}


def labelled_day(preds: pd.DataFrame, labels: pd.DataFrame, day: int) -> pd.DataFrame:
    """The day's predictions joined to the labels arrived by the run's end (numpy's view)."""
    as_of = day_of(RUN_DAY + 1)
    p = preds[(preds.event_ts >= day_of(day)) & (preds.event_ts < day_of(day + 1))]
    return p.merge(labels[labels.label_ts <= as_of], on="request_id", validate="one_to_one")


def stored(engine: sa.Engine, model: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(mw_metric).where(
            mw_metric.c.model_name == model, mw_metric.c.layer == "outcome")).scalar_one()


@pytest.fixture(scope="module")
def regression_data():
    return frames("regression")


@pytest.fixture(scope="module")
def multiclass_data():
    return frames("multiclass")


@pytest.fixture(scope="module")
def duck_regression(regression_data, tmp_path_factory):
    engine = seed(f"duckdb:///{tmp_path_factory.mktemp('reg') / 'w.duckdb'}", *regression_data)
    return engine, run_outcome(engine, regression_cfg(), as_of_run(), "reg_26")


@pytest.fixture(scope="module")
def duck_multiclass(multiclass_data, tmp_path_factory):
    engine = seed(f"duckdb:///{tmp_path_factory.mktemp('mc') / 'w.duckdb'}", *multiclass_data)
    return engine, run_outcome(engine, multiclass_cfg(), as_of_run(), "mc_26")


def test_regression_monitor_on_duckdb(duck_regression, regression_data) -> None:
    engine, rows = duck_regression
    preds, labels = regression_data
    assert stored(engine, "regression_demo") == len(rows)
    rows_by = keyed(rows)
    for day in (5, 12, 16, 19):  # mature: realized values equal NumPy's on the same join
        j = labelled_day(preds, labels, day)
        e = j.predicted.to_numpy() - j.label.to_numpy()
        nz = j.label.to_numpy() != 0
        assert rows_by[(day, "mae", "all")].value == pytest.approx(np.abs(e).mean(), rel=1e-12)
        assert rows_by[(day, "rmse", "all")].value == pytest.approx(np.sqrt((e**2).mean()),
                                                                    rel=1e-12)
        assert rows_by[(day, "bias", "all")].value == pytest.approx(e.mean(), rel=1e-9)
        assert rows_by[(day, "mape", "all")].value == pytest.approx(
            (np.abs(e[nz]) / np.abs(j.label.to_numpy()[nz])).mean(), rel=1e-12)
        assert rows_by[(day, "mape", "all")].details["zero_label_rows"] == int((~nz).sum())
        assert rows_by[(day, "label_mean", "all")].value == pytest.approx(j.label.mean())
        for check in ("mae", "rmse", "bias", "mape"):
            r = rows_by[(day, check, "all")]
            assert r.details["ci_low"] < r.value < r.details["ci_high"], (day, check)
            assert r.details["reference_mature"] is True and r.details["judged"] is True
    # the over-prediction from day 15 is judged against the reference's error
    for day in range(5, 15):
        assert rows_by[(day, "mae", "all")].status == "ok", day
        assert rows_by[(day, "bias", "all")].status == "ok", day
    for day in range(SHIFT_DAY, 20):
        assert rows_by[(day, "mae", "all")].status == "alert", day
        assert rows_by[(day, "bias", "all")].status == "alert", day
    # the target itself did not drift
    assert all(rows_by[(d, "label_mean", "all")].status == "ok" for d in range(5, 20))
    # immature days: skipped with the date they mature
    late = rows_by[(22, "mae", "all")]
    assert late.status == "skipped" and "not mature" in late.details["reason"]
    # slices: EU/NA judged, the small LATAM slice gated with the reason
    assert rows_by[(10, "rmse", "region=EU")].value is not None
    latam = rows_by[(10, "rmse", "region=LATAM")]
    assert latam.status == "skipped" and "fewer than slices.min_rows=100" in latam.details["reason"]
    # a rerun writes identical rows
    again = run_outcome(engine, regression_cfg(), as_of_run(), "reg_26_again")
    assert again == rows and stored(engine, "regression_demo") == len(rows)


def test_multiclass_monitor_on_duckdb(duck_multiclass, multiclass_data) -> None:
    from sklearn.metrics import accuracy_score, f1_score, log_loss

    engine, rows = duck_multiclass
    preds, labels = multiclass_data
    assert stored(engine, "multiclass_demo") == len(rows)
    rows_by = keyed(rows)
    for day in (5, 17):
        j = labelled_day(preds, labels, day)
        y, p = j.label.to_numpy(), j.served.to_numpy()
        assert rows_by[(day, "accuracy", "all")].value == pytest.approx(accuracy_score(y, p))
        assert rows_by[(day, "macro_f1", "all")].value == pytest.approx(
            f1_score(y, p, average="macro"))
        assert rows_by[(day, "weighted_f1", "all")].value == pytest.approx(
            f1_score(y, p, average="weighted"))
        assert rows_by[(day, "log_loss", "all")].value == pytest.approx(
            log_loss(y, j[["p_a", "p_b", "p_c"]].to_numpy(), labels=CLASSES), rel=1e-10)
    for day in range(5, 15):
        assert rows_by[(day, "accuracy", "all")].status == "ok", day
        assert rows_by[(day, "macro_f1", "all")].status == "ok", day
    for day in range(SHIFT_DAY, 20):
        assert rows_by[(day, "accuracy", "all")].status == "alert", day
        assert rows_by[(day, "macro_f1", "all")].status == "alert", day
    # log loss is on the probabilities, and the class mix on the labels: the served-class bug
    # touches neither
    assert all(rows_by[(d, "log_loss", "all")].status == "ok" for d in range(5, 20))
    mix = [rows_by[(d, "label_class_mix", "all")] for d in range(5, 20)]
    assert all(r.status == "ok" and r.details["judged"] for r in mix)
    assert all(r.value < 0.1 for r in mix)
    latam = rows_by[(10, "macro_f1", "region=LATAM")]
    assert latam.status == "skipped" and "fewer than slices.min_rows=100" in latam.details["reason"]
    again = run_outcome(engine, multiclass_cfg(), as_of_run(), "mc_26_again")
    assert again == rows


@pytest.mark.postgres
def test_postgres_gives_the_same_numbers(pg_url, regression_data, multiclass_data,
                                         duck_regression, duck_multiclass) -> None:
    for cfg, data, (_, duck_rows) in ((regression_cfg(), regression_data, duck_regression),
                                      (multiclass_cfg(), multiclass_data, duck_multiclass)):
        engine = seed(pg_url, *data)
        assert engine.dialect.name == "postgresql"
        with engine.begin() as conn:  # other tests seed other data into this database
            for table in (mw_reference_profile, mw_metric):
                conn.execute(sa.delete(table).where(table.c.model_name == cfg.model.name))
        pg_rows = run_outcome(engine, cfg, as_of_run(), "pg_26")
        assert stored(engine, cfg.model.name) == len(pg_rows)
        assert run_outcome(engine, cfg, as_of_run(), "pg_26_again") == pg_rows  # identical
        duck, pg = keyed(duck_rows), keyed(pg_rows)
        assert set(pg) == set(duck)
        checks = ("mae", "rmse", "mape", "bias", "label_mean", "accuracy", "macro_f1",
                  "weighted_f1", "log_loss")
        compared = 0
        for key, row in duck.items():
            if key[1] not in checks:
                continue
            other = pg[key]
            assert other.status == row.status, key
            if row.value is None:
                assert other.value is None and other.details["reason"] == row.details["reason"]
                continue
            # sums are exact decimals on both, but each dialect rounds a per-row double to the
            # decimal its own way (PostgreSQL keeps 15 significant digits): agreement to ~1e-13
            assert other.value == pytest.approx(row.value, rel=1e-12, abs=1e-12), key
            for side in ("ci_low", "ci_high"):
                assert other.details[side] == pytest.approx(row.details[side], rel=1e-9), key
            if key[1] in ("accuracy", "macro_f1", "weighted_f1"):  # counts: exactly equal
                assert (other.value, other.details["ci_low"]) == (row.value,
                                                                  row.details["ci_low"]), key
            compared += 1
        assert compared > 40
