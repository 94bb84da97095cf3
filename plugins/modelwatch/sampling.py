"""How much a share or a mean moves by chance between two samples of given sizes.

A constant level alone judges a 150-row window like a 150,000-row one: at 150 rows a share moves
by several points from noise alone, so a level of 3 points alerts on quiet data, while at 150,000
rows it is the effect-size floor that matters. Checks of shares, means and rates therefore raise
their levels to a multiple of the change's sampling error at the window's size (``metrics.
judge_change``). Pure arithmetic, no modelwatch imports.
"""

from __future__ import annotations

import math

# A change counts once it is this many standard errors out (and above the constant level).
# One-sided tail 2.3e-4 (warn) and 2.9e-7 (alert) per check and window: ~20 share checks a window
# on a daily model give about one chance warn a year and no chance alert.
Z_WARN = 3.5
Z_ALERT = 5.0


def share_change_error(count: float, rows: float, ref_share: float | None,
                       ref_rows: float | None) -> float | None:
    """Standard error of (window share − reference share) under no change: the two-sample
    pooled error, or, without the reference's size, the window's error around the reference share.

    The pooled share is smoothed (one success and one failure added, as Agresti–Coull do) so a
    share that is 0 in both samples still has a small, non-zero error: one null in a 150-row
    window is not a 100-sigma event.
    """
    if not rows:
        return None
    if not ref_rows:  # the reference share taken as exact: the window's binomial error around it
        expected = ((ref_share or 0.0) * rows + 1.0) / (rows + 2.0)
        return math.sqrt(expected * (1.0 - expected) / rows)
    ref_count = (ref_share or 0.0) * ref_rows
    pooled = (count + ref_count + 1.0) / (rows + ref_rows + 2.0)
    return math.sqrt(pooled * (1.0 - pooled) * (1.0 / rows + 1.0 / ref_rows))


def mean_change_error(std: float | None, rows: float, ref_rows: float | None) -> float | None:
    """Standard error of (window mean − reference mean) for a quantity of spread ``std``."""
    if not rows or std is None:
        return None
    inverse = 1.0 / rows + (1.0 / ref_rows if ref_rows else 0.0)
    return std * math.sqrt(inverse)
