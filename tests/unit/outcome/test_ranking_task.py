"""Ranking performance through the SQL path on a tiny embedded warehouse, by hand and vs sklearn.

Five requests, k = 3, ranked by score (or by ``columns.rank``). Relevance: labelled items as
labelled, unlabelled items of a labelled request 0.

| request | region | served order (top 3 first) | labels | counts as |
|---|---|---|---|---|
| q1 | EU | a b c d e | b=2, d=1 | NDCG (2/log2 3)/(2 + 1/log2 3), recall 1/2, AP (1/2)/2 |
| q2 | EU | a b c | a=1, b=0, c=1 | NDCG 1.5/(1 + 1/log2 3), recall 1, AP (1 + 2/3)/2 |
| q3 | NA | x y | x=0 | labelled, no relevant item: left out of the means |
| q4 | NA | a f g h | none | not labelled |
| q5 | NA | h a b c | c=3 (4th) | NDCG 0, recall 0, AP 0 |
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.metrics import ndcg_score

from modelwatch.config.outcome import RankingSettings
from modelwatch.outcome import window_rows
from modelwatch.outcome.queries import LabelStats, fetch_label_stats, joined
from modelwatch.outcome.ranking_task import fetch_ranking
from modelwatch.outcome.reference import OutcomeReference
from modelwatch.outcome.windows import EvalWindow
from modelwatch.warehouse.load import load_frame
from tests.unit.outcome.task_configs import task_config

D = datetime(2026, 9, 10)
AS_OF = D + timedelta(days=20)
SEGMENTS = {"region": ["EU", "NA"]}
K = 3
REQUESTS = {  # request: (region, served items in order, {item: relevance})
    "q1": ("EU", "abcde", {"b": 2.0, "d": 1.0}),
    "q2": ("EU", "abc", {"a": 1.0, "b": 0.0, "c": 1.0}),
    "q3": ("NA", "xy", {"x": 0.0}),
    "q4": ("NA", "afgh", {}),
    "q5": ("NA", "habc", {"c": 3.0}),
}
L3 = math.log2(3)
NDCG = {"q1": (2 / L3) / (2 + 1 / L3), "q2": 1.5 / (1 + 1 / L3), "q5": 0.0}
RECALL = {"q1": 0.5, "q2": 1.0, "q5": 0.0}
AP = {"q1": 0.25, "q2": (1 + 2 / 3) / 2, "q5": 0.0}


def ranking_cfg(k: int = K, **columns):
    cfg = task_config("ranking", **{"item": "item", "prediction": None, **columns})
    return cfg.model_copy(update={"outcome": cfg.outcome.model_copy(
        update={"ranking": RankingSettings(k=k), "min_labelled_rows": 3}),
        "slices": cfg.slices.model_copy(update={"min_rows": 2})})


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    for i, (rid, (region, items, _)) in enumerate(REQUESTS.items()):
        for pos, item in enumerate(items, start=1):
            # score ranks like the served order; `served_rank` is the order itself and
            # `flat` a tied score, so a query ranking by it could not get the answer right
            rows.append({"request_id": rid, "item": item, "event_ts": D + timedelta(hours=i),
                         "model_name": "ranking_demo", "model_version": "v1",
                         "score": 1.0 - pos / 10, "served_rank": pos, "flat": 0.5,
                         "region": region, "amount": 1.0})
    labels = [{"request_id": rid, "item": item, "label": rel, "label_ts": D + timedelta(days=1)}
              for rid, (_, _, rels) in REQUESTS.items() for item, rel in rels.items()]
    return pd.DataFrame(rows), pd.DataFrame(labels)


@pytest.fixture
def engine(duck_url):
    preds, labels = frames()
    eng = sa.create_engine(duck_url)
    load_frame(eng, "predictions", preds)
    load_frame(eng, "labels", labels)
    yield eng
    eng.dispose()


def fetch(engine, cfg, segments=SEGMENTS):
    with engine.connect() as conn:
        source = joined(cfg, D, D + timedelta(days=1), AS_OF, segments)
        return fetch_ranking(conn, cfg, source, [D], segments)


def metrics(sums, cfg, gate=1):
    from modelwatch.outcome.ranking_task import ranking_metrics

    return ranking_metrics(sums, cfg.outcome, None, gate, "outcome.min_labelled_rows")


def sklearn_ndcg(rid: str, k: int) -> float:
    _, items, rels = REQUESTS[rid]
    y_true = [[rels.get(item, 0.0) for item in items]]
    y_score = [[1.0 - pos / 10 for pos in range(1, len(items) + 1)]]
    return float(ndcg_score(y_true, y_score, k=k))


def test_sklearn_agrees_with_the_hand_computed_ndcg() -> None:
    for rid, value in NDCG.items():
        assert sklearn_ndcg(rid, K) == pytest.approx(value)


def test_whole_population_by_hand_and_vs_sklearn(engine) -> None:
    cfg = ranking_cfg()
    sums = fetch(engine, cfg, {})[(0, "all")]
    assert (sums.n_rows, sums.n_labelled, sums.relevant) == (5, 4, 3)
    assert (sums.items, sums.labelled_items) == (18, 7)
    m = metrics(sums, cfg)
    assert m["ndcg_at_k"].value == pytest.approx(np.mean([sklearn_ndcg(r, K) for r in NDCG]))
    assert m["ndcg_at_k"].value == pytest.approx(np.mean(list(NDCG.values())), abs=1e-11)
    assert m["recall_at_k"].value == pytest.approx(0.5, abs=1e-11)
    assert m["map_at_k"].value == pytest.approx(np.mean(list(AP.values())), abs=1e-11)
    # top 3 of all requests: a b c x y f g h of the 10 candidates a–h, x, y
    assert m["catalog_coverage_at_k"].value == pytest.approx(0.8)
    assert m["catalog_coverage_at_k"].details["distinct_candidate_items"] == 10
    assert m["ndcg_at_k"].details["no_relevant_requests"] == 1
    # normal interval on the mean over the 3 requests (sample variance)
    recall = np.array(list(RECALL.values()))
    half = 1.959963984540054 * recall.std(ddof=1) / math.sqrt(3)
    assert m["recall_at_k"].low == pytest.approx(max(0.5 - half, 0.0))
    assert m["recall_at_k"].high == pytest.approx(min(0.5 + half, 1.0))


@pytest.mark.parametrize("k", [1, 2, 4, 10])
def test_ndcg_at_other_cutoffs_matches_sklearn(engine, k) -> None:
    cfg = ranking_cfg(k=k)
    m = metrics(fetch(engine, cfg, {})[(0, "all")], cfg)
    assert m["ndcg_at_k"].value == pytest.approx(np.mean([sklearn_ndcg(r, k) for r in NDCG]),
                                                 abs=1e-11)
    assert m["ndcg_at_k"].details["k"] == k


def test_average_precision_is_normalised_by_min_of_k_and_relevant(engine) -> None:
    # k = 1: q1 serves a (0) first, q2 serves a (1) first of its 2 relevant, q5 h (0):
    # AP@1 = (0 + 1/min(1, 2) + 0) / 3, recall@1 = (0 + 1/2 + 0) / 3
    cfg = ranking_cfg(k=1)
    m = metrics(fetch(engine, cfg, {})[(0, "all")], cfg)
    assert m["map_at_k"].value == pytest.approx(1 / 3, abs=1e-11)
    assert m["recall_at_k"].value == pytest.approx(1 / 6, abs=1e-11)


def test_served_rank_column_orders_the_items(engine) -> None:
    # the score is tied for every item: only `served_rank` gives the served order
    cfg = ranking_cfg(score="flat", rank="served_rank")
    m = metrics(fetch(engine, cfg, {})[(0, "all")], cfg)
    assert m["ndcg_at_k"].value == pytest.approx(np.mean(list(NDCG.values())), abs=1e-11)
    assert m["map_at_k"].value == pytest.approx(np.mean(list(AP.values())), abs=1e-11)


def test_column_names_from_config_are_quoted(duck_url) -> None:
    # a reserved word as the rank column and a mixed-case item column: unquoted, neither parses
    preds, labels = frames()
    preds = preds.rename(columns={"served_rank": "order", "item": "Item"})
    eng = sa.create_engine(duck_url)
    load_frame(eng, "predictions", preds)
    load_frame(eng, "labels", labels.rename(columns={"item": "Item"}))
    cfg = ranking_cfg(score="flat", rank="order", item="Item")
    try:
        m = metrics(fetch(eng, cfg, {})[(0, "all")], cfg)
    finally:
        eng.dispose()
    assert m["map_at_k"].value == pytest.approx(np.mean(list(AP.values())), abs=1e-11)


def test_slices_by_hand(engine) -> None:
    cfg = ranking_cfg()
    sums = fetch(engine, cfg)
    eu, na = sums[(0, "region=EU")], sums[(0, "region=NA")]
    assert (eu.n_rows, eu.n_labelled, eu.relevant) == (2, 2, 2)
    assert (na.n_rows, na.n_labelled, na.relevant) == (3, 2, 1)
    assert metrics(eu, cfg)["map_at_k"].value == pytest.approx((AP["q1"] + AP["q2"]) / 2)
    assert metrics(na, cfg)["ndcg_at_k"].value == pytest.approx(0.0, abs=1e-12)
    # EU's top 3: a b c of a–e
    assert metrics(eu, cfg)["catalog_coverage_at_k"].value == pytest.approx(3 / 5)


def test_labels_join_on_request_and_item(engine) -> None:
    cfg = ranking_cfg()
    with engine.connect() as conn:
        stats = fetch_label_stats(conn, joined(cfg, D, D + timedelta(days=1), AS_OF, {}), [D])[0]
    assert (stats.rows, stats.labelled, stats.duplicated) == (18, 7, 0)


def _window(as_of_days: float) -> EvalWindow:
    return EvalWindow(0, D, D + timedelta(days=1), D + timedelta(days=1 + as_of_days),
                      timedelta(days=7))


def test_gate_skips_with_the_reason(engine) -> None:
    cfg = ranking_cfg()
    sums = {key: agg for (_, key), agg in fetch(engine, cfg).items()}
    ref = OutcomeReference({"mature": True, "slices": {}})
    strict = cfg.model_copy(update={
        "outcome": cfg.outcome.model_copy(update={"min_labelled_rows": 5}),
        "slices": cfg.slices.model_copy(update={"min_rows": 2})})
    rows = {(r.check_name, r.slice): r
            for r in window_rows(strict, _window(10), sums, LabelStats(18, 7), ref, None)}
    whole = rows[("ndcg_at_k", "all")]
    assert whole.status == "skipped"
    assert whole.details["reason"] == ("4 labelled requests (with at least one labelled item), "
                                       "fewer than outcome.min_labelled_rows=5")
    # NA passes the slice gate on labelled requests (2) but has 1 with a relevant item
    na = rows[("recall_at_k", "region=NA")]
    assert na.status == "skipped"
    assert na.details["reason"].startswith("1 labelled requests with a relevant item (1 without)")
    assert na.details["reason"].endswith("fewer than slices.min_rows=2")
    assert rows[("catalog_coverage_at_k", "region=NA")].value == pytest.approx(7 / 8)
    eu = rows[("ndcg_at_k", "region=EU")]
    assert eu.status == "ok" and eu.value == pytest.approx((NDCG["q1"] + NDCG["q2"]) / 2)
    # an immature window: skipped with the date its labels mature
    early = {r.check_name: r for r in window_rows(cfg, _window(2), sums, LabelStats(18, 7), ref,
                                                  None)}
    assert early["map_at_k"].status == "skipped"
    assert "not mature" in early["map_at_k"].details["reason"]


def test_judged_as_a_share_of_the_reference_value(engine) -> None:
    cfg = ranking_cfg()
    sums = {key: agg for (_, key), agg in fetch(engine, cfg, {}).items()}
    cov = 0.8
    ref = OutcomeReference({"mature": True, "slices": {"all": {"metrics": {
        "catalog_coverage_at_k": {"value": cov / 0.85, "low": None, "high": None}}}}})
    rows = {r.check_name: r for r in window_rows(cfg, _window(10), sums, LabelStats(18, 7), ref,
                                                 None)}
    row = rows["catalog_coverage_at_k"]  # a 15 % relative drop: warn (10 %), not alert (25 %)
    assert row.details["judged"] is True and row.status == "warn"
    assert row.details["adverse_change_lower_bound"] == pytest.approx(0.15)
    assert rows["ndcg_at_k"].details["judged"] is False  # no reference value


def test_other_models_keep_their_cached_reference_key(demo_cfg) -> None:
    # the keys main computed before ranking existed: adding columns.item/rank and
    # outcome.ranking must not make every deployed model recompute its reference
    from modelwatch.outcome.reference import reference_key

    assert reference_key(demo_cfg, {"region": ["EU", "NA"]}) == \
        "outcome-bd97f61fb089694447dec4da12169ed8"
    assert reference_key(task_config("regression", prediction=None), {}) == \
        "outcome-bcdaa802cd7547cbdb36b1378134ada0"
    cfg = ranking_cfg()
    assert reference_key(cfg, {}) != reference_key(ranking_cfg(k=5), {})


def test_reference_coverage_is_the_mean_of_its_windows(engine) -> None:
    from modelwatch.outcome.ranking_task import RankingSums
    from modelwatch.outcome.tasks import TASKS

    cfg = ranking_cfg()
    with engine.connect() as conn:  # q1, q2 in the first 2 hours, q3–q5 after
        source = joined(cfg, D, D + timedelta(days=1), AS_OF, {})
        parts = fetch_ranking(conn, cfg, source, [D, D + timedelta(hours=2)], {})
    first, second = parts[(0, "all")], parts[(1, "all")]
    assert (first.top_items, first.candidate_items) == (3, 5)  # a b c of a–e
    assert (second.top_items, second.candidate_items) == (7, 8)  # x y a f g h b of those + c
    whole = RankingSums.combine([first, second])
    assert (whole.n_rows, whole.n_labelled, whole.relevant) == (5, 4, 3)
    task = TASKS["ranking"]
    entry = task.reference(whole, cfg.outcome, None, 1, "outcome.min_labelled_rows", True)
    assert entry["metrics"]["catalog_coverage_at_k"]["value"] == pytest.approx((3 / 5 + 7 / 8) / 2)
    assert entry["metrics"]["ndcg_at_k"]["value"] == pytest.approx(np.mean(list(NDCG.values())))
    # a reference table has no windows: its coverage is not stored, so it is not judged
    entry = task.reference(second, cfg.outcome, None, 1, "outcome.min_labelled_rows", True)
    assert "catalog_coverage_at_k" not in entry["metrics"] and "ndcg_at_k" in entry["metrics"]
