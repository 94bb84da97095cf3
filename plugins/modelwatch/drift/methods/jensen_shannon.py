"""Jensen–Shannon distance (base 2) between reference and current shares.

JS(p, q) = sqrt( ½ Σ_i p_i·log2(p_i / m_i) + ½ Σ_i q_i·log2(q_i / m_i) ),  m = (p + q) / 2,
with 0·log 0 = 0. No smoothing is needed: m_i > 0 wherever p_i or q_i is, so empty bins and
unseen categories are fine. The value is a metric in [0, 1]: 0 for identical shares, 1 for
disjoint support. Computed exactly as ``scipy.spatial.distance.jensenshannon(p, q, base=2)``.
"""

from __future__ import annotations

import math

import numpy as np

from modelwatch.drift.methods.registry import BinnedInput, DriftScore, empty_score, register


def _js_distance(p: np.ndarray, q: np.ndarray) -> float:
    from scipy.special import rel_entr  # lazy: keep the registry import light

    m = (p + q) / 2.0
    divergence = (float(np.sum(rel_entr(p, m))) + float(np.sum(rel_entr(q, m)))) / math.log(2) / 2.0
    # rounding can leave a -1e-17 for identical shares, or a hair above 1 for disjoint ones
    return min(math.sqrt(max(divergence, 0.0)), 1.0)


@register(
    "jensen_shannon", kinds=("numeric", "categorical"), warn=0.1, alert=0.2,
    description="Jensen-Shannon distance, base 2, in [0, 1]; no smoothing needed",
)
def jensen_shannon(data: BinnedInput) -> DriftScore:
    """JS distance between the reference and current shares; NaN when either side is empty."""
    if (empty := empty_score(data)) is not None:
        return empty
    p, q = data.shares()
    return DriftScore(_js_distance(p, q))
