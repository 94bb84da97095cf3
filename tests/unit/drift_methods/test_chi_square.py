"""Chi-square: agreement with scipy, smoothing of unseen categories, and scale."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from scipy.stats import chi2, chisquare

from modelwatch.drift.methods import BinnedInput
from modelwatch.drift.methods.chi_square import chi_square
from modelwatch.drift.methods.psi import EPSILON


def test_by_hand() -> None:
    # expected (50, 50); chi2 = 25²/50 · 2 = 25; V = sqrt(25 / (100 · 1)) = 0.5
    score = chi_square(BinnedInput([50, 50], [25, 75]))
    assert score.details["chi2"] == pytest.approx(25.0)
    assert score.value == pytest.approx(0.5)
    assert score.p_value == pytest.approx(chi2.sf(25.0, 1))


@pytest.mark.parametrize("seed", range(5))
def test_statistic_and_p_value_match_scipy_without_empty_bins(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = rng.integers(5, 500, 15)
    cur = rng.integers(5, 500, 15)
    expected = ref / ref.sum() * cur.sum()
    scipy_result = chisquare(cur, expected)
    score = chi_square(BinnedInput(ref, cur))
    assert score.details["chi2"] == pytest.approx(scipy_result.statistic, rel=1e-10)
    assert score.p_value == pytest.approx(scipy_result.pvalue, rel=1e-8, abs=1e-300)
    assert score.value == pytest.approx(math.sqrt(scipy_result.statistic / (cur.sum() * 14)), rel=1e-10)
    assert score.details["smoothed_bins"] == 0


def test_unseen_category_is_smoothed_to_a_finite_value() -> None:
    score = chi_square(BinnedInput([100, 50, 0], [90, 40, 20]))
    assert math.isfinite(score.value) and math.isfinite(score.details["chi2"])
    assert score.details["smoothed_bins"] == 1
    # the unseen share is min(EPSILON, half the rarest seen share) = 1e-4, then renormalised
    p = np.array([100 / 150, 50 / 150, EPSILON])
    expected = p / p.sum() * 150
    assert score.details["chi2"] == pytest.approx(chisquare([90, 40, 20], expected).statistic, rel=1e-10)
    assert score.value > 0.2  # a category the reference never saw taking 13 % is an alert


def test_unseen_share_never_exceeds_half_the_rarest_seen_share() -> None:
    ref = np.array([1_000_000, 1, 0])  # rarest seen share 1e-6 < EPSILON
    score = chi_square(BinnedInput(ref, [1_000_000, 1, 1]))
    p = np.array([1_000_000, 1, 0.5]) / 1_000_001
    expected = p / p.sum() * 1_000_002
    assert score.details["chi2"] == pytest.approx(chisquare([1_000_000, 1, 1], expected).statistic, rel=1e-9)


def test_bins_empty_on_both_sides_are_dropped() -> None:
    with_empty = chi_square(BinnedInput([10, 20, 0, 30], [15, 15, 0, 30]))
    without = chi_square(BinnedInput([10, 20, 30], [15, 15, 30]))
    assert with_empty.value == pytest.approx(without.value, rel=1e-12)
    assert with_empty.p_value == pytest.approx(without.p_value, rel=1e-12)
    assert with_empty.details["dof"] == 2


def test_one_category_cannot_drift() -> None:
    score = chi_square(BinnedInput([10, 0], [3, 0]))
    assert (score.value, score.p_value) == (0.0, 1.0)


def test_value_does_not_grow_with_the_window_but_the_p_value_does_shrink() -> None:
    small = chi_square(BinnedInput([50, 50], [45, 55]))
    large = chi_square(BinnedInput([50, 50], [4500, 5500]))
    assert large.value == pytest.approx(small.value, rel=1e-12)
    assert large.p_value < 1e-20 < 0.3 < small.p_value


def test_a_hundred_thousand_categories_run_fast_and_finite() -> None:
    rng = np.random.default_rng(3)
    k = 100_000
    ref = rng.poisson(200_000 / np.arange(1, k + 1))  # Zipf-like, the tail mostly zero
    cur = rng.poisson(200_000 / rng.permutation(np.arange(1, k + 1)))  # new categories appear
    started = time.perf_counter()
    score = chi_square(BinnedInput(ref, cur))
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0
    assert math.isfinite(score.value) and math.isfinite(score.p_value)
    assert score.details["smoothed_bins"] > 0
