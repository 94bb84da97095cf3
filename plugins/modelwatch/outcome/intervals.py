"""Confidence intervals: closed forms where they exist, a seeded bootstrap where they do not.

Every random draw comes from ``rng_for(seed, *keys)``: a generator seeded from the config seed
and the row's identity (window, slice, purpose), so a rerun of a window draws the same numbers
and writes identical rows, and two windows never share draws.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
from scipy.stats import norm


def z_value(confidence: float) -> float:
    return float(norm.ppf(0.5 + confidence / 2))


def rng_for(seed: int, *keys: object) -> np.random.Generator:
    """A generator that depends only on the seed and the keys (never on call order)."""
    digest = zlib.crc32("|".join(str(k) for k in keys).encode())
    return np.random.default_rng([seed, digest])


def wilson(successes: float, trials: float, confidence: float) -> tuple[float, float]:
    """Wilson score interval of a proportion: well-behaved at 0, 1 and small n, unlike Wald."""
    if trials <= 0:
        return (math.nan, math.nan)
    z = z_value(confidence)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(total: float, total_sq: float, n: float, confidence: float
                  ) -> tuple[float, float, float]:
    """Mean of per-row values from their sum and sum of squares, with a normal (CLT) interval."""
    if n <= 0:
        return (math.nan, math.nan, math.nan)
    mean = total / n
    var = max(total_sq / n - mean * mean, 0.0) * (n / (n - 1) if n > 1 else 0.0)
    half = z_value(confidence) * math.sqrt(var / n)
    return (mean, mean - half, mean + half)


def percentile_interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval of bootstrap or simulation draws (NaN draws are ignored)."""
    values = np.asarray(samples, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (math.nan, math.nan)
    alpha = 1 - confidence
    lo, hi = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return (float(lo), float(hi))
