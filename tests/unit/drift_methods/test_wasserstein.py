"""Binned Wasserstein-1: hand fixtures, the documented bound and tolerance against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from modelwatch.drift.methods import BinnedInput
from modelwatch.drift.methods.wasserstein import wasserstein
from tests.unit.drift_methods.samples import bin_samples, quantile_edges, shifted_normals


def test_disjoint_uniform_bins_by_hand() -> None:
    # U[0, 1) against U[1, 2]: W1 = 1; the pooled mixture is U[0, 2], IQR 1
    score = wasserstein(BinnedInput([10, 0], [0, 10], edges=[1.0], bounds=(0.0, 2.0)))
    assert score.details["w1"] == pytest.approx(1.0)
    assert score.details["scale"] == pytest.approx(1.0)
    assert score.value == pytest.approx(1.0)


def test_crossing_cdfs_by_hand() -> None:
    # reference ½U[0,1) + ½U[2,3], current U[1,2): the CDF gap is .5 → -.5 across the middle bin;
    # ∫|gap| = .25 + .25 + .25; the pooled shares (.25, .5, .25) put the quartiles at the edges 1, 2
    score = wasserstein(BinnedInput([5, 0, 5], [0, 10, 0], edges=[1.0, 2.0], bounds=(0.0, 3.0)))
    assert score.details["w1"] == pytest.approx(0.75)
    assert score.details["scale"] == pytest.approx(1.0)
    assert score.value == pytest.approx(0.75)


def test_one_repeated_value_has_no_distance() -> None:
    assert wasserstein(BinnedInput([4], [7], edges=np.array([]), bounds=(3.0, 3.0))).value == 0.0
    score = wasserstein(BinnedInput([0, 4, 0], [0, 7, 0], edges=[0.0, 1.0], bounds=(0.5, 0.5)))
    assert score.value == 0.0


@pytest.mark.parametrize("seed", range(6))
def test_fine_grid_agrees_with_scipy_within_one_percent(seed: int) -> None:
    reference, current = shifted_normals(seed)
    score = wasserstein(bin_samples(reference, current, quantile_edges(reference, current, 1000)))
    exact = wasserstein_distance(reference, current)
    assert abs(score.details["w1"] - exact) <= score.details["w1_error_bound"]
    assert score.details["w1"] == pytest.approx(exact, rel=0.01)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("n_edges", [20, 3])
def test_coarse_grids_stay_within_the_bound(seed: int, n_edges: int) -> None:
    reference, current = shifted_normals(seed)
    score = wasserstein(bin_samples(reference, current, quantile_edges(reference, current, n_edges)))
    assert abs(score.details["w1"] - wasserstein_distance(reference, current)) <= score.details[
        "w1_error_bound"
    ]


@pytest.mark.parametrize("seed", range(3))
def test_value_is_w1_over_the_pooled_iqr(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference, current = rng.normal(0.0, 1.0, 20_000), rng.normal(0.5, 1.0, 20_000)
    score = wasserstein(bin_samples(reference, current, quantile_edges(reference, current, 1000)))
    q75, q25 = np.quantile(np.concatenate([reference, current]), [0.75, 0.25])
    assert score.details["scale_kind"] == "pooled_iqr"
    assert score.details["scale"] == pytest.approx(q75 - q25, rel=0.01)
    assert score.value == pytest.approx(score.details["w1"] / score.details["scale"], rel=1e-12)
    assert 0.33 < score.value < 0.4  # a 0.5 sd shift: about 0.5 / 1.37
