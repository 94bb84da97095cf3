"""ROC AUC and average precision on a histogram of positives and negatives per score cell.

Cells are in ascending score order; rows in one cell are tied. Both functions accept 2-D arrays
(one row per bootstrap or simulation draw), so intervals cost one vectorised pass, not a loop.
"""

from __future__ import annotations

import numpy as np


def roc_auc(pos: np.ndarray, neg: np.ndarray) -> np.ndarray | float:
    """Mann–Whitney AUC with ties counted as one half: P(score+ > score-) + P(tie) / 2.

    Equals ``sklearn.metrics.roc_auc_score`` on the binned scores; weights may be fractional (the
    estimated AUC uses expected positives and negatives per cell).
    """
    pos, neg = np.asarray(pos, dtype=float), np.asarray(neg, dtype=float)
    below = np.cumsum(neg, axis=-1) - neg
    pairs = pos.sum(axis=-1) * neg.sum(axis=-1)
    wins = (pos * (below + 0.5 * neg)).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(pairs > 0, wins / np.where(pairs > 0, pairs, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def delong_variance(pos: np.ndarray, neg: np.ndarray) -> float:
    """DeLong's variance of the AUC, exact from the histogram.

    Every positive in a cell has the same placement value (share of negatives below it, ties
    half), so the structural components are weighted sums over cells, not over rows.
    """
    pos, neg = np.asarray(pos, dtype=float), np.asarray(neg, dtype=float)
    n_pos, n_neg = pos.sum(), neg.sum()
    if n_pos < 2 or n_neg < 2:
        return float("nan")
    auc = roc_auc(pos, neg)
    v10 = (np.cumsum(neg) - neg + 0.5 * neg) / n_neg  # placement of each positive
    v01 = (n_pos - np.cumsum(pos) + 0.5 * pos) / n_pos  # of each negative: positives above it
    s10 = (pos * (v10 - auc) ** 2).sum() / (n_pos - 1)
    s01 = (neg * (v01 - auc) ** 2).sum() / (n_neg - 1)
    return float(s10 / n_pos + s01 / n_neg)


def tie_bound(pos: np.ndarray, neg: np.ndarray) -> float:
    """Largest possible difference between the binned AUC and the AUC on exact scores.

    Only positive/negative pairs that share a cell can be ordered differently; each was
    credited one half, so the exact AUC is within half their share of the binned one.
    """
    pos, neg = np.asarray(pos, dtype=float), np.asarray(neg, dtype=float)
    pairs = pos.sum() * neg.sum()
    return float((pos * neg).sum() / (2 * pairs)) if pairs > 0 else float("nan")


def average_precision(pos: np.ndarray, neg: np.ndarray) -> np.ndarray | float:
    """Area under the precision–recall curve as a step sum, one threshold per cell.

    Equals ``sklearn.metrics.average_precision_score`` on the binned scores.
    """
    pos, neg = np.asarray(pos, dtype=float), np.asarray(neg, dtype=float)
    tp = np.cumsum(np.flip(pos, axis=-1), axis=-1)
    fp = np.cumsum(np.flip(neg, axis=-1), axis=-1)
    total = tp[..., -1:] if tp.shape[-1] else np.zeros(pos.shape[:-1] + (1,))
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / np.where(tp + fp > 0, tp + fp, 1.0), 0.0)
        out = (np.flip(pos, axis=-1) * precision).sum(axis=-1) / np.where(
            total[..., 0] > 0, total[..., 0], np.nan)
    return float(out) if np.ndim(out) == 0 else out
