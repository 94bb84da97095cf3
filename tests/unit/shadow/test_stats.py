"""The pure statistics, against hand computations and reference implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chi2
from sklearn.metrics import log_loss, roc_auc_score

from modelwatch.shadow.stats import (
    auc,
    independent_bootstrap,
    mcnemar,
    paired_bootstrap,
    pearson_from_sums,
    rng_for,
)


def test_auc_matches_sklearn_with_ties_and_imbalance() -> None:
    rng = np.random.default_rng(3)
    for decimals, rate in ((0, 0.3), (1, 0.05), (2, 0.5), (6, 0.02)):
        y = (rng.random(3000) < rate).astype(float)
        score = np.round(rng.random(3000) + 0.4 * y, decimals)
        assert auc(score, y) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_auc_by_hand() -> None:
    # positives 0.8, 0.4; negatives 0.4, 0.1, 0.3: pairs won 3 + (0.5 + 2) of 6
    y = np.array([1, 1, 0, 0, 0])
    score = np.array([0.8, 0.4, 0.4, 0.1, 0.3])
    assert auc(score, y) == pytest.approx(5.5 / 6)
    assert math.isnan(auc(score, np.ones(5)))


def test_pearson_from_sums_matches_numpy_and_refuses_constants() -> None:
    x = np.array([0.1, 0.4, 0.35, 0.8, 0.05, 0.6])
    y = np.array([0.2, 0.3, 0.5, 0.9, 0.1, 0.4])
    r = pearson_from_sums(6, x.sum(), y.sum(), (x * x).sum(), (y * y).sum(), (x * y).sum())
    assert r == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)
    assert pearson_from_sums(3, 3.0, 1.0, 3.0, 1.0, 1.0) is None  # x constant at 1
    assert pearson_from_sums(1, 1.0, 1.0, 1.0, 1.0, 1.0) is None


def test_mcnemar_by_hand() -> None:
    # 10 vs 30 discordant pairs: (|10 - 30| - 1)^2 / 40 = 9.025
    big = mcnemar(10, 30)
    assert big.statistic == pytest.approx(9.025)
    assert big.p_value == pytest.approx(chi2.sf(9.025, 1))
    assert big.method.startswith("chi-square")
    # 2 vs 8 (exact): 2 * P(X <= 2), X ~ Bin(10, 1/2) = 2 * (1 + 10 + 45) / 1024
    small = mcnemar(2, 8)
    assert small.p_value == pytest.approx(112 / 1024)
    assert small.method == "exact binomial"
    assert mcnemar(0, 0).p_value == 1.0
    assert mcnemar(5, 5).p_value == 1.0


def _pair(n: int, seed: int, better: float):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(float)
    common = rng.normal(0, 1, n)
    a = 1 / (1 + np.exp(-(1.0 * (2 * y - 1) + common + 0.5 * rng.normal(0, 1, n) - 1)))
    b = 1 / (1 + np.exp(-((1.0 + better) * (2 * y - 1) + common + 0.5 * rng.normal(0, 1, n) - 1)))
    return a, b, y


def test_paired_bootstrap_estimates_and_is_reproducible() -> None:
    a, b, y = _pair(3000, 1, better=0.5)
    first = paired_bootstrap(a, b, y, resamples=400, confidence=0.95, rng=rng_for(7, "w", "all"))
    again = paired_bootstrap(a, b, y, resamples=400, confidence=0.95, rng=rng_for(7, "w", "all"))
    assert first == again
    assert first.auc_champion == pytest.approx(roc_auc_score(y, a))
    assert first.auc_challenger == pytest.approx(roc_auc_score(y, b))
    assert first.log_loss_champion == pytest.approx(log_loss(y, a))
    assert first.log_loss_diff.estimate == pytest.approx(log_loss(y, b) - log_loss(y, a))
    d = first.auc_diff
    assert d.low < d.estimate < d.high and d.low > 0  # clearly better
    assert first.valid_resamples == 400
    other = paired_bootstrap(a, b, y, resamples=400, confidence=0.95, rng=rng_for(8, "w", "all"))
    assert other.auc_diff.low != d.low  # the seed matters


def test_paired_interval_is_narrower_than_independent_one() -> None:
    """Pairing is the point: both models on the same draw cancel the shared noise."""
    a, b, y = _pair(3000, 2, better=0.1)
    paired = paired_bootstrap(a, b, y, resamples=400, confidence=0.95, rng=rng_for(0, "p"))
    independent = independent_bootstrap((a, y), (b, y), resamples=400, confidence=0.95,
                                        rng=rng_for(0, "i"))
    assert paired.auc_diff.estimate == pytest.approx(independent["auc_diff"].estimate)
    assert paired.auc_diff.se < 0.7 * independent["auc_diff"].se


def test_identical_models_have_a_zero_interval_and_p_worse_follows_the_margin() -> None:
    a, _, y = _pair(500, 3, better=0.0)
    same = paired_bootstrap(a, a, y, resamples=200, confidence=0.95, rng=rng_for(0))
    assert (same.auc_diff.estimate, same.auc_diff.low, same.auc_diff.high) == (0.0, 0.0, 0.0)
    a, b, y = _pair(2000, 4, better=-0.6)  # challenger clearly worse
    worse = paired_bootstrap(a, b, y, resamples=300, confidence=0.95, rng=rng_for(0))
    assert worse.p_worse(0.0) < 0.001
    assert worse.p_worse(0.5) > 0.99  # not worse by as much as 0.5
