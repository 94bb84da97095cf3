"""Realized metrics and their intervals: six rows by hand, scikit-learn on many."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from modelwatch.config.outcome import OutcomeSettings
from modelwatch.outcome.binary import REALIZED, positive_rate, realized_metrics
from modelwatch.outcome.cells import Cells
from modelwatch.outcome.intervals import rng_for, wilson

NAN = math.nan
SCORES = [0.10, 0.40, 0.35, 0.80, 0.70, 0.20, 0.90, 0.05]
LABELS = [0, 0, 1, 1, 1, 0, NAN, NAN]  # the last two have no label yet


def test_coverage_and_confusion_by_hand() -> None:
    cells = Cells.from_scores(SCORES, LABELS, OutcomeSettings(decision_threshold=0.5))
    assert (cells.n_rows, cells.n_labelled, cells.n_positives) == (8, 6, 3)
    assert cells.coverage == pytest.approx(6 / 8)
    # labelled rows at 0.5: 0.80+ 0.70+ decided positive; 0.35+ missed; three negatives right
    assert cells.confusion() == (2.0, 0.0, 1.0, 3.0)


def test_six_labelled_rows_by_hand() -> None:
    s = OutcomeSettings(decision_threshold=0.5, min_class_rows=1)
    m = realized_metrics(Cells.from_scores(SCORES, LABELS, s), s, rng_for(0, "t"))
    assert m["roc_auc"].value == pytest.approx(8 / 9)
    assert m["accuracy"].value == pytest.approx(5 / 6)
    assert m["precision"].value == pytest.approx(1.0)
    assert m["recall"].value == pytest.approx(2 / 3)
    assert m["f1"].value == pytest.approx(0.8)
    y = np.array([0, 0, 1, 1, 1, 0.0])
    p = np.array(SCORES[:6])
    assert m["log_loss"].value == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    assert m["brier"].value == pytest.approx(np.mean((p - y) ** 2))


def test_agrees_with_sklearn_and_intervals_cover() -> None:
    rng = np.random.default_rng(11)
    n = 20_000
    scores = 1 / (1 + np.exp(-rng.normal(-2.0, 1.5, n)))
    y = (rng.random(n) < scores).astype(float)
    s = OutcomeSettings(decision_threshold=0.3)
    m = realized_metrics(Cells.from_scores(scores, y, s), s, rng_for(0, "t"))
    hard = scores >= 0.3
    assert m["roc_auc"].value == pytest.approx(roc_auc_score(y, scores),
                                               abs=m["roc_auc"].details["auc_tie_bound"] + 1e-12)
    assert m["log_loss"].value == pytest.approx(log_loss(y, scores), rel=1e-9)
    assert m["brier"].value == pytest.approx(brier_score_loss(y, scores), rel=1e-9)
    assert m["accuracy"].value == pytest.approx(accuracy_score(y, hard))
    assert m["precision"].value == pytest.approx(precision_score(y, hard))
    assert m["recall"].value == pytest.approx(recall_score(y, hard))
    assert m["f1"].value == pytest.approx(f1_score(y, hard))
    assert m["ece"].value < 0.02  # labels drawn from the scores: calibrated
    for name in REALIZED:
        v = m[name]
        assert v.low <= v.value <= v.high, name
        assert v.high - v.low < 0.1, name


def test_ece_by_hand() -> None:
    # two bins of ten: scores 0.05 with 1 positive of 4, scores 0.95 with 2 positives of 2
    scores = [0.05] * 4 + [0.95] * 2
    labels = [1, 0, 0, 0, 1, 1]
    s = OutcomeSettings(min_class_rows=1)
    m = realized_metrics(Cells.from_scores(scores, labels, s), s, rng_for(0, "t"))
    expected = (4 * abs(0.25 - 0.05) + 2 * abs(1.0 - 0.95)) / 6
    assert m["ece"].value == pytest.approx(expected)
    curve = m["ece"].details["reliability"]
    assert [(b["rows"], b["positive_rate"]) for b in curve] == [(4, 0.25), (2, 1.0)]


def test_too_few_positives_is_a_reason_not_a_number() -> None:
    s = OutcomeSettings(min_class_rows=5)
    m = realized_metrics(Cells.from_scores(SCORES, LABELS, s), s, rng_for(0, "t"))
    assert m["roc_auc"].value is None and "min_class_rows=5" in m["roc_auc"].reason
    assert m["accuracy"].value is not None
    none = realized_metrics(Cells.from_scores([0.2, 0.3], [NAN, NAN], s), s, rng_for(0, "t"))
    assert all(v.reason == "no labelled rows" for v in none.values())


def test_precision_without_positive_decisions_is_skipped() -> None:
    s = OutcomeSettings(decision_threshold=0.99, min_class_rows=1)
    m = realized_metrics(Cells.from_scores(SCORES, LABELS, s), s, rng_for(0, "t"))
    assert m["precision"].value is None and "no positive decisions" in m["precision"].reason


def test_bootstrap_is_seeded_by_the_row_identity() -> None:
    s = OutcomeSettings(min_class_rows=1)
    cells = Cells.from_scores(SCORES, LABELS, s)
    a = realized_metrics(cells, s, rng_for(0, "2026-09-01", "all"))["pr_auc"]
    b = realized_metrics(cells, s, rng_for(0, "2026-09-01", "all"))["pr_auc"]
    c = realized_metrics(cells, s, rng_for(0, "2026-09-02", "all"))["pr_auc"]
    assert (a.low, a.high) == (b.low, b.high)
    assert (a.low, a.high) != (c.low, c.high)


def test_wilson_interval_known_values() -> None:
    lo, hi = wilson(0, 10, 0.95)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-3)
    lo, hi = wilson(5, 10, 0.95)
    assert (lo, hi) == pytest.approx((0.2366, 0.7634), abs=1e-3)


def test_positive_rate() -> None:
    v = positive_rate(Cells.from_scores(SCORES, LABELS, OutcomeSettings()), 0.95)
    assert v.value == pytest.approx(0.5) and v.low < 0.5 < v.high
