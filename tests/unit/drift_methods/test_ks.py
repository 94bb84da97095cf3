"""Binned KS: the documented bound against ks_2samp; ks_exact is ks_2samp."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import ks_2samp, kstwobign

from modelwatch.drift.methods import BinnedInput
from modelwatch.drift.methods.ks import ks, ks_exact
from tests.unit.drift_methods.samples import bin_samples, quantile_edges, shifted_normals


def test_by_hand() -> None:
    # cumulative shares at the edges: reference (.25, .5), current (.5, .75)
    score = ks(BinnedInput([1, 1, 2], [2, 1, 1], edges=[0.0, 1.0]))
    assert score.value == pytest.approx(0.25)
    assert score.details["max_error"] == pytest.approx(0.25)  # max_j min(p_j, q_j)
    assert score.p_value == pytest.approx(kstwobign.sf(0.25 * math.sqrt(4 * 4 / 8)))


def test_one_bin_has_no_distance() -> None:
    assert ks(BinnedInput([3], [5], edges=np.array([]))).value == 0.0


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_edges", [1000, 20, 3])
def test_binned_d_is_within_the_bound_of_the_exact_d(seed: int, n_edges: int) -> None:
    reference, current = shifted_normals(seed)
    data = bin_samples(reference, current, quantile_edges(reference, current, n_edges))
    score = ks(data)
    exact = ks_2samp(reference, current).statistic
    # D_b <= D <= D_b + max_j min(p_j, q_j)
    assert score.value <= exact + 1e-12
    assert exact - score.value <= score.details["max_error"] + 1e-12
    p, q = data.shares()
    assert score.details["max_error"] == pytest.approx(float(np.minimum(p, q).max()))
    if n_edges == 1000:
        assert exact - score.value <= 0.0015


@pytest.mark.parametrize("seed", range(4))
def test_binned_d_is_exact_when_every_bin_holds_one_distinct_value(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference, current = rng.poisson(6.0, 500), rng.poisson(6.8, 400)
    values = np.union1d(reference, current)
    edges = (values[:-1] + values[1:]) / 2
    assert ks(bin_samples(reference, current, edges)).value == pytest.approx(
        ks_2samp(reference, current).statistic, abs=1e-12
    )


@pytest.mark.parametrize("seed", range(4))
def test_binned_p_value_is_close_to_the_asymptotic_test_under_no_drift(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference, current = rng.normal(size=3000), rng.normal(size=2000)
    score = ks(bin_samples(reference, current, quantile_edges(reference, current, 1000)))
    en = 3000 * 2000 / 5000
    assert score.p_value == pytest.approx(kstwobign.sf(score.value * math.sqrt(en)), rel=1e-12)
    assert score.p_value == pytest.approx(ks_2samp(reference, current, method="asymp").pvalue, abs=0.06)


@pytest.mark.parametrize("seed", range(5))
def test_ks_exact_is_ks_2samp(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference, current = rng.normal(size=40), rng.normal(0.5, 1.0, size=30)
    expected = ks_2samp(reference, current)
    score = ks_exact(reference, current)
    assert (score.value, score.p_value) == (expected.statistic, expected.pvalue)
    assert score.details == {"ks_mode": "exact", "n_reference": 40, "n_current": 30}


def test_ks_exact_empty_side_is_nan_and_nan_values_raise() -> None:
    score = ks_exact(np.array([1.0, 2.0]), np.array([]))
    assert math.isnan(score.value) and math.isnan(score.p_value)
    with pytest.raises(ValueError, match="current values contain NaN"):
        ks_exact(np.array([1.0]), np.array([1.0, np.nan]))
