"""PSI against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from modelwatch.stats.psi import EPSILON, psi
from modelwatch.stats.registry import get_method


def test_psi_matches_hand_computation() -> None:
    # shares p = (.5, .5), q = (.25, .75)
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert psi(np.array([50, 50]), np.array([25, 75])) == pytest.approx(expected, rel=1e-12)


def test_identical_distributions_give_zero_and_scale_does_not_matter() -> None:
    assert psi(np.array([10, 20, 30]), np.array([100, 200, 300])) == pytest.approx(0.0, abs=1e-12)


def test_empty_bin_is_smoothed_not_infinite() -> None:
    value = psi(np.array([100, 0]), np.array([90, 10]))
    p, q = np.array([1.0, EPSILON]), np.array([0.9, 0.1])
    assert value == pytest.approx(float(np.sum((q - p) * np.log(q / p))))
    assert math.isfinite(value)


def test_empty_window_is_nan_and_shape_mismatch_raises() -> None:
    assert math.isnan(psi(np.array([1, 2]), np.array([0, 0])))
    with pytest.raises(ValueError, match="bin count mismatch"):
        psi(np.array([1, 2]), np.array([1, 2, 3]))


def test_registry_lookup_and_unknown_method_lists_valid_names() -> None:
    assert get_method("psi", "numeric") is psi
    with pytest.raises(KeyError) as info:
        get_method("nope", "numeric")
    assert "psi" in str(info.value)
