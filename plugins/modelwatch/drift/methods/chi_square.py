"""Pearson chi-square goodness of fit of the current counts to the reference shares.

χ² = Σ_i (o_i − e_i)² / e_i, with o the current counts, e_i = p_i · n the expected counts
(p the reference shares, n the current total). Bins empty on both sides are dropped first: they
carry no information and would only add degrees of freedom. A bin the reference never saw
(p_i = 0, e.g. a new category) would give e_i = 0 and χ² = inf, so its share is smoothed to
``min(EPSILON, ½ · smallest non-zero reference share)`` — no more likely than half the rarest
category the reference did see, and never more than 1e-4 — and p is renormalised so Σe = n.

value = sqrt(χ² / (n · (k − 1))), a Cramér's-V-like effect size (k = bins kept), which unlike χ²
does not grow with the window size; 0 means the current shares match the reference. It is not
capped at 1: a heavy shift into rare or unseen bins can exceed it. p_value = χ²_{k−1}.sf(χ²).
"""

from __future__ import annotations

import math

import numpy as np

from modelwatch.drift.methods.psi import EPSILON
from modelwatch.drift.methods.registry import BinnedInput, DriftScore, empty_score, register


def _chi_square(reference: np.ndarray, current: np.ndarray) -> tuple[float, int, int]:
    """(χ², k, number of smoothed bins) after dropping bins empty on both sides."""
    keep = (reference > 0) | (current > 0)
    reference, current = reference[keep], current[keep]
    p = reference / reference.sum()
    unseen = p == 0
    if unseen.any():
        p = np.where(unseen, min(EPSILON, 0.5 * float(p[~unseen].min())), p)
        p = p / p.sum()
    expected = p * current.sum()
    return float(np.sum((current - expected) ** 2 / expected)), int(p.size), int(unseen.sum())


@register(
    "chi_square", kinds=("numeric", "categorical"), warn=0.1, alert=0.2,
    description="Pearson chi-square of current counts vs reference shares; value is a Cramer's-V-like size",
)
def chi_square(data: BinnedInput) -> DriftScore:
    """Chi-square effect size and p-value; NaN when either side is empty."""
    if (empty := empty_score(data, has_test=True)) is not None:
        return empty
    from scipy.stats import chi2 as chi2_dist  # lazy: keep the registry import light

    statistic, k, smoothed = _chi_square(data.reference, data.current)
    details = {"chi2": statistic, "dof": k - 1, "smoothed_bins": smoothed}
    if k < 2:  # one category on both sides: nothing can have shifted
        return DriftScore(0.0, 1.0, details)
    n = float(data.current.sum())
    return DriftScore(math.sqrt(statistic / (n * (k - 1))), float(chi2_dist.sf(statistic, k - 1)), details)
