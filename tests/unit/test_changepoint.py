"""Change-point detectors: hand-computed paths, false-alarm rate, drift and step detection, purity."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from modelwatch.drift.changepoint import DETECTORS, ChangePointResult, cusum, detect, ewma, page_hinkley

NAMES = ["cusum", "ewma", "page_hinkley"]
UNIT = [-1.0, 0.0, 1.0]  # mean 0, sample std 1: z-scores equal the raw values
RAMP_SLOPE = 0.05  # in baseline σ per point


def path(name: str, series: list, **kw) -> list[float]:
    """The statistic at every position, each from a fresh call on the prefix."""
    return [detect(name, series[: t + 1], **kw).statistic for t in range(len(series))]


def same(a: ChangePointResult, b: ChangePointResult) -> bool:
    stat_equal = a.statistic == b.statistic or (math.isnan(a.statistic) and math.isnan(b.statistic))
    return stat_equal and (a.threshold, a.alarm, a.first_alarm_index, a.run_length, a.details) == (
        b.threshold, b.alarm, b.first_alarm_index, b.run_length, b.details
    )


def ramp_case(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """30 normal reference windows, then 120 windows drifting up by RAMP_SLOPE σ per window."""
    rng = np.random.default_rng(seed)
    baseline = rng.normal(size=30)
    series = RAMP_SLOPE * np.arange(1, 121) + rng.normal(size=120)
    return baseline, series


def first_raw_exceedance(baseline: np.ndarray, series: np.ndarray) -> int:
    """Where a per-window rule ``x > μ + 3σ`` first fires."""
    hits = np.flatnonzero(series > baseline.mean() + 3 * baseline.std(ddof=1))
    return int(hits[0]) if hits.size else len(series)


# --- by hand ----------------------------------------------------------------------------------


def test_cusum_by_hand() -> None:
    series = [0.0, 1.0, 2.0, 3.0]
    result = detect("cusum", series, baseline=UNIT, k=0.5, h=2)
    assert path("cusum", series, baseline=UNIT, k=0.5, h=2) == [0.0, 0.5, 2.0, 4.5]
    assert (result.statistic, result.threshold, result.alarm) == (4.5, 2.0, True)
    assert (result.first_alarm_index, result.run_length) == (2, 2)
    assert result.details["baseline_mean"] == 0.0 and result.details["baseline_std"] == 1.0


def test_page_hinkley_by_hand() -> None:
    # the running mean starts from the 3 baseline points (z-mean 0): z̄ = 0/4, 3/5, 6/6
    # PH = max(0, PH + z − z̄ − δ): 0, 3 − 0.6 − 0.5 = 1.9, 1.9 + 3 − 1 − 0.5 = 3.4
    series = [0.0, 3.0, 3.0]
    got = path("page_hinkley", series, baseline=UNIT, delta=0.5, lam=2)
    assert got == pytest.approx([0.0, 1.9, 3.4])
    result = detect("page_hinkley", series, baseline=UNIT, delta=0.5, lam=2)
    assert (result.alarm, result.first_alarm_index, result.run_length) == (True, 2, 1)


def test_ewma_by_hand() -> None:
    # Z1 = 0.5·3 = 1.5, σ_Z1 = lam = 0.5 -> 3.0; Z2 = 0.75, σ_Z2 = sqrt(1/3 · (1 − 0.5⁴)) -> 1.3416
    result = detect("ewma", [3.0, 0.0], baseline=UNIT, lam=0.5, L=2)
    assert path("ewma", [3.0, 0.0], baseline=UNIT, lam=0.5, L=2) == pytest.approx(
        [3.0, 0.75 / math.sqrt(1 / 3 * (1 - 0.5**4))]
    )
    assert (result.alarm, result.first_alarm_index, result.run_length) == (False, 0, 0)
    assert result.details["ewma_z"] == pytest.approx(0.75)


def test_ewma_with_lam_one_is_the_z_score_of_the_last_point() -> None:
    result = ewma([0.4, -2.0, 1.7], baseline=[1.0, 3.0, 5.0], lam=1.0)  # μ 3, σ 2
    assert result.statistic == pytest.approx((1.7 - 3) / 2)


@pytest.mark.parametrize("seed", range(3))
def test_paths_match_the_textbook_formulas(seed: int) -> None:
    rng = np.random.default_rng(seed)
    baseline = rng.normal(5, 2, size=20)
    series = rng.normal(5.5, 2, size=40).tolist()
    z = (np.asarray(series) - baseline.mean()) / baseline.std(ddof=1)
    # CUSUM as a plain recursion
    s, want = 0.0, []
    for v in z:
        s = max(0.0, s + v - 0.3)
        want.append(s)
    assert path("cusum", series, baseline=baseline, k=0.3) == pytest.approx(want)
    # Page–Hinkley as m_t − min(m_0..m_t), running mean over baseline then series
    zbar = np.cumsum(z) / (baseline.size + np.arange(1, z.size + 1))
    m = np.cumsum(z - zbar - 0.2)
    assert path("page_hinkley", series, baseline=baseline, delta=0.2) == pytest.approx(
        m - np.minimum.accumulate(np.minimum(m, 0.0))
    )
    # EWMA from its closed form Σ λ(1−λ)^(t−i) z_i over its exact std
    t = np.arange(1, z.size + 1)
    smoothed = [sum(0.3 * 0.7 ** (n - 1 - i) * z[i] for i in range(n)) for n in t]
    sigma = np.sqrt(0.3 / 1.7 * (1 - 0.7 ** (2 * t)))
    assert path("ewma", series, baseline=baseline, lam=0.3) == pytest.approx(smoothed / sigma)


# --- stationary noise -------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_stationary_noise_rarely_alarms(name: str) -> None:
    """With a known μ, σ the defaults alarm on ~20 % of 200-point stationary series, not more.

    A one-sided ARL0 near 900–1100 points (CUSUM: Siegmund's approximation gives 938) means a run of
    200 in-control points alarms with probability ≈ 1 − exp(−200/ARL0) ≈ 0.2, so "never alarms on 200
    points" is false for any fixed detector; the rate is what can be checked.
    """
    runs = [np.random.default_rng(seed).normal(size=200) for seed in range(200)]
    alarmed = [detect(name, series, baseline=UNIT).first_alarm_index is not None for series in runs]
    assert 0.08 <= np.mean(alarmed) <= 0.30


# --- drift and shifts -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("name", NAMES)
def test_gradual_drift_alarms_well_before_the_drift_reaches_three_sigma(name: str, seed: int) -> None:
    baseline, series = ramp_case(seed)
    result = detect(name, series, baseline=baseline)
    reaches_3_sigma = round(3 / RAMP_SLOPE) - 1  # index 59: the drift itself (no noise) is at 3σ
    assert result.first_alarm_index is not None
    assert result.first_alarm_index < reaches_3_sigma - 10
    assert result.alarm and result.run_length >= 40  # the drift keeps going, so does the alarm


@pytest.mark.parametrize(("name", "min_share"), [("cusum", 0.65), ("ewma", 0.65), ("page_hinkley", 0.55)])
def test_gradual_drift_is_caught_before_a_per_window_three_sigma_rule(name: str, min_share: float) -> None:
    """On 200 noisy ramps the detector usually fires first, and its median delay is clearly shorter.

    Not on every series: with N(0, 1) noise on each window, one window exceeds μ + 3σ by chance
    early on in about a quarter of the series (5 % within the first 8 windows of the ramp).
    """
    wins, delays, raw = [], [], []
    for seed in range(200):
        baseline, series = ramp_case(seed)
        first = detect(name, series, baseline=baseline).first_alarm_index
        assert first is not None
        raw.append(first_raw_exceedance(baseline, series))
        delays.append(first)
        wins.append(first < raw[-1])
    assert np.mean(wins) >= min_share
    assert np.median(delays) <= np.median(raw) - 5


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("name", NAMES)
def test_step_of_two_sigma_is_detected_within_a_few_points(name: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    baseline = rng.normal(size=30)
    result = detect(name, 2.0 + rng.normal(size=30), baseline=baseline)
    assert result.first_alarm_index is not None and result.first_alarm_index <= 9  # median: 3-4 points


@pytest.mark.parametrize("name", NAMES)
def test_two_sided_catches_a_downward_shift_one_sided_does_not(name: str) -> None:
    rng = np.random.default_rng(7)
    baseline, series = rng.normal(size=30), -2.0 + rng.normal(size=25)
    assert detect(name, series, baseline=baseline).first_alarm_index is None
    both = detect(name, series, baseline=baseline, two_sided=True)
    assert both.alarm and both.first_alarm_index is not None and both.first_alarm_index <= 7


# --- purity and missing values ----------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_prefixes_agree_with_one_pass_and_with_a_rerun(name: str) -> None:
    rng = np.random.default_rng(11)
    baseline = rng.normal(size=20)
    series = (np.r_[np.zeros(15), np.linspace(0, 3, 25)] + rng.normal(size=40)).tolist()
    series[5] = None
    series[22] = math.nan
    original = list(series)
    full = detect(name, series, baseline=baseline)
    assert full.first_alarm_index is not None  # the case exercises an alarm
    alarms = []
    for t in range(1, len(series) + 1):
        prefix = detect(name, series[:t], baseline=baseline)
        assert same(prefix, detect(name, series[:t], baseline=baseline))
        assert same(prefix, detect(name, np.asarray(series[:t], dtype=float), baseline=baseline))
        alarms.append(prefix.alarm)
        expected_first = full.first_alarm_index if full.first_alarm_index < t else None
        assert prefix.first_alarm_index == expected_first
        trailing = next((i for i, a in enumerate(reversed(alarms)) if not a), len(alarms))
        assert prefix.run_length == trailing
    assert alarms.index(True) == full.first_alarm_index
    assert same(prefix, full)
    assert series == original  # same objects in the same places: the input was not touched


@pytest.mark.parametrize("name", NAMES)
def test_implicit_baseline_is_stable_once_the_series_is_twice_the_warmup(name: str) -> None:
    series = np.random.default_rng(3).normal(size=60) + np.r_[np.zeros(30), np.full(30, 2.5)]
    full = detect(name, series)
    assert full.first_alarm_index is not None and full.details["baseline_n"] == 7
    for t in range(14, 61):
        prefix = detect(name, series[:t])
        assert prefix.details["baseline_mean"] == full.details["baseline_mean"]
        assert prefix.first_alarm_index == (full.first_alarm_index if full.first_alarm_index < t else None)
    assert detect(name, series[:13]).details["baseline_n"] == 6  # shorter: the baseline is still growing
    if name != "page_hinkley":  # its running mean also starts from a *given* baseline (see its docstring)
        given = detect(name, series, baseline=series[:7])
        assert (given.statistic, given.first_alarm_index, given.run_length) == (
            full.statistic, full.first_alarm_index, full.run_length
        )


def test_missing_values_are_skipped_and_positions_kept() -> None:
    plain = detect("cusum", [0, 1, 2, 3], baseline=UNIT, k=0.5, h=2)
    gappy = detect("cusum", [None, 0, math.nan, 1, 2, math.inf, 3], baseline=UNIT, k=0.5, h=2)
    assert gappy.statistic == plain.statistic
    assert (gappy.first_alarm_index, gappy.run_length) == (4, 3)  # the skipped index 5 stays in alarm
    assert (gappy.details["n_used"], gappy.details["n_skipped"]) == (4, 3)
    trailing = detect("cusum", [0, 1, 2, 3, None, math.nan], baseline=UNIT, k=0.5, h=2)
    assert (trailing.statistic, trailing.alarm, trailing.run_length) == (4.5, True, 4)
    leading = path("cusum", [None, 5.0], baseline=UNIT, k=0.5, h=2)
    assert math.isnan(leading[0]) and leading[1] == 4.5  # nothing to judge before the first value
    assert detect("cusum", [None, 5.0], baseline=UNIT, k=0.5, h=2).first_alarm_index == 1


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("series", [[], [None, math.nan], np.array([])])
def test_empty_or_missing_series_gives_nan_and_no_alarm(name: str, series: list) -> None:
    result = detect(name, series, baseline=UNIT)
    assert math.isnan(result.statistic)
    assert (result.alarm, result.first_alarm_index, result.run_length) == (False, None, 0)
    assert "reason" in result.details


@pytest.mark.parametrize("name", NAMES)
def test_too_small_a_baseline_gives_nan_with_a_reason(name: str) -> None:
    for kwargs in ({"baseline": [1.0, math.nan]}, {}):
        result = detect(name, [1.0, 2.0, 3.0], **kwargs)  # implicit: 3 // 2 = 1 point
        assert math.isnan(result.statistic) and not result.alarm
        assert "at least 2" in result.details["reason"]


@pytest.mark.parametrize("name", NAMES)
def test_constant_baseline_does_not_divide_by_zero(name: str) -> None:
    quiet = detect(name, [0.2] * 10, baseline=[0.2] * 5)
    assert quiet.statistic == 0.0 and not quiet.alarm
    assert quiet.details["std_floored"] and quiet.details["baseline_std"] == pytest.approx(0.2e-6)
    moved = detect(name, [0.2] * 5 + [0.21] * 5, baseline=[0.2] * 5)
    assert moved.first_alarm_index == 5
    zero = detect(name, [0.0, 0.0, 0.001], baseline=[0.0, 0.0])
    assert zero.details["baseline_std"] == 1e-9 and zero.first_alarm_index == 2


# --- registry and parameters ------------------------------------------------------------------


def test_registry_and_dispatch() -> None:
    assert sorted(DETECTORS) == NAMES
    assert DETECTORS["cusum"] is cusum and DETECTORS["page_hinkley"] is page_hinkley
    series = np.random.default_rng(0).normal(size=30)
    assert same(detect("cusum", series, k=0.25), cusum(series, k=0.25))


def test_unknown_detector_lists_the_registered_ones() -> None:
    with pytest.raises(KeyError, match=r"'cusm'.*\['cusum', 'ewma', 'page_hinkley'\]"):
        detect("cusm", [1.0, 2.0])


def test_unknown_parameter_lists_the_valid_ones() -> None:
    with pytest.raises(TypeError, match=r"\['lambda'\].*\['L', 'lam', 'two_sided', 'warmup'\]"):
        detect("ewma", [1.0, 2.0], **{"lambda": 0.2})


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("cusum", {"k": -0.1}, r"k must be a finite number >= 0"),
        ("cusum", {"h": 0}, r"h must be a finite number > 0"),
        ("cusum", {"h": math.nan}, r"h must be a finite number > 0"),
        ("cusum", {"h": "5"}, r"h must be a number"),
        ("page_hinkley", {"delta": -1}, r"delta must be a finite number >= 0"),
        ("page_hinkley", {"lam": 0}, r"lam must be a finite number > 0"),
        ("ewma", {"lam": 0}, r"lam must be in \(0, 1\]"),
        ("ewma", {"lam": 1.5}, r"lam must be in \(0, 1\]"),
        ("ewma", {"L": -3}, r"L must be a finite number > 0"),
        ("ewma", {"warmup": 1}, r"warmup must be an integer >= 2"),
        ("cusum", {"two_sided": "yes"}, r"two_sided must be True or False"),
    ],
)
def test_invalid_parameters_name_the_parameter_and_range(name: str, params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=f"{name}: {message}"):
        detect(name, [], **params)  # checked before the data, even on an empty series


def test_module_imports_only_numpy() -> None:
    code = (
        "import sys\nimport modelwatch.drift.changepoint\n"
        "heavy = [m for m in ('scipy', 'pandas') if m in sys.modules]\nassert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
