"""A ranking monitor through ``run_outcome`` on DuckDB and PostgreSQL.

A synthetic month (400 requests a day in three regions, 6 candidate items each from a catalogue
of 400, k = 3). Each candidate has a latent relevance; the user clicks (relevance 1) or buys
(relevance 2) with a probability rising with it, and only those labels are logged, within five
days. The model scores latent relevance plus noise; from day 15 the noise is four times larger,
so the ranking degrades. Reference = days 1–14, ``labels.delay`` 7 days, run as of the end of
day 26: mature days get realized rows, checked against scikit-learn's ``ndcg_score`` and AP@k /
recall@k computed in NumPy from the generated frames. The seeding, run window and row keys are
the regression/multiclass test's (``test_outcome_tasks``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.metrics import ndcg_score

from modelwatch.config.outcome import RankingSettings
from modelwatch.outcome import run_outcome
from modelwatch.warehouse.tables import mw_metric, mw_reference_profile
from tests.integration.test_outcome_tasks import (
    DAYS,
    RUN_DAY,
    SHIFT_DAY,
    START,
    as_of_run,
    configure,
    day_of,
    keyed,
    seed,
    stored,
)
from tests.unit.outcome.task_configs import task_config

REQUESTS_PER_DAY, CANDIDATES, CATALOGUE, K = 400, 6, 400, 3
CHECKS = ("ndcg_at_k", "map_at_k", "recall_at_k", "catalog_coverage_at_k")


def ranking_cfg():
    cfg = configure(task_config("ranking", item="item", prediction=None))
    return cfg.model_copy(update={"outcome": cfg.outcome.model_copy(
        update={"ranking": RankingSettings(k=K)})})


def ranking_frames(seed_: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed_)
    n_req = DAYS * REQUESTS_PER_DAY
    day = np.repeat(np.arange(1, DAYS + 1), REQUESTS_PER_DAY)
    ts = (pd.Timestamp(START) + pd.to_timedelta(day - 1, unit="D")
          + pd.to_timedelta(rng.uniform(0, 86_399, n_req), unit="s")).to_numpy()
    region = rng.choice(["EU", "NA", "LATAM"], size=n_req, p=[0.56, 0.40, 0.04])
    popularity = 1 / np.arange(1, CATALOGUE + 1) ** 0.7
    items = np.stack([rng.choice(CATALOGUE, CANDIDATES, replace=False, p=popularity
                                 / popularity.sum()) for _ in range(n_req)])
    latent = rng.normal(0, 1, (n_req, CANDIDATES))
    noise = np.where((day >= SHIFT_DAY)[:, None], 2.0, 0.5)
    score = latent + rng.normal(0, 1, latent.shape) * noise
    p_click = 1 / (1 + np.exp(-(2 * latent - 2.5)))
    click = rng.random(latent.shape) < p_click
    relevance = np.where(click & (rng.random(latent.shape) < 0.3), 2.0, 1.0)
    rid = np.repeat([f"q{i}" for i in range(n_req)], CANDIDATES)
    preds = pd.DataFrame({
        "request_id": rid, "item": [f"i{v}" for v in items.ravel()],
        "event_ts": np.repeat(ts, CANDIDATES), "model_name": "ranking_demo",
        "model_version": "v1", "score": score.ravel(), "region": np.repeat(region, CANDIDATES),
        "amount": rng.gamma(2.0, 30.0, rid.size)})
    has = click.ravel()
    label_ts = preds.event_ts[has].to_numpy() + pd.to_timedelta(
        rng.uniform(0, 5 * 86_400, has.sum()), unit="s").to_numpy()
    labels = pd.DataFrame({"request_id": rid[has], "item": preds.item[has].to_numpy(),
                           "label": relevance.ravel()[has], "label_ts": label_ts})
    return preds, labels


def coverage_day(preds: pd.DataFrame, day: int) -> float:
    p = preds[(preds.event_ts >= day_of(day)) & (preds.event_ts < day_of(day + 1))]
    top = p.sort_values("score", ascending=False).groupby("request_id").head(K)
    return top.item.nunique() / p.item.nunique()


def expected_day(preds: pd.DataFrame, labels: pd.DataFrame, day: int) -> dict[str, float]:
    """The day's metrics in NumPy / scikit-learn, on the labels arrived by the run's end."""
    as_of = day_of(RUN_DAY + 1)
    p = preds[(preds.event_ts >= day_of(day)) & (preds.event_ts < day_of(day + 1))]
    lab = labels[labels.label_ts <= as_of]
    j = p.merge(lab[["request_id", "item", "label"]], on=["request_id", "item"], how="left",
                validate="one_to_one")
    ndcg, ap, recall = [], [], []
    for _, g in j.groupby("request_id"):
        if g.label.isna().all():
            continue  # no labelled item: not in the sample
        g = g.sort_values("score", ascending=False)
        rel = g.label.fillna(0.0).to_numpy()
        r = (rel > 0).sum()
        if r == 0:
            continue
        ndcg.append(ndcg_score([rel], [g.score.to_numpy()], k=K))
        hit = rel[:K] > 0
        precision = np.cumsum(hit) / np.arange(1, hit.size + 1)
        ap.append((precision * hit).sum() / min(K, r))
        recall.append(hit.sum() / r)
    return {"ndcg_at_k": np.mean(ndcg), "map_at_k": np.mean(ap), "recall_at_k": np.mean(recall),
            "catalog_coverage_at_k": coverage_day(preds, day), "n": len(ndcg)}


@pytest.fixture(scope="module")
def ranking_data():
    return ranking_frames()


@pytest.fixture(scope="module")
def duck_ranking(ranking_data, tmp_path_factory):
    engine = seed(f"duckdb:///{tmp_path_factory.mktemp('rank') / 'w.duckdb'}", *ranking_data)
    return engine, run_outcome(engine, ranking_cfg(), as_of_run(), "rank_26")


def test_ranking_monitor_on_duckdb(duck_ranking, ranking_data) -> None:
    engine, rows = duck_ranking
    preds, labels = ranking_data
    assert stored(engine, "ranking_demo") == len(rows)
    rows_by = keyed(rows)
    for day in (5, 12, 16, 19):
        expected = expected_day(preds, labels, day)
        for check in CHECKS:
            row = rows_by[(day, check, "all")]
            assert row.value == pytest.approx(expected[check], rel=1e-9), (day, check)
            assert row.details["reference_mature"] is True and row.details["judged"] is True
        for check in CHECKS[:3]:
            r = rows_by[(day, check, "all")]
            assert r.details["relevant_requests"] == expected["n"]
            assert r.details["ci_low"] < r.value < r.details["ci_high"], (day, check)
    # the noisier ranking from day 15 is judged against the reference's own NDCG and MAP
    for day in range(5, 15):
        assert rows_by[(day, "ndcg_at_k", "all")].status == "ok", day
        assert rows_by[(day, "map_at_k", "all")].status == "ok", day
    for day in range(SHIFT_DAY, 20):
        assert rows_by[(day, "ndcg_at_k", "all")].status == "alert", day
        assert rows_by[(day, "map_at_k", "all")].status == "alert", day
    # catalog coverage grows with traffic: the reference's is the mean of its days' coverage
    reference_days = [coverage_day(preds, d) for d in range(1, SHIFT_DAY)]
    cover = rows_by[(10, "catalog_coverage_at_k", "all")]
    assert cover.details["reference"] == pytest.approx(np.mean(reference_days), rel=1e-12)
    assert all(rows_by[(d, "catalog_coverage_at_k", "all")].status == "ok" for d in range(5, 15))
    late = rows_by[(22, "ndcg_at_k", "all")]
    assert late.status == "skipped" and "not mature" in late.details["reason"]
    assert rows_by[(10, "recall_at_k", "region=EU")].value is not None
    latam = rows_by[(10, "recall_at_k", "region=LATAM")]
    assert latam.status == "skipped"
    assert "labelled requests (with at least one labelled item), fewer than slices.min_rows=100" \
        in latam.details["reason"]
    again = run_outcome(engine, ranking_cfg(), as_of_run(), "rank_26_again")
    assert again == rows and stored(engine, "ranking_demo") == len(rows)


@pytest.mark.postgres
def test_postgres_gives_the_same_ranking_numbers(pg_url, ranking_data, duck_ranking) -> None:
    cfg = ranking_cfg()
    engine = seed(pg_url, *ranking_data)
    assert engine.dialect.name == "postgresql"
    with engine.begin() as conn:  # other tests seed other data into this database
        for table in (mw_reference_profile, mw_metric):
            conn.execute(sa.delete(table).where(table.c.model_name == cfg.model.name))
    pg_rows = run_outcome(engine, cfg, as_of_run(), "pg_rank_26")
    assert stored(engine, cfg.model.name) == len(pg_rows)
    assert run_outcome(engine, cfg, as_of_run(), "pg_rank_26_again") == pg_rows
    duck, pg = keyed(duck_ranking[1]), keyed(pg_rows)
    assert set(pg) == set(duck)
    compared = 0
    for key, row in duck.items():
        if key[1] not in CHECKS:
            continue
        other = pg[key]
        assert other.status == row.status, key
        if row.value is None:
            assert other.value is None and other.details["reason"] == row.details["reason"]
            continue
        assert other.value == pytest.approx(row.value, rel=1e-12, abs=1e-12), key
        for side in ("ci_low", "ci_high"):
            if row.details[side] is not None:
                assert other.details[side] == pytest.approx(row.details[side], rel=1e-9), key
        compared += 1
    assert compared > 40
