"""Drift checks' guards against crying wolf: sparse buckets, calibration, false-discovery control."""

from __future__ import annotations

import numpy as np
import pytest

from modelwatch.checks.drift import _control_fdr, merge_sparse_buckets
from modelwatch.config.schema import CalibratedThreshold
from modelwatch.drift.calibration import (
    NullDistribution,
    calibrated_levels,
    null_distribution,
    small_window_factor,
)
from modelwatch.drift.fdr import benjamini_hochberg
from modelwatch.drift.methods import BinnedInput, get_method
from modelwatch.metrics import MetricRow
from modelwatch.profile import coarsen


def test_merge_sparse_buckets_folds_unobservable_categories_into_other() -> None:
    reference = np.array([500.0, 300.0, 150.0, 40.0, 10.0])  # last = __other__
    current = np.array([50.0, 30.0, 15.0, 1.0, 4.0])  # n = 100: expects 4 and 1 of the last two
    ref, cur = merge_sparse_buckets(reference, current)
    assert ref.tolist() == [500.0, 300.0, 150.0, 50.0]
    assert cur.tolist() == [50.0, 30.0, 15.0, 5.0]
    assert ref.sum() == reference.sum() and cur.sum() == current.sum()


def test_merge_keeps_everything_when_the_window_is_big_enough() -> None:
    reference = np.array([500.0, 300.0, 200.0])
    current = np.array([5000.0, 3000.0, 2000.0])
    ref, cur = merge_sparse_buckets(reference, current)
    assert ref is reference and cur is current


def test_psi_of_a_small_window_from_the_same_distribution_stays_small_after_merging() -> None:
    rng = np.random.default_rng(4)
    shares = 1.0 / np.arange(1, 52) ** 0.8
    shares /= shares.sum()
    reference = rng.multinomial(30_000, shares).astype(float)
    current = rng.multinomial(300, shares).astype(float)
    psi = get_method("psi", "categorical").func
    raw = psi(BinnedInput(reference, current)).value
    merged = psi(BinnedInput(*merge_sparse_buckets(reference, current))).value
    assert merged < 0.1 < raw


def test_benjamini_hochberg_step_up() -> None:
    # m = 5, fdr = 0.05: thresholds 0.01, 0.02, 0.03, 0.04, 0.05; largest k with p_(k) <= k/m*q
    # is k = 3 (0.03 <= 0.03), so the three smallest are rejected, including 0.025 > 0.01.
    p = [0.5, 0.001, 0.025, 0.03, 0.2]
    assert benjamini_hochberg(p, 0.05) == [False, True, True, True, False]
    assert benjamini_hochberg([0.9, 0.8], 0.05) == [False, False]


def test_coarsen_sums_fine_bins_into_coarse_ones() -> None:
    fine_edges = [1.0, 2.0, 3.0, 4.0]
    counts = [1, 2, 3, 4, 5]  # (-inf,1) [1,2) [2,3) [3,4) [4,inf)
    assert coarsen(counts, fine_edges, [2.0, 4.0]).tolist() == [3.0, 7.0, 5.0]


def test_null_distribution_is_leave_one_out_and_levels_follow_it() -> None:
    rng = np.random.default_rng(1)
    shares = np.array([0.2, 0.3, 0.5])
    windows = [(rng.multinomial(2000, shares).astype(float), 2000.0) for _ in range(14)]
    psi = get_method("psi", "categorical").func
    null = null_distribution("psi", windows, lambda r, c: psi(BinnedInput(r, c)).value)
    assert len(null.values) == 14 and null.usable
    assert null.window_rows == pytest.approx(2000)
    spec = CalibratedThreshold(type="calibrated")
    warn, alert, details = calibrated_levels(spec, "psi", null, 2000.0, value=max(null.values))
    assert max(null.values) * 0.5 < warn < alert
    assert 0 < details["null_p_value"] < 0.5
    floored = CalibratedThreshold(type="calibrated", min_warn=0.1, min_alert=0.25)
    assert calibrated_levels(floored, "psi", null, 2000.0)[:2] == (0.1, 0.25)


def test_small_windows_get_higher_levels_big_ones_never_lower() -> None:
    null = NullDistribution((0.01, 0.02, 0.015, 0.012), window_rows=2000, reference_rows=26_000)
    assert small_window_factor("psi", null, 500) == pytest.approx(
        (1 / 500) / (1 / 2000 + 1 / 26_000), rel=1e-9)
    assert small_window_factor("ks", null, 500) == pytest.approx(
        ((1 / 500) / (1 / 2000 + 1 / 26_000)) ** 0.5, rel=1e-9)
    assert small_window_factor("psi", null, 1_000_000) == 1.0


def test_known_categories_merged_as_rare_stay_apart_from_other() -> None:
    """All 50 known categories are too rare for a 200-row window to see one by one, together
    they are not: they form their own bucket, so a window of only unseen values still differs."""
    reference = np.array([100.0] * 50 + [4000.0])  # 50 known merchants of 1 % each, 44 % other
    unseen = np.array([0.0] * 50 + [200.0])  # a window whose merchants are all new
    ref, cur = merge_sparse_buckets(reference, unseen)
    assert ref.tolist() == [5000.0, 4000.0] and cur.tolist() == [0.0, 200.0]
    psi = get_method("psi", "categorical").func
    assert psi(BinnedInput(ref, cur)).value > 1.0
    same = np.array([2.0] * 50 + [80.0])  # a normal window: both buckets in proportion
    assert psi(BinnedInput(*merge_sparse_buckets(reference, same))).value < 0.01


def _crossing(status: str, p: float | None, feature: str = "f") -> MetricRow:
    details = {} if p is None else {"null_p_value": p}
    return MetricRow("data", "psi", feature, 0.2, 0.1, status, details, "all")


def test_fdr_control_downgrades_only_crossings_that_are_not_significant() -> None:
    """Of 20 tests, one tiny p-value survives Benjamini-Hochberg at 5 %; a warn with p = 0.03 is
    chance among 20 and becomes ok (with the reason kept), rows without a p-value are untouched."""
    rows = [_crossing("alert", 1e-6, "shifted"), _crossing("warn", 0.03, "noisy"),
            _crossing("warn", None, "constant")]
    rows += [_crossing("ok", 0.5 + i / 100, f"quiet{i}") for i in range(17)]
    out = _control_fdr(rows, 0.05)
    by_feature = {r.feature: r for r in out}
    assert by_feature["shifted"].status == "alert" and "fdr_suppressed" not in by_feature[
        "shifted"].details
    assert by_feature["noisy"].status == "ok"
    assert by_feature["noisy"].details == {"null_p_value": 0.03, "fdr_suppressed": "warn",
                                           "fdr": 0.05}
    assert by_feature["constant"].status == "warn"
    assert [r.status for r in out[3:]] == ["ok"] * 17
    # alone, the same warn is significant and kept
    assert _control_fdr([_crossing("warn", 0.03)], 0.05)[0].status == "warn"
