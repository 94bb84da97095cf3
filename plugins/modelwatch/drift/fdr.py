"""False-discovery-rate control over the many tests of one window.

A window runs features × slices × methods tests (drift) or one per metric and slice (shadow);
at a 5 % level each, some cross by chance. Benjamini–Hochberg keeps the expected share of false
alarms among the rejections at ``fdr`` instead, which is what a person paged on them cares about.
"""

from __future__ import annotations

import numpy as np


def benjamini_hochberg(p_values: list[float], fdr: float) -> list[bool]:
    """Which hypotheses are rejected at false-discovery rate ``fdr`` (step-up procedure).

    Args:
        p_values: one p-value per hypothesis, in any order.
        fdr: the false-discovery rate to control, e.g. ``0.05``.

    Returns:
        ``True`` for each rejected hypothesis (a significant finding), in the input order.
    """
    m = len(p_values)
    order = np.argsort(p_values)
    passed = np.zeros(m, dtype=bool)
    cutoff = -1
    for rank, index in enumerate(order, start=1):
        if p_values[index] <= fdr * rank / m:
            cutoff = rank
    if cutoff > 0:
        passed[order[:cutoff]] = True
    return passed.tolist()
