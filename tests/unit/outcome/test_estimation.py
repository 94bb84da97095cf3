"""Confidence-based estimation: calibration, estimates near the realized values, honest bands."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import roc_auc_score

from modelwatch.config.outcome import OutcomeSettings
from modelwatch.outcome.binary import realized_metrics
from modelwatch.outcome.cells import Cells
from modelwatch.outcome.estimation import ESTIMATED, Calibrator, estimated_metrics
from modelwatch.outcome.intervals import rng_for

SETTINGS = OutcomeSettings(decision_threshold=0.3)


def population(seed: int, n: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A model whose scores are miscalibrated (too confident) but rank well; ``shift`` moves the
    inputs (covariate shift), never the relation between score and label."""
    rng = np.random.default_rng(seed)
    logit = rng.normal(-2.0 + shift, 1.3, n)
    truth = 1 / (1 + np.exp(-logit))
    scores = 1 / (1 + np.exp(-1.6 * logit))  # over-confident: needs calibration
    return scores, (rng.random(n) < truth).astype(float)


@pytest.fixture(scope="module")
def calibrator() -> Calibrator:
    return Calibrator.fit(Cells.from_scores(*population(1, 60_000), SETTINGS))


def test_calibrator_is_sklearns_isotonic_regression(calibrator) -> None:
    cells = Cells.from_scores(*population(1, 60_000), SETTINGS)
    keep = cells.labelled > 0
    x = cells.mean_score(labelled_only=True)[keep]
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(
        x, cells.positives[keep] / cells.labelled[keep], sample_weight=cells.labelled[keep])
    probe = np.linspace(0, 1, 501)
    np.testing.assert_allclose(calibrator(probe), iso.predict(probe), atol=1e-12)
    assert Calibrator.from_dict(calibrator.to_dict()) == calibrator


def _both(calibrator, seed: int, shift: float, n: int = 40_000):
    scores, y = population(seed, n, shift)
    labelled = Cells.from_scores(scores, y, SETTINGS)
    unlabelled = Cells.from_scores(scores, np.full(n, np.nan), SETTINGS)
    est = estimated_metrics(unlabelled, calibrator, SETTINGS, rng_for(0, seed))
    real = realized_metrics(labelled, SETTINGS, rng_for(0, seed))
    return est, real, roc_auc_score(y, scores)


def test_estimated_auc_is_near_realized_without_shift(calibrator) -> None:
    est, real, exact_auc = _both(calibrator, seed=2, shift=0.0)
    assert est["roc_auc"].value == pytest.approx(exact_auc, abs=0.01)
    for name in ESTIMATED:
        e, r = est[name], real[name]
        assert e.low <= r.value <= e.high, name  # realized inside the band
        assert abs(e.value - r.value) < 0.02, name
        assert 0 < e.high - e.low < 0.05, name


def test_estimate_follows_a_covariate_shift_before_any_label(calibrator) -> None:
    base, _, _ = _both(calibrator, seed=3, shift=0.0)
    est, real, _ = _both(calibrator, seed=4, shift=1.2)
    # more risky traffic: accuracy at the threshold falls, and the estimate sees it from scores
    assert est["accuracy"].value < base["accuracy"].value - 0.03
    assert real["accuracy"].value < base["accuracy"].value - 0.03
    for name in ESTIMATED:
        # the band is sampling error only; calibration error adds a little where the shifted
        # traffic is denser than the reference was
        assert abs(est[name].value - real[name].value) < 0.015, name
    assert est["roc_auc"].low <= real["roc_auc"].value <= est["roc_auc"].high


def test_band_shrinks_with_window_size(calibrator) -> None:
    small, _, _ = _both(calibrator, seed=5, shift=0.0, n=2_000)
    large, _, _ = _both(calibrator, seed=5, shift=0.0, n=40_000)
    width = {k: v["roc_auc"].high - v["roc_auc"].low for k, v in (("s", small), ("l", large))}
    assert width["l"] < width["s"] / 3


def test_no_calibrator_without_both_classes() -> None:
    cells = Cells.from_scores([0.1, 0.2, 0.3], [0, 0, 0], SETTINGS)
    assert Calibrator.fit(cells) is None
