"""Eight requests, every number computed by hand (or by numpy/scipy on the same eight), through the
real SQL on DuckDB: coverage with a missing and a duplicated shadow row, decision agreement,
Pearson, Spearman with a tie, score differences, PSI, latency quantiles, and the labelled
comparison with a corrected label and one that arrived too late."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from modelwatch.drift.methods import BinnedInput, get_method
from modelwatch.runner import Window
from modelwatch.shadow import run_shadow
from tests.unit.shadow.helpers import MODEL, Frames, by_key, day, make_cfg, seed

A = [0.9, 0.2, 0.6, 0.4, 0.7, 0.1, 0.3, 0.8]  # champion, r1..r8
B = [0.9, 0.6, 0.5, 0.4, 0.2, 0.1, 0.4]  # challenger, r1..r7 (r8 never logged)
LAT_A = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0]
LAT_B = [15.0, 25.0, 35.0, 45.0, 55.0, 65.0, 75.0]
REGION = ["A", "A", "A", "A", "B", "B", "B", "B"]


def frames() -> Frames:
    t0 = day(1)
    ts = [t0 + timedelta(hours=h + 1) for h in range(8)]
    ids = [f"r{i}" for i in range(1, 9)]
    preds = pd.DataFrame({
        "request_id": ids + ["r_out"], "event_ts": ts + [t0 + timedelta(days=1, hours=1)],
        "model_name": MODEL, "model_version": "v1", "x": 0.0, "region": REGION + ["A"],
        "score": A + [0.5], "prediction": 0, "latency_ms": LAT_A + [1.0]})
    shadow = pd.DataFrame({
        # r1 logged twice: the newer row has no score, so the scored one must be used
        "request_id": ids[:7] + ["r1", "r_out"],
        "event_ts": ts[:7] + [ts[0] + timedelta(minutes=5), t0 + timedelta(days=1, hours=1)],
        "model_name": MODEL, "model_version": "v2", "score": B + [None, 0.5], "prediction": 0,
        "latency_ms": LAT_B + [999.0, 1.0]})
    end = t0 + timedelta(days=1)
    labels = pd.DataFrame({
        "request_id": ["r1", "r2", "r2", "r3", "r4", "r5", "r6", "r7"],
        # r2 corrected from 1 to 0; r3's label arrives after the window's end
        "label": [1, 1, 0, 1, 0, 1, 0, 1],
        "label_ts": [end - timedelta(hours=1), end - timedelta(hours=3), end - timedelta(hours=2),
                     end + timedelta(hours=1), end - timedelta(hours=1), end - timedelta(hours=1),
                     end - timedelta(hours=1), end - timedelta(hours=1)]})
    return Frames(preds, shadow, labels)


@pytest.fixture
def result(duck_url):
    cfg = make_cfg(min_rows=1, shadow={"score_margin": 0.15, "gate": {"min_labelled": 5},
                                       "bootstrap_resamples": 200})
    engine = seed(duck_url, frames())
    rows = run_shadow(engine, cfg, Window(day(1), day(2)), "exact")
    yield cfg, by_key(rows)
    engine.dispose()


def test_coverage_dedup_and_agreement(result) -> None:
    _, rows = result
    cov = rows[("shadow_coverage", "all")]
    assert cov.value == pytest.approx(7 / 8)
    assert cov.status == "alert" and cov.threshold == 0.95
    assert cov.details["no_shadow_row"] == 1 and cov.details["duplicated_shadow_ids"] == 1
    assert rows[("shadow_coverage", "region=A")].value == 1.0
    assert rows[("shadow_coverage", "region=B")].value == pytest.approx(3 / 4)

    agree = rows[("decision_agreement", "all")]
    assert agree.value == pytest.approx(5 / 7)
    d = agree.details
    assert (d["both_positive"], d["champion_only_positive"], d["challenger_only_positive"],
            d["both_negative"]) == (2, 1, 1, 3)
    assert d["champion"] == pytest.approx(3 / 7) and d["challenger"] == pytest.approx(3 / 7)
    assert rows[("decision_agreement", "region=A")].value == pytest.approx(3 / 4)  # r2 differs

    a, b = np.array(A[:7]), np.array(B)
    assert rows[("score_pearson", "all")].value == pytest.approx(np.corrcoef(a, b)[0, 1], abs=1e-9)
    assert rows[("score_spearman", "all")].value == pytest.approx(spearmanr(a, b).statistic, abs=1e-9)
    assert rows[("mean_abs_score_diff", "all")].value == pytest.approx(1.1 / 7)
    assert rows[("large_disagreement_share", "all")].value == pytest.approx(2 / 7)


def test_score_divergence_and_latency(result) -> None:
    cfg, rows = result
    a, b = np.array(A[:7]), np.array(B)
    edges = np.unique(np.quantile(a, [i / cfg.drift.bins for i in range(1, cfg.drift.bins)]))
    counts_a = np.bincount(np.searchsorted(edges, a, side="right"), minlength=edges.size + 1)
    counts_b = np.bincount(np.searchsorted(edges, b, side="right"), minlength=edges.size + 1)
    expected = get_method("psi", "numeric").func(BinnedInput(counts_a, counts_b, edges=edges)).value
    assert rows[("challenger_score_psi", "all")].value == pytest.approx(expected, abs=1e-9)
    p99 = rows[("latency_p99", "all")]
    assert p99.details["champion"] == pytest.approx(np.quantile(LAT_A, 0.99))
    assert p99.value == pytest.approx(np.quantile(LAT_B, 0.99))
    assert rows[("latency_p50", "all")].value == pytest.approx(45.0)


def test_labelled_comparison_by_hand(result) -> None:
    _, rows = result
    pairs = rows[("labelled_pairs", "all")]
    assert pairs.value == 6  # r3's label came too late; r8 has no shadow score
    assert pairs.details["duplicated_label_ids"] == 1 and pairs.details["paired"] == 7
    assert pairs.details["mature"] is False
    auc = rows[("auc_diff", "all")]
    assert auc.details["champion"] == pytest.approx(8 / 9)
    assert auc.details["challenger"] == pytest.approx(5.5 / 9)
    assert auc.value == pytest.approx(-2.5 / 9)
    mc = rows[("mcnemar", "all")]
    # champion alone right on r2 (corrected label 0) and r5; challenger never alone right
    assert (mc.details["champion_only_correct"], mc.details["challenger_only_correct"]) == (2, 0)
    assert mc.value == pytest.approx(0.5)  # exact: 2 * P(X <= 0 | n=2)
    assert mc.details["champion"] == pytest.approx(5 / 6)
    assert mc.details["challenger"] == pytest.approx(3 / 6)
