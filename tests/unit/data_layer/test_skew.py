"""Training-serving skew on tiny tables: every count below is computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

from modelwatch.data_layer import run_data_layer
from modelwatch.data_layer.sql import in_sample, python_in_sample, sample_bound
from tests.unit.data_layer.tiny import AS_OF, WINDOW, metric, offline_of, rows, seed, tiny_cfg

ALL = {"skew": {"sample_rate": 1}}


def run(engine, profile, settings=ALL):
    return run_data_layer(engine, tiny_cfg(settings), profile, WINDOW, "skew", as_of=AS_OF)


def test_identical_features_do_not_mismatch(duck) -> None:
    result = run(duck, seed(duck))
    assert metric(result, "skew_mismatch_rate", "amount").value == 0.0
    assert metric(result, "skew_vector_mismatch_rate").value == 0.0
    assert metric(result, "skew_missing_share").value == 0.0
    assert metric(result, "skew_mean_abs_diff", "amount").value == 0.0


def test_mismatch_tolerance_nulls_and_missing_rows(duck) -> None:
    window = rows(8, 60)
    offline = offline_of(window)
    offline.loc[0:5, "amount"] += 1.0          # 6 real differences of 1.0
    offline.loc[6:8, "amount"] *= 1 + 1e-9     # 3 float-noise differences, within tolerance
    offline.loc[9:10, "visits"] = np.nan       # null offline only: 2 missing values
    offline.loc[11:14, "channel"] = "web "     # 4 categorical mismatches (exact compare)
    offline = offline.drop(index=[59])         # 1 request with no offline row
    reference = offline_of(rows(1, 1))         # the offline table also holds other rows
    profile = seed(duck, window, __import__("pandas").concat([offline, reference]))
    result = run(duck, profile)
    amount = metric(result, "skew_mismatch_rate", "amount")
    assert amount.details["compared_requests"] == 59 and amount.details["mismatches"] == 6
    assert amount.value == 6 / 59 and amount.status == "alert"
    assert metric(result, "skew_mean_abs_diff", "amount").value == pytest.approx(6 / 59, abs=1e-7)
    visits = metric(result, "skew_missing_share", "visits")
    assert visits.value == (1 + 2) / 60
    assert metric(result, "skew_mismatch_rate", "visits").details["mismatches"] == 2
    assert metric(result, "skew_mismatch_rate", "channel").details["mismatches"] == 4
    assert metric(result, "skew_missing_share").value == 1 / 60
    assert "1 of 60 sampled requests" in metric(result, "skew_missing_share").details["message"]
    # rows 0-5, 9-10, 11-14 differ beyond 1e-6; rows 6-8 differ below the vector hash's 1e-6 quantum
    vector = metric(result, "skew_vector_mismatch_rate")
    assert vector.value == 12 / 59


def test_missing_offline_table_and_column(duck) -> None:
    profile = seed(duck)
    with duck.begin() as conn:
        conn.execute(sa.text("ALTER TABLE offline_features DROP COLUMN channel"))
    result = run(duck, profile)
    row = metric(result, "skew_mismatch_rate", "channel")
    assert (row.status, row.details["condition"]) == ("skipped", "missing_offline_column")
    assert metric(result, "skew_mismatch_rate", "amount").status == "ok"
    with duck.begin() as conn:
        conn.execute(sa.text("DROP TABLE offline_features"))
    result = run(duck, profile)
    assert metric(result, "skew_mismatch_rate", "amount").details["condition"] == "missing_offline_table"


def test_sample_is_deterministic_and_the_same_as_in_python(duck) -> None:
    ids = [f"req-{k}" for k in range(2000)]
    rate = 0.1
    with duck.begin() as conn:
        conn.execute(sa.text("CREATE TABLE ids (request_id VARCHAR)"))
        conn.execute(sa.text("INSERT INTO ids VALUES " + ",".join(f"('{i}')" for i in ids)))
        t = sa.table("ids", sa.column("request_id"))
        in_sql = set(conn.execute(sa.select(t.c.request_id).where(
            in_sample("duckdb", t.c.request_id, 7, rate))).scalars())
    in_python = {i for i in ids if python_in_sample(i, 7, rate)}
    assert in_sql == in_python
    assert 150 < len(in_sql) < 250  # ~10 % of 2000
    assert in_python != {i for i in ids if python_in_sample(i, 8, rate)}  # the seed matters
    assert sample_bound(1.0) is None and sample_bound(0.5) == "80000000"


def test_sampled_skew_counts_only_sampled_requests(duck) -> None:
    window = rows(8, 60)
    offline = offline_of(window)
    offline["amount"] += 1.0
    profile = seed(duck, window, offline)
    result = run(duck, profile, {"skew": {"sample_rate": 0.25, "seed": 3}})
    expected = sum(python_in_sample(f"d8_{k}", 3, 0.25) for k in range(60))
    row = metric(result, "skew_mismatch_rate", "amount")
    assert row.details["sampled_requests"] == expected and 0 < expected < 60
    assert row.value == 1.0


def _hand_psi(reference: list[float], current: list[float]) -> float:
    p = np.maximum(np.asarray(reference) / sum(reference), 1e-4)
    q = np.maximum(np.asarray(current) / sum(current), 1e-4)
    return float(np.sum((q - p) * np.log(q / p)))


def test_psi_online_vs_offline_by_hand(duck) -> None:
    window = rows(8, 60)
    offline = offline_of(window)
    offline.loc[0:29, "channel"] = "pos"   # a broken join: half the requests default to "pos"
    offline.loc[:, "amount"] += 5.0       # every offline amount shifted by 5
    profile = seed(duck, window, offline)
    result = run(duck, profile)
    same = metric(result, "skew_psi", "visits")
    assert same.value == 0.0 and same.status == "ok" and same.details["pairs"] == 60
    # channel: online web/app/pos 20/20/20; offline rows 0-29 -> pos, rows 30-59 keep i % 3
    categories = profile.data["categorical"]["channel"]["categories"]
    online = [sum(window["channel"] == c) for c in categories] + [0]
    off = offline["channel"]
    offline_counts = [sum(off == c) for c in categories] + [sum(~off.isin(categories))]
    channel = metric(result, "skew_psi", "channel")
    assert channel.value == pytest.approx(_hand_psi(offline_counts, online))
    assert channel.status == "alert" and channel.details["largest_gap_bin"] == "pos"
    # amount: each side binned on the profile's coarse edges
    edges = profile.data["numeric"]["amount"]["coarse_edges"]
    binned = [np.bincount(np.searchsorted(edges, side, side="right"), minlength=len(edges) + 1)
              for side in (window["amount"].to_numpy(), offline["amount"].to_numpy())]
    amount = metric(result, "skew_psi", "amount")
    assert amount.value == pytest.approx(_hand_psi(binned[1], binned[0]))
    assert amount.value > 0.25 and amount.status == "alert"
    assert "PSI online vs offline" in amount.details["message"]


def test_psi_online_vs_offline_skips_with_too_few_pairs(duck) -> None:
    profile = seed(duck)
    result = run(duck, profile, {"skew": {"sample_rate": 1, "min_sampled": 500}})
    row = metric(result, "skew_psi", "amount")
    assert row.status == "skipped"
