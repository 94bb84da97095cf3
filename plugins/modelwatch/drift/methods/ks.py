"""Kolmogorov–Smirnov distance from binned counts, and the exact two-sample test.

Binned: D_b = max_j |A_j − B_j| over the inner edges, where A_j = P_ref(X < edges[j]) and
B_j = P_cur(X < edges[j]) are the cumulative shares of bins 0..j. It needs only the order of the
bins, not the edge values. The exact D = sup_x |F_ref(x) − F_cur(x)| can only differ inside a bin:
for x in bin j both CDFs stay within that bin's steps, so

    D_b <= D <= D_b + max_j min(p_j, q_j)

with p_j, q_j the two shares of bin j (so D − D_b is at most the largest bin's share on either
side). The bound is returned as ``details["max_error"]``; on a grid of 1000 pooled quantiles it is
about 0.001. p_value: the asymptotic Kolmogorov distribution, kstwobign.sf(D_b · sqrt(n·m/(n+m))),
with n, m the two totals (meaningful for raw integer counts).

``ks_exact`` runs ``scipy.stats.ks_2samp`` on raw values, for small windows where they are at hand:
the drift check uses it for a window (or slice) with at most ``drift.ks_exact_max_rows`` values,
against the profile's reference sample (``details["ks_mode"]`` says which one ran).
"""

from __future__ import annotations

import math

import numpy as np

from modelwatch.drift.methods.registry import BinnedInput, DriftScore, empty_score, register


def _ks_binned(p: np.ndarray, q: np.ndarray) -> tuple[float, float]:
    """(D_b, bound on D − D_b) from the shares of ordered bins."""
    gaps = np.abs(np.cumsum(p)[:-1] - np.cumsum(q)[:-1])
    distance = float(gaps.max()) if gaps.size else 0.0
    return distance, float(np.minimum(p, q).max())


@register(
    "ks", kinds=("numeric",), warn=0.1, alert=0.2, needs_edges=True,
    description="Kolmogorov-Smirnov distance from the binned CDFs (a lower bound on the exact D)",
)
def ks(data: BinnedInput) -> DriftScore:
    """Binned KS distance and asymptotic p-value; NaN when either side is empty."""
    data.require_edges("ks")
    if (empty := empty_score(data, has_test=True)) is not None:
        return empty
    from scipy.stats import kstwobign  # lazy: keep the registry import light

    p, q = data.shares()
    distance, max_error = _ks_binned(p, q)
    n, m = float(data.reference.sum()), float(data.current.sum())
    p_value = float(kstwobign.sf(distance * math.sqrt(n * m / (n + m))))
    return DriftScore(distance, p_value, {"max_error": max_error, "ks_mode": "grid"})


def ks_exact(reference_values: np.ndarray, current_values: np.ndarray) -> DriftScore:
    """Exact two-sample KS on raw values (``scipy.stats.ks_2samp``, method "auto").

    Args:
        reference_values: Raw reference values (1-D, no NaN).
        current_values: Raw current values (1-D, no NaN).

    Returns:
        D and its p-value; NaN for both when either side is empty.

    Raises:
        ValueError: When either side contains NaN (drop or count missing values before).
    """
    from scipy.stats import ks_2samp  # lazy: keep the registry import light

    ref = np.asarray(reference_values, dtype=float).ravel()
    cur = np.asarray(current_values, dtype=float).ravel()
    for side, values in (("reference", ref), ("current", cur)):
        if np.isnan(values).any():
            raise ValueError(f"{side} values contain NaN; drop or count missing values before ks_exact")
    details = {"ks_mode": "exact", "n_reference": int(ref.size), "n_current": int(cur.size)}
    if ref.size == 0 or cur.size == 0:
        side = "reference" if ref.size == 0 else "current"
        return DriftScore(float("nan"), float("nan"), {**details, "reason": f"the {side} window is empty"})
    result = ks_2samp(ref, cur)
    return DriftScore(float(result.statistic), float(result.pvalue), details)
