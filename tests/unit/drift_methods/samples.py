"""Bin raw samples the way the warehouse query does, so binned methods can be checked against scipy."""

from __future__ import annotations

import numpy as np

from modelwatch.drift.methods import BinnedInput


def quantile_edges(reference: np.ndarray, current: np.ndarray, n_edges: int) -> np.ndarray:
    """``n_edges`` inner edges at evenly spaced quantiles of the pooled sample (duplicates dropped)."""
    pooled = np.concatenate([reference, current])
    return np.unique(np.quantile(pooled, np.linspace(0, 1, n_edges + 2)[1:-1]))


def bin_samples(reference: np.ndarray, current: np.ndarray, edges: np.ndarray) -> BinnedInput:
    """Counts per bin, bin i = [edges[i-1], edges[i]), with the outer bins closed by (min, max)."""
    k = edges.size + 1
    ref = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=k)
    cur = np.bincount(np.searchsorted(edges, current, side="right"), minlength=k)
    pooled = np.concatenate([reference, current])
    return BinnedInput(ref, cur, edges, (float(pooled.min()), float(pooled.max())))


def shifted_normals(seed: int, n_ref: int = 4000, n_cur: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """A reference N(0, 1) sample and a current sample shifted and widened a little."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 1.0, n_ref), rng.normal(0.2, 1.3, n_cur)
