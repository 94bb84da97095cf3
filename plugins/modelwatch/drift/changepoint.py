"""Change-point detectors over one metric's history: CUSUM, Page–Hinkley and EWMA.

A per-window threshold judges each window on its own, so a slow drift is only caught once a single
window is far out. These detectors accumulate small, *sustained* departures over many windows and
fire earlier on a gradual change. Each is a pure function ``series -> ChangePointResult``: the state
is recomputed from the whole history every time, never carried between calls, so a rerun or a
backfill of any window gives the same answer as the original run.

Conventions shared by every detector:

* **Baseline.** ``baseline`` holds values known to be normal (the metric over the reference
  windows). When it is ``None`` the first ``min(len(series) // 2, warmup)`` positions of the series
  are used instead (and are still judged like every other point). Non-finite baseline values are
  dropped; fewer than two finite ones give a NaN result with ``details["reason"]``.
  ``μ`` is their mean and ``σ`` their sample standard deviation (``ddof=1``) floored at
  ``max(1e-6·|μ|, 1e-9)``, so a constant baseline does not divide by zero: any later change of a
  metric that never moved then counts as a very large departure.
* **Standardisation.** Every detector works on ``z = (x − μ) / σ``, so its parameters are in units
  of the baseline's σ and the same defaults fit a PSI, a null rate or a mean score.
* **Missing points.** ``None``, NaN and ±inf in the series are skipped: they neither advance nor
  reset the detector, and a skipped position repeats the previous position's statistic and alarm
  state (positions before the first finite value have a NaN statistic and no alarm). Indices in
  the result always refer to positions in the input series.
* **No reset after an alarm.** The statistic keeps accumulating, so ``run_length`` measures how long
  the change has been sustained.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

REL_STD_FLOOR = 1e-6
ABS_STD_FLOOR = 1e-9
DEFAULT_WARMUP = 7
MIN_BASELINE = 2


@dataclass(frozen=True)
class ChangePointResult:
    """What a detector found at the last point of the series.

    Attributes:
        statistic: The detector's statistic at the last point (higher = more evidence of change);
            NaN when there is nothing to judge (empty or all-missing series, too small a baseline).
        threshold: The level at which the detector alarms (``h``, ``lam`` or ``L``).
        alarm: ``statistic >= threshold`` at the last point.
        first_alarm_index: Position in the input series of the first point in alarm; None if never.
        run_length: Consecutive positions up to and including the last one that were in alarm
            (0 when the last is not).
        details: Baseline mean/std used, their source and size, the parameters, counts of used and
            skipped points, and detector-specific extras; ``reason`` when the statistic is NaN.
    """

    statistic: float
    threshold: float
    alarm: bool
    first_alarm_index: int | None
    run_length: int
    details: dict = field(default_factory=dict)


Detector = Callable[..., ChangePointResult]
DETECTORS: dict[str, Detector] = {}


def _register(name: str) -> Callable[[Detector], Detector]:
    def decorate(func: Detector) -> Detector:
        DETECTORS[name] = func
        return func

    return decorate


def detect(
    name: str, series: Sequence[float], *, baseline: Sequence[float] | None = None, **params
) -> ChangePointResult:
    """Run the detector registered as ``name`` on ``series``.

    Args:
        name: A key of ``DETECTORS``.
        series: The metric's history up to and including the window being judged, oldest first.
        baseline: Values known to be normal; None takes the head of ``series`` (see ``warmup``).
        **params: The detector's parameters (for example ``k``, ``h``, ``two_sided``, ``warmup``).

    Raises:
        KeyError: Unknown detector; the message lists the registered names.
        TypeError: A parameter the detector does not take; the message lists those it does.
        ValueError: A parameter out of its valid range; the message names it and the range.
    """
    try:
        func = DETECTORS[name]
    except KeyError:
        raise KeyError(f"unknown change-point detector {name!r}; valid: {sorted(DETECTORS)}") from None
    accepted = sorted(p for p in inspect.signature(func).parameters if p not in ("series", "baseline"))
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise TypeError(f"change-point detector {name!r} got unknown parameters {unknown}; valid: {accepted}")
    return func(series, baseline=baseline, **params)


# --- validation -------------------------------------------------------------------------------


def _number(detector: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{detector}: {name} must be a number, got {value!r}")
    return float(value)


def _at_least(detector: str, name: str, value: object, low: float, *, strict: bool) -> float:
    v = _number(detector, name, value)
    if not (math.isfinite(v) and (v > low if strict else v >= low)):
        rng = f"> {low:g}" if strict else f">= {low:g}"
        raise ValueError(f"{detector}: {name} must be a finite number {rng}, got {value!r}")
    return v


def _unit_interval(detector: str, name: str, value: object) -> float:
    v = _number(detector, name, value)
    if not 0.0 < v <= 1.0:
        raise ValueError(f"{detector}: {name} must be in (0, 1], got {value!r}")
    return v


def _common(detector: str, warmup: object, two_sided: object) -> tuple[int, bool]:
    if isinstance(warmup, bool) or not isinstance(warmup, int | np.integer) or warmup < MIN_BASELINE:
        raise ValueError(f"{detector}: warmup must be an integer >= {MIN_BASELINE}, got {warmup!r}")
    if not isinstance(two_sided, bool | np.bool_):
        raise ValueError(f"{detector}: two_sided must be True or False, got {two_sided!r}")
    return int(warmup), bool(two_sided)


# --- shared machinery -------------------------------------------------------------------------


def _floats(values: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    if isinstance(values, np.ndarray):
        arr = values.astype(float)  # a copy: the caller's array is never touched
    else:
        arr = np.array([np.nan if v is None else v for v in values], dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {arr.shape}")
    return arr


@dataclass(frozen=True)
class _Prepared:
    z: np.ndarray  # standardised finite values, in order
    positions: np.ndarray  # their positions in the input series
    n: int  # length of the input series
    details: dict


def _prepare(
    detector: str,
    series: Sequence[float],
    baseline: Sequence[float] | None,
    warmup: int,
    threshold: float,
    params: dict,
) -> _Prepared | ChangePointResult:
    """Standardise the finite points by the baseline; a NaN result when there is nothing to judge."""
    x = _floats(series, "series")
    if baseline is None:
        base = x[: min(x.size // 2, warmup)]
        source = "series_head"
    else:
        base = _floats(baseline, "baseline")
        source = "given"
    base = base[np.isfinite(base)]
    finite = np.isfinite(x)
    details: dict = {
        "detector": detector,
        "params": dict(params),
        "baseline_source": source,
        "baseline_n": int(base.size),
        "n_used": int(finite.sum()),
        "n_skipped": int(x.size - finite.sum()),
    }
    if not finite.any():
        details["reason"] = "the series is empty" if x.size == 0 else "every value in the series is missing"
        return _nan_result(threshold, details)
    if base.size < MIN_BASELINE:
        details["reason"] = (
            f"the baseline has {base.size} finite value(s); at least {MIN_BASELINE} are needed "
            + ("(pass baseline= or a longer series)" if source == "series_head" else "")
        ).strip()
        return _nan_result(threshold, details)
    mu = float(base.mean())
    sd = float(base.std(ddof=1))
    sigma = max(sd, REL_STD_FLOOR * abs(mu), ABS_STD_FLOOR)
    details.update(baseline_mean=mu, baseline_std=sigma, std_floored=sigma > sd)
    positions = np.flatnonzero(finite)
    return _Prepared((x[positions] - mu) / sigma, positions, int(x.size), details)


def _nan_result(threshold: float, details: dict) -> ChangePointResult:
    return ChangePointResult(math.nan, threshold, False, None, 0, details)


def _finish(prep: _Prepared, stats: np.ndarray, threshold: float, extra: dict) -> ChangePointResult:
    """Map per-finite-point statistics back onto positions (skipped ones carry) and summarise."""
    carry = np.full(prep.n, -1)
    carry[prep.positions] = np.arange(prep.positions.size)
    carry = np.maximum.accumulate(carry)
    path = np.where(carry >= 0, stats[np.maximum(carry, 0)], np.nan)
    in_alarm = path >= threshold  # NaN compares False
    hits = np.flatnonzero(in_alarm)
    first = int(hits[0]) if hits.size else None
    misses = np.flatnonzero(~in_alarm)
    run = prep.n - 1 - int(misses[-1]) if misses.size else prep.n
    last = float(path[-1])
    return ChangePointResult(last, threshold, bool(in_alarm[-1]), first, run, {**prep.details, **extra})


# --- detectors --------------------------------------------------------------------------------


@_register("cusum")
def cusum(
    series: Sequence[float],
    *,
    baseline: Sequence[float] | None = None,
    k: float = 0.5,
    h: float = 5.0,
    two_sided: bool = False,
    warmup: int = DEFAULT_WARMUP,
) -> ChangePointResult:
    """Tabular CUSUM on standardised values: ``S_t = max(0, S_{t-1} + z_t − k)``, alarm at ``S_t ≥ h``.

    ``k`` is half the shift (in σ) the chart is tuned for; ``k=0.5, h=5`` targets shifts of about 1σ.
    With a known μ and σ the in-control average run length is ARL0 ≈ 465 points for the *two-sided*
    chart (the figure in Montgomery's CUSUM table) and ≈ 930 for this one-sided default (Siegmund's
    approximation; 1/ARL0 of the two-sided chart is the sum of its two sides'); a 1σ shift is
    detected in ≈ 10 points. An estimated baseline shortens ARL0 (see docs/drift_methods.md).
    ``two_sided=True`` also runs the lower chart ``S⁻_t = max(0, S⁻_{t-1} − z_t − k)`` and reports
    ``max(S⁺, S⁻)``.
    """
    k = _at_least("cusum", "k", k, 0.0, strict=False)
    h = _at_least("cusum", "h", h, 0.0, strict=True)
    warmup, two_sided = _common("cusum", warmup, two_sided)
    params = {"k": k, "h": h, "two_sided": two_sided, "warmup": warmup}
    prep = _prepare("cusum", series, baseline, warmup, h, params)
    if isinstance(prep, ChangePointResult):
        return prep
    upper = np.empty(prep.z.size)
    lower = np.empty(prep.z.size)
    s_up = s_low = 0.0
    for i, z in enumerate(prep.z):
        s_up = max(0.0, s_up + z - k)
        s_low = max(0.0, s_low - z - k)
        upper[i], lower[i] = s_up, s_low
    stats = np.maximum(upper, lower) if two_sided else upper
    return _finish(prep, stats, h, {"upper": float(upper[-1]), "lower": float(lower[-1])})


@_register("page_hinkley")
def page_hinkley(
    series: Sequence[float],
    *,
    baseline: Sequence[float] | None = None,
    delta: float = 0.5,
    lam: float = 5.0,
    two_sided: bool = False,
    warmup: int = DEFAULT_WARMUP,
) -> ChangePointResult:
    """Page–Hinkley test against the running mean of the history, in units of the baseline σ.

    ``m_t = Σ_{i≤t} (z_i − z̄_i − δ)`` and ``PH_t = m_t − min_{0≤i≤t} m_i`` (``m_0 = 0``, so
    ``PH_t = max(0, PH_{t−1} + z_t − z̄_t − δ)``); alarm at ``PH_t ≥ lam``. ``z̄_t`` is the running
    mean of the history up to and including point t, where the history is a given ``baseline``
    (standardised mean 0, counted with its number of values) followed by the series' finite values;
    with ``baseline=None`` the head of the series already is that history, so nothing is prepended.

    The running mean, not the fixed baseline mean, is a deliberate choice: against a fixed mean this
    test *is* CUSUM with ``k = δ``. Here the reference level moves with the history, which makes PH
    a little slower than CUSUM on a drift (the mean partly follows it) and lets its alarm clear on
    its own once a new level has dominated the history for long enough (hundreds of windows),
    where CUSUM stays in alarm until it is given a new baseline. Only σ comes from the baseline.
    ``two_sided=True`` also runs the mirror test for decreases (``z̄_t − z_t − δ``) and reports the
    larger.
    """
    delta = _at_least("page_hinkley", "delta", delta, 0.0, strict=False)
    lam = _at_least("page_hinkley", "lam", lam, 0.0, strict=True)
    warmup, two_sided = _common("page_hinkley", warmup, two_sided)
    params = {"delta": delta, "lam": lam, "two_sided": two_sided, "warmup": warmup}
    prep = _prepare("page_hinkley", series, baseline, warmup, lam, params)
    if isinstance(prep, ChangePointResult):
        return prep
    # the history is the given baseline (mean 0 once standardised) followed by the series
    prior = prep.details["baseline_n"] if prep.details["baseline_source"] == "given" else 0
    running = np.cumsum(prep.z) / (prior + np.arange(1, prep.z.size + 1))
    upper = np.empty(prep.z.size)
    lower = np.empty(prep.z.size)
    ph_up = ph_low = 0.0
    for i, (z, zbar) in enumerate(zip(prep.z, running, strict=True)):
        ph_up = max(0.0, ph_up + z - zbar - delta)  # == m_t − min(0, m_1..m_t)
        ph_low = max(0.0, ph_low + zbar - z - delta)
        upper[i], lower[i] = ph_up, ph_low
    stats = np.maximum(upper, lower) if two_sided else upper
    extra = {"upper": float(upper[-1]), "lower": float(lower[-1]), "running_mean_z": float(running[-1])}
    return _finish(prep, stats, lam, extra)


@_register("ewma")
def ewma(
    series: Sequence[float],
    *,
    baseline: Sequence[float] | None = None,
    lam: float = 0.2,
    L: float = 3.0,
    two_sided: bool = False,
    warmup: int = DEFAULT_WARMUP,
) -> ChangePointResult:
    """EWMA control chart with exact (time-varying) limits, reported in units of its own std.

    ``Z_t = lam·z_t + (1 − lam)·Z_{t−1}``, ``Z_0 = 0``; with a known μ and σ its std after t points
    is ``σ_Z,t = sqrt(lam/(2 − lam) · (1 − (1 − lam)^{2t}))``. The statistic is ``Z_t / σ_Z,t`` and
    the chart alarms when it reaches ``L`` (i.e. ``Z_t ≥ L·σ_Z,t``); t counts finite points only.
    ``lam=0.2, L=3`` is the textbook choice for shifts of 0.5–1σ; with a known μ and σ the two-sided
    chart's ARL0 is about 500 and the one-sided default's about twice that (simulated; see
    docs/drift_methods.md). ``two_sided=True`` uses ``|Z_t| / σ_Z,t``.
    """
    lam = _unit_interval("ewma", "lam", lam)
    L = _at_least("ewma", "L", L, 0.0, strict=True)
    warmup, two_sided = _common("ewma", warmup, two_sided)
    params = {"lam": lam, "L": L, "two_sided": two_sided, "warmup": warmup}
    prep = _prepare("ewma", series, baseline, warmup, L, params)
    if isinstance(prep, ChangePointResult):
        return prep
    smoothed = np.empty(prep.z.size)
    z_t = 0.0
    for i, z in enumerate(prep.z):
        z_t = lam * z + (1.0 - lam) * z_t
        smoothed[i] = z_t
    t = np.arange(1, prep.z.size + 1)
    sigma_z = np.sqrt(lam / (2.0 - lam) * (1.0 - (1.0 - lam) ** (2 * t)))
    scaled = smoothed / sigma_z
    stats = np.abs(scaled) if two_sided else scaled
    return _finish(prep, stats, L, {"ewma_z": float(smoothed[-1]), "sigma_z": float(sigma_z[-1])})
