"""The score histogram with label counts that every outcome metric is computed from.

The warehouse returns, per (window, slice), one row per *cell*: a fine bin of logit(score) split
further at the served threshold and at the calibration-error bins. Cells are disjoint score
intervals, so sorting them by ``(bin, decision, ece_bin)`` sorts them by score, and rank metrics
(ROC AUC, PR AUC) are exact on the binned scores: a pair of rows in one cell counts as a tie.
Everything else (log loss, Brier, the confusion matrix at the threshold, calibration) is exact,
because it is summed per row in SQL.

``Cells.from_scores`` is the same binning in NumPy, for tests and for checking the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from modelwatch.config.outcome import OutcomeSettings

EPS = 1e-15  # probability clip of log loss and logit, as in scikit-learn's log_loss


@dataclass
class Cells:
    """Per-cell sums of one (window, slice), in score order. Arrays all have one entry per cell."""

    fine_bin: np.ndarray
    decision: np.ndarray
    ece_bin: np.ndarray
    rows: np.ndarray
    labelled: np.ndarray
    positives: np.ndarray
    score_sum: np.ndarray
    labelled_score_sum: np.ndarray
    log_loss_sum: np.ndarray
    log_loss_sq: np.ndarray
    brier_sum: np.ndarray
    brier_sq: np.ndarray

    KEYS = ("fine_bin", "decision", "ece_bin")

    @classmethod
    def from_records(cls, records: list[tuple]) -> Cells:
        """Build from ``(fine_bin, decision, ece_bin, rows, labelled, positives, ...)`` tuples
        (the field order of this class); duplicate keys are summed, cells sorted by score."""
        names = [f.name for f in fields(cls)]
        merged: dict[tuple, np.ndarray] = {}
        for rec in records:
            key = tuple(int(v) for v in rec[:3])
            values = np.asarray([0.0 if v is None else float(v) for v in rec[3:]], dtype=float)
            merged[key] = merged[key] + values if key in merged else values
        keys = sorted(merged)
        if not keys:
            return cls(**{n: np.zeros(0) for n in names})
        sums = np.vstack([merged[k] for k in keys])
        arrays = {n: np.asarray([k[i] for k in keys], dtype=int) for i, n in enumerate(names[:3])}
        arrays |= {n: sums[:, i] for i, n in enumerate(names[3:])}
        return cls(**arrays)

    @classmethod
    def from_scores(cls, scores, labels, settings: OutcomeSettings) -> Cells:
        """The warehouse's binning done in NumPy; ``labels`` NaN means "no label yet"."""
        s = np.asarray(scores, dtype=float)
        y = np.asarray(labels, dtype=float)
        pc = np.clip(s, EPS, 1 - EPS)
        fine = fine_bin(np.log(pc) - np.log(1 - pc), settings)
        decision = (s >= settings.decision_threshold).astype(int)
        ece = np.clip(np.floor(np.clip(s, 0, 1) * settings.ece_bins), 0, settings.ece_bins - 1)
        lab = ~np.isnan(y)
        yl = np.where(lab, y, 0.0)
        loss = np.where(lab, -(yl * np.log(pc) + (1 - yl) * np.log(1 - pc)), 0.0)
        clipped = np.clip(s, 0.0, 1.0)
        brier = np.where(lab, (clipped - yl) ** 2, 0.0)
        columns = [np.ones_like(s), lab.astype(float), (lab & (yl > 0.5)).astype(float), clipped,
                   np.where(lab, clipped, 0.0), loss, loss**2, brier, brier**2]
        keys = np.stack([fine, decision, ece.astype(int)], axis=1)
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        sums = np.zeros((len(uniq), len(columns)))
        for j, col in enumerate(columns):
            np.add.at(sums[:, j], inverse.ravel(), col)
        return cls.from_records([(*key, *row) for key, row in zip(uniq, sums, strict=True)])

    # --- sums -----------------------------------------------------------------------------------
    @property
    def negatives(self) -> np.ndarray:
        return self.labelled - self.positives

    @property
    def n_rows(self) -> int:
        return int(round(self.rows.sum()))

    @property
    def n_labelled(self) -> int:
        return int(round(self.labelled.sum()))

    @property
    def n_positives(self) -> int:
        return int(round(self.positives.sum()))

    @property
    def coverage(self) -> float | None:
        return self.n_labelled / self.n_rows if self.n_rows else None

    def confusion(self) -> tuple[float, float, float, float]:
        """(tp, fp, fn, tn) of the labelled rows at the served threshold."""
        up = self.decision == 1
        pos, neg = self.positives, self.negatives
        return (float(pos[up].sum()), float(neg[up].sum()), float(pos[~up].sum()),
                float(neg[~up].sum()))

    def mean_score(self, labelled_only: bool = False) -> np.ndarray:
        """Mean score per cell (of its labelled rows, or of all its rows)."""
        total = self.labelled_score_sum if labelled_only else self.score_sum
        count = self.labelled if labelled_only else self.rows
        return np.divide(total, count, out=np.zeros_like(total), where=count > 0)


def fine_bin(logit: np.ndarray, settings: OutcomeSettings) -> np.ndarray:
    """Index of the equal-width logit bin, clamped to the grid (same formula as the SQL)."""
    lim, bins = settings.logit_limit, settings.score_bins
    raw = np.floor((np.asarray(logit, dtype=float) + lim) * (bins / (2 * lim)))
    return np.clip(raw, 0, bins - 1).astype(int)
