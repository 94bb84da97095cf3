"""AUC, DeLong and average precision on score cells, checked by hand and against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, roc_auc_score

from modelwatch.config.outcome import OutcomeSettings
from modelwatch.outcome.cells import Cells
from modelwatch.outcome.ranking import average_precision, delong_variance, roc_auc, tie_bound

SIX_SCORES = [0.10, 0.40, 0.35, 0.80, 0.70, 0.20]
SIX_LABELS = [0, 0, 1, 1, 1, 0]


def test_auc_on_six_rows_by_hand() -> None:
    # positives 0.35, 0.80, 0.70 vs negatives 0.10, 0.40, 0.20: 0.35 beats two, the others all
    # three, so 8 of 9 pairs are ordered right.
    cells = Cells.from_scores(SIX_SCORES, SIX_LABELS, OutcomeSettings())
    assert roc_auc(cells.positives, cells.negatives) == pytest.approx(8 / 9)
    assert tie_bound(cells.positives, cells.negatives) == 0.0  # every row in its own cell


def test_ties_count_one_half() -> None:
    # one positive and one negative in the same cell, one positive above: (1 + 0.5) / 2
    pos, neg = np.array([1.0, 1.0]), np.array([1.0, 0.0])
    assert roc_auc(pos, neg) == pytest.approx(0.75)
    assert tie_bound(pos, neg) == pytest.approx(0.25)


def test_average_precision_on_six_rows_by_hand() -> None:
    # ranked: 0.80+ 0.70+ 0.40- 0.35+ 0.20- 0.10-  -> AP = (1 + 1 + 3/4) / 3
    cells = Cells.from_scores(SIX_SCORES, SIX_LABELS, OutcomeSettings())
    assert average_precision(cells.positives, cells.negatives) == pytest.approx(11 / 12)
    assert average_precision_score(SIX_LABELS, SIX_SCORES) == pytest.approx(11 / 12)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_binned_metrics_agree_with_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 20_000
    y = rng.random(n) < 0.05
    scores = 1 / (1 + np.exp(-(rng.normal(-3.5, 1.2, n) + 1.6 * y)))
    cells = Cells.from_scores(scores, y.astype(float), OutcomeSettings())
    auc = roc_auc(cells.positives, cells.negatives)
    bound = tie_bound(cells.positives, cells.negatives)
    exact = roc_auc_score(y, scores)
    assert abs(auc - exact) <= bound + 1e-12
    assert bound < 0.002  # 1200 logit bins: ties are rare
    assert average_precision(cells.positives, cells.negatives) == pytest.approx(
        average_precision_score(y, scores), abs=0.003)


def _delong_on_rows(scores: np.ndarray, y: np.ndarray) -> float:
    """Textbook DeLong from mid-ranks (Sun & Xu 2014), on the raw rows."""
    pos, neg = scores[y], scores[~y]
    m, n = pos.size, neg.size
    all_ranks = rankdata(np.concatenate([pos, neg]))
    v10 = (all_ranks[:m] - rankdata(pos)) / n
    v01 = 1 - (all_ranks[m:] - rankdata(neg)) / m
    return float(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n)


def test_delong_variance_matches_the_row_level_formula() -> None:
    rng = np.random.default_rng(5)
    n = 5_000
    y = rng.random(n) < 0.1
    scores = 1 / (1 + np.exp(-(rng.normal(-2.5, 1.0, n) + 1.2 * y)))
    cells = Cells.from_scores(scores, y.astype(float), OutcomeSettings())
    assert delong_variance(cells.positives, cells.negatives) == pytest.approx(
        _delong_on_rows(scores, y), rel=0.02)


def test_vectorised_over_draws() -> None:
    pos = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]])
    neg = np.array([[2.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    both = roc_auc(pos, neg)
    assert both.shape == (2,)
    assert both[0] == pytest.approx(roc_auc(pos[0], neg[0]))
    assert both[1] == pytest.approx(roc_auc(pos[1], neg[1]))
    ap = average_precision(pos, neg)
    assert ap[1] == pytest.approx(average_precision(pos[1], neg[1]))


def test_undefined_without_both_classes() -> None:
    assert np.isnan(roc_auc(np.array([0.0, 0.0]), np.array([1.0, 2.0])))
    assert np.isnan(average_precision(np.array([0.0, 0.0]), np.array([1.0, 2.0])))
