"""Properties every registered method must have, checked over several seeds."""

from __future__ import annotations

import numpy as np
import pytest

from modelwatch.drift.methods import METHODS, BinnedInput

SEEDS = range(8)
SYMMETRIC = {"psi", "jensen_shannon", "ks", "wasserstein"}
EDGES = np.linspace(-2.0, 2.0, 9)  # 10 bins
BOUNDS = (-3.5, 4.0)


def _counts(rng: np.random.Generator) -> np.ndarray:
    counts = rng.integers(0, 200, EDGES.size + 1)
    counts[rng.integers(0, counts.size)] = 0  # keep an empty bin in play for the smoothing
    counts[rng.integers(0, counts.size)] += 1  # never all zero
    return counts


def _score(key: tuple[str, str], reference: np.ndarray, current: np.ndarray) -> float:
    kind_numeric = key[1] == "numeric"
    data = BinnedInput(
        reference, current, EDGES if kind_numeric else None, BOUNDS if kind_numeric else None
    )
    return METHODS[key].func(data).value


@pytest.mark.parametrize("key", sorted(METHODS))
def test_identical_distributions_score_zero(key: tuple[str, str]) -> None:
    for seed in SEEDS:
        counts = _counts(np.random.default_rng(seed))
        assert _score(key, counts, counts) == pytest.approx(0.0, abs=1e-12), seed
        assert _score(key, counts, 3 * counts) == pytest.approx(0.0, abs=1e-9), seed


@pytest.mark.parametrize("key", sorted(METHODS))
def test_scaling_counts_does_not_change_the_value(key: tuple[str, str]) -> None:
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        reference, current = _counts(rng), _counts(rng)
        base = _score(key, reference, current)
        assert base > 0, seed
        assert _score(key, 7 * reference, current) == pytest.approx(base, rel=1e-9), seed
        assert _score(key, reference, 0.5 * current) == pytest.approx(base, rel=1e-9), seed


@pytest.mark.parametrize("key", sorted(METHODS))
def test_symmetry_holds_exactly_where_documented(key: tuple[str, str]) -> None:
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        reference, current = _counts(rng), _counts(rng)
        forward, backward = _score(key, reference, current), _score(key, current, reference)
        if key[0] in SYMMETRIC:
            assert forward == pytest.approx(backward, rel=1e-12), seed
        elif key[0] == "kl":
            assert abs(forward - backward) > 1e-3, seed


def test_the_symmetric_set_is_checked_for_every_kind() -> None:
    assert SYMMETRIC <= {name for name, _ in METHODS}
