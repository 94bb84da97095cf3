"""The pure statistics, against hand computations and reference implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chi2
from sklearn.metrics import log_loss, roc_auc_score

from modelwatch.shadow.stats import (
    ClassSums,
    auc,
    delong_paired,
    independent_bootstrap,
    log_losses,
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


def _sums(a: np.ndarray, b: np.ndarray, y: np.ndarray, label: float) -> ClassSums:
    """``ClassSums`` of one class as the warehouse computes them, here from numpy midranks."""
    from scipy.stats import rankdata

    def twice_placement(score):
        return (2 * rankdata(score) - 2 * _within(score, y)).astype(np.int64)

    ta, tb = twice_placement(a), twice_placement(b)
    la, lb = log_losses(a, y), log_losses(b, y)
    k = y == label
    d = tb[k] - ta[k]
    return ClassSums(count=int(k.sum()), twice_a=int(ta[k].sum()), twice_b=int(tb[k].sum()),
                     twice_aa=int((ta[k] ** 2).sum()), twice_d=int(d.sum()), twice_dd=int((d * d).sum()),
                     loss_a=float(la[k].sum()), loss_aa=float((la[k] ** 2).sum()),
                     loss_b=float(lb[k].sum()), loss_d=float((lb - la)[k].sum()),
                     loss_dd=float(((lb - la)[k] ** 2).sum()))


def _within(score: np.ndarray, y: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    out = np.empty(score.size)
    for label in (0.0, 1.0):
        k = y == label
        out[k] = rankdata(score[k])
    return out


def _delong(a, b, y, confidence=0.95):
    return delong_paired(_sums(a, b, y, 1.0), _sums(a, b, y, 0.0), confidence=confidence)


def test_delong_by_hand_on_five_requests() -> None:
    """Positives P1, P2 and negatives N1..N3. Champion a: P1 0.8, P2 0.4 | N 0.4, 0.1, 0.3.
    Challenger b: P1 0.9, P2 0.6 | N 0.5, 0.2, 0.7.

    Placements V10 (share of negatives below, tie ½): a: P1 3/3, P2 (2 + ½)/3 -> AUC 5.5/6;
    b: P1 3/3, P2 2/3 -> AUC 5/6. V01 (share of positives above, tie ½): a: N1 (0.4) 1.5/2,
    N2 1, N3 1; b: N1 1, N2 1, N3 1/2. Differences b − a: ΔV10 = (0, −1/6), ΔV01 = (1/4, 0, −1/2).
    var(ΔV10) = 2·(1/12)² / 1 = 1/72. mean ΔV01 = −1/12, Σ(ΔV01 − mean)² = (1/3)² + (1/12)² +
    (5/12)² = 42/144, / 2 = 7/48. Var(AUC_b − AUC_a) = (1/72)/2 + (7/48)/3 = 1/144 + 7/144 = 1/18.
    """
    y = np.array([1.0, 1, 0, 0, 0])
    a = np.array([0.8, 0.4, 0.4, 0.1, 0.3])
    b = np.array([0.9, 0.6, 0.5, 0.2, 0.7])
    c = _delong(a, b, y)
    assert c.auc_champion == pytest.approx(5.5 / 6)
    assert c.auc_challenger == pytest.approx(5 / 6)
    assert c.auc_diff.estimate == pytest.approx(-0.5 / 6)
    assert c.auc_diff.se == pytest.approx(math.sqrt(1 / 18))
    z = 1.959963984540054
    assert c.auc_diff.low == pytest.approx(-0.5 / 6 - z * math.sqrt(1 / 18))
    assert c.log_loss_champion == pytest.approx(log_loss(y, a))
    assert c.log_loss_diff.estimate == pytest.approx(log_loss(y, b) - log_loss(y, a))
    same = _delong(a, a, y)
    assert (same.auc_diff.estimate, same.auc_diff.low, same.auc_diff.high) == (0.0, 0.0, 0.0)
    assert same.p_not_better(0.0) == 1.0


def _delong_naive(a, b, y):
    """DeLong's definition, O(m·n): the kernel ψ(x, y) = 1, ½, 0 over all positive/negative pairs."""
    pos, neg = y == 1, y == 0

    def placements(s):
        psi = (s[pos][:, None] > s[neg][None, :]) + 0.5 * (s[pos][:, None] == s[neg][None, :])
        return psi.mean(axis=1), psi.mean(axis=0)

    (a10, a01), (b10, b01) = placements(a), placements(b)
    var = np.var(b10 - a10, ddof=1) / pos.sum() + np.var(b01 - a01, ddof=1) / neg.sum()
    return b10.mean() - a10.mean(), math.sqrt(var)


@pytest.mark.parametrize("seed, better, decimals", [(11, 0.3, 6), (12, 0.0, 2), (13, -0.4, 3)])
def test_delong_matches_its_definition_with_ties(seed: int, better: float, decimals: int) -> None:
    a, b, y = _pair(1500, seed, better)
    a, b = np.round(a, decimals), np.round(b, decimals)  # ties within and across classes
    c = _delong(a, b, y)
    diff, se = _delong_naive(a, b, y)
    assert c.auc_diff.estimate == pytest.approx(diff, abs=1e-12)
    assert c.auc_diff.se == pytest.approx(se, rel=1e-9)
    assert c.auc_diff.estimate == pytest.approx(roc_auc_score(y, b) - roc_auc_score(y, a), abs=1e-12)


@pytest.mark.parametrize("seed, better, n", [(21, 0.3, 4000), (22, 0.0, 4000), (23, -0.2, 3000),
                                              (24, 0.6, 6000)])
def test_delong_agrees_with_the_paired_bootstrap_within_ten_percent(seed, better, n) -> None:
    """Same data, same confidence: DeLong's interval has the bootstrap's width and centre within
    10 % of the bootstrap width, and the one-sided p-values of the gate agree within 0.05."""
    a, b, y = _pair(n, seed, better)
    boot = paired_bootstrap(a, b, y, resamples=2000, confidence=0.95, rng=rng_for(seed, "agree"))
    closed = _delong(a, b, y)
    width_b = boot.auc_diff.high - boot.auc_diff.low
    width_d = closed.auc_diff.high - closed.auc_diff.low
    assert width_d == pytest.approx(width_b, rel=0.10)
    centre_b = (boot.auc_diff.high + boot.auc_diff.low) / 2
    assert abs(closed.auc_diff.estimate - centre_b) <= 0.10 * width_b
    assert closed.auc_diff.se == pytest.approx(boot.auc_diff.se, rel=0.10)
    for margin in (0.0, 0.02):
        assert closed.p_worse(margin) == pytest.approx(boot.p_worse(margin), abs=0.05)
    ll_width_b = boot.log_loss_diff.high - boot.log_loss_diff.low
    assert closed.log_loss_diff.high - closed.log_loss_diff.low == pytest.approx(ll_width_b, rel=0.10)
