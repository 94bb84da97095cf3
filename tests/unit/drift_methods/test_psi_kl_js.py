"""PSI, KL and Jensen-Shannon on hand-computed fixtures and against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy

from modelwatch.drift.methods import BinnedInput
from modelwatch.drift.methods.jensen_shannon import jensen_shannon
from modelwatch.drift.methods.kl import kl
from modelwatch.drift.methods.psi import EPSILON, psi

HALF_HALF = BinnedInput([50, 50], [25, 75])  # p = (.5, .5), q = (.25, .75)


def test_psi_by_hand() -> None:
    # (.25 - .5) ln(.5) + (.75 - .5) ln(1.5) = .25 ln 2 + .25 ln 1.5 = .25 ln 3
    assert psi(HALF_HALF).value == pytest.approx(0.25 * math.log(3), rel=1e-12)


def test_psi_floors_an_empty_bin_at_epsilon() -> None:
    value = psi(BinnedInput([100, 0], [90, 10])).value
    expected = (0.9 - 1.0) * math.log(0.9) + (0.1 - EPSILON) * math.log(0.1 / EPSILON)
    assert value == pytest.approx(expected, rel=1e-12)
    assert math.isfinite(value)


def test_kl_by_hand_is_current_given_reference() -> None:
    # KL(q||p) = .25 ln(.25/.5) + .75 ln(.75/.5) = .75 ln 3 - ln 2
    assert kl(HALF_HALF).value == pytest.approx(0.75 * math.log(3) - math.log(2), rel=1e-12)
    # the other direction: KL(p||q) = .5 ln 2 + .5 ln(2/3) = .5 ln(4/3)
    assert kl(BinnedInput([25, 75], [50, 50])).value == pytest.approx(0.5 * math.log(4 / 3), rel=1e-12)


def test_psi_is_the_sum_of_both_kl_directions_without_empty_bins() -> None:
    rng = np.random.default_rng(7)
    ref, cur = rng.integers(1, 100, 12), rng.integers(1, 100, 12)
    both = kl(BinnedInput(ref, cur)).value + kl(BinnedInput(cur, ref)).value
    assert psi(BinnedInput(ref, cur)).value == pytest.approx(both, rel=1e-12)


def test_kl_matches_scipy_entropy_without_empty_bins() -> None:
    rng = np.random.default_rng(11)
    ref, cur = rng.integers(1, 100, 20), rng.integers(1, 100, 20)
    assert kl(BinnedInput(ref, cur)).value == pytest.approx(entropy(cur, ref), rel=1e-12)


def test_kl_floors_like_psi_then_renormalises() -> None:
    # p = (1, 1e-4, 1e-4) / 1.0002, q = (.5, .5, 1e-4) / 1.0001
    p = np.array([1.0, EPSILON, EPSILON])
    q = np.array([0.5, 0.5, EPSILON])
    renormalised = float(np.sum(q / q.sum() * np.log((q / q.sum()) / (p / p.sum()))))
    assert kl(BinnedInput([100, 0, 0], [50, 50, 0])).value == pytest.approx(renormalised, rel=1e-12)
    assert renormalised != pytest.approx(float(np.sum(q * np.log(q / p))), rel=1e-6)


def test_kl_stays_non_negative_where_flooring_alone_would_not() -> None:
    # reference empty in a bin the current barely uses: floored shares alone give about -1e-6
    p, q = np.array([1.0, EPSILON]), np.array([1 - 1e-6, EPSILON])
    assert float(np.sum(q * np.log(q / p))) < -1e-7
    assert 0.0 <= kl(BinnedInput([1_000_000, 0], [999_999, 1])).value < 1e-12


@pytest.mark.parametrize("seed", range(5))
def test_js_equals_scipy_on_the_shares(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = rng.integers(0, 50, 30)
    cur = rng.integers(0, 50, 30)
    ref[3] = 0  # an unseen bin on each side: no smoothing needed
    cur[5] = 0
    p, q = ref / ref.sum(), cur / cur.sum()
    assert jensen_shannon(BinnedInput(ref, cur)).value == pytest.approx(
        jensenshannon(p, q, base=2), rel=1e-12, abs=1e-15
    )


def test_js_bounds() -> None:
    assert jensen_shannon(BinnedInput([1, 0], [0, 1])).value == pytest.approx(1.0)
    assert jensen_shannon(BinnedInput([5, 5], [1, 1])).value == 0.0
    assert jensen_shannon(HALF_HALF).value == pytest.approx(jensenshannon([0.5, 0.5], [0.25, 0.75], base=2))
