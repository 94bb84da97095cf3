"""Kullback–Leibler divergence KL(current ‖ reference) on binned counts, in nats.

KL(q‖p) = Σ_i q_i · ln(q_i / p_i), with p the reference share and q the current share of bin i.
It is the information lost when the reference is used to describe the current window, so it is
*not* symmetric. Smoothing is PSI's: both shares floored at ``EPSILON`` (1e-4); unlike PSI, they
are then renormalised to sum to 1 so the result stays a true divergence (>= 0 by Gibbs'
inequality; without renormalisation a floored bin could make it slightly negative).
"""

from __future__ import annotations

import numpy as np

from modelwatch.drift.methods.psi import EPSILON
from modelwatch.drift.methods.registry import BinnedInput, DriftScore, empty_score, register


def _kl(q: np.ndarray, p: np.ndarray) -> float:
    p = np.maximum(p, EPSILON)
    q = np.maximum(q, EPSILON)
    p, q = p / p.sum(), q / q.sum()
    return max(float(np.sum(q * np.log(q / p))), 0.0)


@register(
    "kl", kinds=("numeric", "categorical"), warn=0.1, alert=0.25,
    description="KL(current||reference) in nats, shares floored at 1e-4 then renormalised",
)
def kl(data: BinnedInput) -> DriftScore:
    """KL divergence of the current shares from the reference shares; NaN when a side is empty."""
    if (empty := empty_score(data)) is not None:
        return empty
    p, q = data.shares()
    return DriftScore(_kl(q, p), details={"epsilon": EPSILON, "direction": "KL(current||reference)"})
