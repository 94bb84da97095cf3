"""Population Stability Index on binned counts.

PSI = Σ (q_i − p_i) · ln(q_i / p_i), with p the reference share and q the current share of bin i.
Empty bins would make the log infinite, so both shares are floored at ``EPSILON`` (1e-4, the
smoothing most credit-risk practice uses) before the sum; with that floor a bin that goes from
0 % to 10 % contributes ≈ 0.69, which keeps one new category from dwarfing everything else.
Rule of thumb: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 major shift.
"""

from __future__ import annotations

import numpy as np

from modelwatch.stats.registry import register

EPSILON = 1e-4


@register("psi", kinds=("numeric", "categorical"))
def psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    ref = np.asarray(reference_counts, dtype=float)
    cur = np.asarray(current_counts, dtype=float)
    if ref.shape != cur.shape:
        raise ValueError(f"bin count mismatch: reference {ref.shape} vs current {cur.shape}")
    if ref.sum() == 0 or cur.sum() == 0:
        return float("nan")
    p = np.clip(ref / ref.sum(), EPSILON, None)
    q = np.clip(cur / cur.sum(), EPSILON, None)
    return float(np.sum((q - p) * np.log(q / p)))
