"""Performance estimated before labels arrive (confidence-based, in the manner of NannyML's CBPE).

1. Calibrate: an isotonic regression of label on score, fitted once on the labelled reference
   (on its cells: cell mean score → positive rate, weighted by labelled rows; deterministic).
2. Each cell of a window gets its calibrated probability ``c``; its rows are expected to hold
   ``rows · c`` positives. Expected TP/FP/FN/TN at the served threshold give accuracy, precision,
   recall and F1; expected positives and negatives per cell, ranked by raw score, give ROC AUC.
3. Band: labels are simulated from the calibrated probabilities (binomial per cell, as many rows as
   the window will have labelled at the reference's coverage) and the realized metric computed on
   each draw; the band is where the realized value should land if the calibration still holds.

The assumption is that P(label | score) is what it was on the reference (covariate shift only).
A change of that relationship (concept drift) is invisible to the estimate; it shows when labels
mature, as a realized value outside the band (``estimation_error_*`` rows, ``within_band``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelwatch.config.outcome import OutcomeSettings
from modelwatch.outcome.cells import Cells
from modelwatch.outcome.intervals import percentile_interval
from modelwatch.outcome.ranking import roc_auc
from modelwatch.outcome.values import MetricValue

ESTIMATED = ("roc_auc", "accuracy", "precision", "recall", "f1")


@dataclass(frozen=True)
class Calibrator:
    """A fitted isotonic map score → P(label = 1), stored as its breakpoints (JSON-friendly)."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    @classmethod
    def fit(cls, cells: Cells) -> Calibrator | None:
        from sklearn.isotonic import IsotonicRegression

        keep = cells.labelled > 0
        if keep.sum() < 2 or cells.n_positives == 0 or cells.n_positives == cells.n_labelled:
            return None
        x = cells.mean_score(labelled_only=True)[keep]
        y = cells.positives[keep] / cells.labelled[keep]
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        iso.fit(x, y, sample_weight=cells.labelled[keep])
        return cls(tuple(float(v) for v in iso.X_thresholds_),
                   tuple(float(v) for v in iso.y_thresholds_))

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """Same as ``IsotonicRegression.predict`` (linear between breakpoints, clipped outside)."""
        return np.interp(np.asarray(scores, dtype=float), self.x, self.y)

    def to_dict(self) -> dict:
        return {"x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, data: dict | None) -> Calibrator | None:
        return cls(tuple(data["x"]), tuple(data["y"])) if data else None


def _from_confusion(tp, fp, fn, tn) -> dict[str, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "accuracy": (tp + tn) / (tp + fp + fn + tn),
            "precision": np.where(tp + fp > 0, tp / np.where(tp + fp > 0, tp + fp, 1), np.nan),
            "recall": np.where(tp + fn > 0, tp / np.where(tp + fn > 0, tp + fn, 1), np.nan),
            "f1": np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan),
        }


def _metrics(pos: np.ndarray, neg: np.ndarray, decision: np.ndarray) -> dict[str, np.ndarray]:
    """The estimated metrics from (expected or simulated) positives/negatives per cell."""
    up = decision == 1
    tp, fp = pos[..., up].sum(axis=-1), neg[..., up].sum(axis=-1)
    fn, tn = pos[..., ~up].sum(axis=-1), neg[..., ~up].sum(axis=-1)
    return {"roc_auc": np.asarray(roc_auc(pos, neg)), **_from_confusion(tp, fp, fn, tn)}


def estimated_metrics(cells: Cells, calibrator: Calibrator, settings: OutcomeSettings,
                      rng: np.random.Generator, labelled_share: float = 1.0
                      ) -> dict[str, MetricValue]:
    """Expected metrics of the window's rows, with the band of the realized value."""
    if cells.n_rows == 0:
        return {m: MetricValue.missing("no predictions in the window") for m in ESTIMATED}
    c = calibrator(cells.mean_score())
    exp_pos, exp_neg = cells.rows * c, cells.rows * (1 - c)
    point = _metrics(exp_pos, exp_neg, cells.decision)
    n_sim = np.round(cells.rows * min(max(labelled_share, 0.0), 1.0)).astype(int)
    sim_pos = rng.binomial(n_sim, c, size=(settings.bootstrap_samples, c.size)).astype(float)
    draws = _metrics(sim_pos, n_sim - sim_pos, cells.decision)
    out = {}
    for name in ESTIMATED:
        value = float(point[name])
        if not np.isfinite(value):
            reason = ("no positive decisions at decision_threshold="
                      f"{settings.decision_threshold}" if name == "precision"
                      else "undefined on the expected confusion matrix")
            out[name] = MetricValue.missing(reason)
            continue
        lo, hi = percentile_interval(draws[name], settings.confidence)
        out[name] = MetricValue.of(value, min(lo, value), max(hi, value), "simulated labels",
                                   expected_positives=float(exp_pos.sum()))
    return out
