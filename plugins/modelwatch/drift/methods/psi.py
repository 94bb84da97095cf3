"""Population Stability Index (PSI) on binned counts.

PSI = Σ_i (q_i − p_i) · ln(q_i / p_i), with p the reference share and q the current share of bin i.
An empty bin would make the log infinite, so both shares are floored at ``EPSILON`` (1e-4) before
the sum, without renormalising (the usual credit-risk convention). Each term is >= 0 and the
formula is symmetric in p and q: PSI = KL(q‖p) + KL(p‖q) for unsmoothed shares.
Rule of thumb: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 major shift.
"""

from __future__ import annotations

import numpy as np

from modelwatch.drift.methods.registry import BinnedInput, DriftScore, empty_score, register

EPSILON = 1e-4


def _psi(p: np.ndarray, q: np.ndarray) -> float:
    p = np.maximum(p, EPSILON)
    q = np.maximum(q, EPSILON)
    return float(np.sum((q - p) * np.log(q / p)))


@register(
    "psi", kinds=("numeric", "categorical"), warn=0.1, alert=0.25,
    description="Population Stability Index: symmetric, shares floored at 1e-4",
)
def psi(data: BinnedInput) -> DriftScore:
    """PSI between the reference and current shares; NaN when either side is empty."""
    if (empty := empty_score(data)) is not None:
        return empty
    p, q = data.shares()
    return DriftScore(_psi(p, q), details={"epsilon": EPSILON})
