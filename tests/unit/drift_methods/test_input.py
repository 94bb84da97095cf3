"""BinnedInput validation and NaN handling for every method."""

from __future__ import annotations

import math

import numpy as np
import pytest

from modelwatch.drift.methods import METHODS, BinnedInput

NAN = float("nan")


def test_counts_become_float_arrays() -> None:
    data = BinnedInput([1, 2, 3], (3, 2, 1), edges=[0, 1], bounds=(-1, 2))
    assert data.reference.dtype == float and data.current.dtype == float
    assert data.edges.tolist() == [0.0, 1.0]
    assert data.bounds == (-1.0, 2.0)
    p, q = data.shares()
    assert p.tolist() == pytest.approx([1 / 6, 2 / 6, 3 / 6])
    assert q.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("side", ["reference", "current"])
def test_nan_counts_raise_a_clear_value_error(side: str) -> None:
    good, bad = np.array([1.0, 2.0, 3.0]), np.array([1.0, NAN, 3.0])
    args = (bad, good) if side == "reference" else (good, bad)
    with pytest.raises(ValueError, match=rf"{side} counts contain NaN at bins \[1\]"):
        BinnedInput(*args)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reference": [1, -1], "current": [1, 1]}, "finite and >= 0"),
        ({"reference": [1, np.inf], "current": [1, 1]}, "finite and >= 0"),
        ({"reference": [1, 2], "current": [1, 2, 3]}, "bin count mismatch"),
        ({"reference": [], "current": []}, "no bins"),
        ({"reference": [[1, 2]], "current": [[1, 2]]}, "1-D"),
        ({"reference": [1, 2, 3], "current": [1, 2, 3], "edges": [0.0]}, "2 inner edges of 3 bins"),
        ({"reference": [1, 2, 3], "current": [1, 2, 3], "edges": [1.0, 0.0]}, "sorted"),
        ({"reference": [1, 2], "current": [1, 2], "edges": [NAN]}, "finite"),
        ({"reference": [1, 2], "current": [1, 2], "edges": [0.0], "bounds": (1.0, 0.0)}, "min <= max"),
    ],
)
def test_malformed_input_is_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BinnedInput(**kwargs)


@pytest.mark.parametrize("key", sorted(METHODS))
@pytest.mark.parametrize("empty", ["reference", "current"])
def test_an_empty_side_gives_nan_and_never_raises(key: tuple[str, str], empty: str) -> None:
    spec = METHODS[key]
    counts, zeros = np.array([3, 0, 5]), np.zeros(3)
    ref, cur = (zeros, counts) if empty == "reference" else (counts, zeros)
    score = spec.func(BinnedInput(ref, cur, edges=np.array([0.0, 1.0]), bounds=(-1.0, 2.0)))
    assert math.isnan(score.value)
    assert empty in score.details["reason"]
    if score.p_value is not None:
        assert math.isnan(score.p_value)
