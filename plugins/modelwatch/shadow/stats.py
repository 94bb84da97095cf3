"""Pure statistics of the champion/challenger comparison: numbers in, numbers out, no SQL.

- Correlations from sums, so the warehouse returns a handful of sums per slice, never rows.
- What the layer runs for label-based checks: DeLong's closed form (``delong_paired``, and
  ``delong_single`` for a canary's independent groups) from per-class sums of placement values
  the warehouse computes (``queries.labelled_sums``): O(n log n) there, O(1) here.
- The bootstrap, kept as the reference the closed form is tested against (the task no longer
  runs it). AUC as the Mann–Whitney statistic with ties counted one half (what
  ``sklearn.metrics.roc_auc_score`` returns), computed for a batch of bootstrap resamples at
  once: each model's scores are encoded once (see ``_Ranked``), and a resample's AUC is then a
  ``bincount`` of n keys plus a cumulative sum over ~3 × (distinct positive scores)
  counts — no sort per resample.
- The paired bootstrap resamples *requests*: the same draw weights both models' rows, so the
  interval of the difference accounts for the two models scoring the same traffic (much narrower
  than two independent intervals when the models agree a lot).
- McNemar's test on the 2×2 table of decision correctness: exact binomial below 25 discordant
  pairs, chi-square with continuity correction above.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

LOG_LOSS_EPS = 1e-15
MAX_BATCH_CELLS = 2_000_000  # resamples × rows drawn at once: bounds the bootstrap's memory (~50 MB)
EXACT_MCNEMAR_BELOW = 25


def pearson_from_sums(n: float, sx: float, sy: float, sxx: float, syy: float, sxy: float
                      ) -> float | None:
    """Pearson's r from the six sums; None when a side is constant or n < 2."""
    if n < 2:
        return None
    cov = n * sxy - sx * sy
    var_x = n * sxx - sx * sx
    var_y = n * syy - sy * sy
    if var_x <= 0 or var_y <= 0:
        return None
    return float(max(-1.0, min(1.0, cov / math.sqrt(var_x * var_y))))


def rng_for(seed: int, *keys: str) -> np.random.Generator:
    """A generator that depends only on the seed and the keys (e.g. window and slice), so a slice's
    interval does not change when other slices are added, and a rerun reproduces it."""
    return np.random.default_rng([seed, *(zlib.crc32(k.encode()) for k in keys)])


class _Ranked:
    """One model's scores, encoded once so that a resample's AUC is a ``bincount`` over keys.

    Only the order of negatives relative to *positive* score values matters for AUC, so each
    positive gets the index of its distinct score among positives (P keys) and each negative the
    number of distinct positive scores strictly below it, plus a flag for a tie with the next one
    (2·(P+1) keys). A resample's counts per key then give AUC by a cumulative sum over about 3·P
    numbers instead of n; positives are usually a small share of requests.
    """

    def __init__(self, score: np.ndarray, y: np.ndarray):
        positive = y.astype(bool)
        self.positive_scores = np.unique(score[positive])
        p = self.positive_scores.size
        key = np.empty(score.size, dtype=np.int64)
        key[positive] = np.searchsorted(self.positive_scores, score[positive])
        negatives = score[~positive]
        below = np.searchsorted(self.positive_scores, negatives, side="left")
        tie = (below < p) & (self.positive_scores[np.minimum(below, max(p - 1, 0))] == negatives) \
            if p else np.zeros(negatives.size, dtype=bool)
        key[~positive] = p + 2 * below + tie
        self.key, self.p, self.width = key, p, p + 2 * (p + 1)

    def auc(self, draws: np.ndarray) -> np.ndarray:
        """AUC per row of ``draws`` (resamples × n row indices); NaN for a one-class resample."""
        k = draws.shape[0]
        if self.p == 0:
            return np.full(k, np.nan)
        keys = self.key[draws] + (np.arange(k, dtype=np.int64) * self.width)[:, None]
        counts = np.bincount(keys.ravel(), minlength=k * self.width).reshape(k, self.width)
        pos = counts[:, :self.p].astype(float)
        neg = counts[:, self.p:].reshape(k, self.p + 1, 2).astype(float)
        strict, tie = neg[:, :, 0], neg[:, :, 1]
        below = (np.cumsum(strict, axis=1)[:, :self.p] + np.cumsum(tie, axis=1)[:, :self.p]
                 - tie[:, :self.p])
        numerator = (pos * (below + 0.5 * tie[:, :self.p])).sum(axis=1)
        denominator = pos.sum(axis=1) * neg.sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denominator > 0, numerator / denominator, np.nan)


def _identity(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64)[None, :]


def auc(score: np.ndarray, y: np.ndarray) -> float:
    """Area under the ROC curve (ties count one half); NaN with a single class."""
    score = np.asarray(score, dtype=float)
    return float(_Ranked(score, np.asarray(y, dtype=float)).auc(_identity(score.size))[0])


def log_losses(score: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-request log loss, probabilities clipped to [1e-15, 1 − 1e-15]."""
    p = np.clip(np.asarray(score, dtype=float), LOG_LOSS_EPS, 1 - LOG_LOSS_EPS)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def _draw_batches(rng: np.random.Generator, n: int, resamples: int):
    """Resamples of n row indices drawn with replacement, in batches of bounded size."""
    batch = max(1, min(resamples, MAX_BATCH_CELLS // max(n, 1)))
    done = 0
    while done < resamples:
        size = min(batch, resamples - done)
        yield rng.integers(0, n, size=(size, n))
        done += size


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    se: float

    def as_dict(self, prefix: str) -> dict:
        return {prefix: self.estimate, f"{prefix}_ci_low": self.low, f"{prefix}_ci_high": self.high,
                f"{prefix}_se": self.se}


def normal_interval(estimate: float, se: float, confidence: float) -> Interval:
    """estimate ± z·se, z the two-sided normal quantile at ``confidence``; NaN bounds when the
    standard error is not finite."""
    from scipy.stats import norm

    if not (math.isfinite(estimate) and math.isfinite(se)):
        return Interval(estimate, float("nan"), float("nan"), float("nan"))
    z = float(norm.ppf(0.5 + confidence / 2))
    return Interval(float(estimate), float(estimate - z * se), float(estimate + z * se), float(se))


@dataclass(frozen=True)
class PairedComparison:
    """Challenger minus champion on the same labelled requests."""

    n: int
    positives: int
    auc_champion: float
    auc_challenger: float
    auc_diff: Interval
    log_loss_champion: float
    log_loss_challenger: float
    log_loss_diff: Interval
    resamples: int = 0
    valid_resamples: int = 0
    method: str = "paired bootstrap"

    def p_worse(self, margin: float) -> float:
        """One-sided p-value of H0 "AUC diff ≥ −margin" against "the challenger is worse by more
        than ``margin``", from the interval's standard error (normal approximation)."""
        from scipy.stats import norm

        diff, se = self.auc_diff.estimate, self.auc_diff.se
        if not math.isfinite(diff):
            return 1.0
        if not se > 0:
            return 0.0 if diff < -margin else 1.0
        return float(norm.cdf((diff + margin) / se))

    def p_not_better(self, min_gain: float) -> float:
        """One-sided p-value of H0 "AUC diff ≤ min_gain" against "the challenger is better by more
        than ``min_gain``" (normal approximation). Identical models give 1."""
        from scipy.stats import norm

        diff, se = self.auc_diff.estimate, self.auc_diff.se
        if not math.isfinite(diff):
            return 1.0
        if not se > 0:
            return 0.0 if diff > min_gain else 1.0
        return float(norm.sf((diff - min_gain) / se))


@dataclass(frozen=True)
class ClassSums:
    """Sums over the requests of one class (label 0 or 1) of one slice, computed in the warehouse.

    ``twice_*`` are 2 × a request's *placement* for each model: how many requests of the other
    class scored lower, ties counting ½ (doubled so that the warehouse sums exact integers).
    ``*_d`` are sums over the challenger minus champion differences of those placements
    (``d``, ``dd``: Σ and Σ²) and of the per-request log losses (``loss_d``, ``loss_dd``);
    ``twice_aa`` and ``loss_aa`` are Σ² of the champion's own (used for unpaired groups).
    """

    count: int = 0
    twice_a: int = 0
    twice_b: int = 0
    twice_aa: int = 0
    twice_d: int = 0
    twice_dd: int = 0
    loss_a: float = 0.0
    loss_aa: float = 0.0
    loss_b: float = 0.0
    loss_d: float = 0.0
    loss_dd: float = 0.0
    right_a: int = 0
    right_b: int = 0
    only_a_right: int = 0
    only_b_right: int = 0


def _sample_var(total: float, squares: float, n: int) -> float:
    if n < 2:
        return float("nan")
    return max(0.0, (squares - total * total / n) / (n - 1))


def delong_paired(pos: ClassSums, neg: ClassSums, *, confidence: float) -> PairedComparison:
    """AUC(challenger) − AUC(champion) on the same requests, DeLong, DeLong & Clarke-Pearson (1988).

    With m positives and n negatives, a positive's placement V10 is the share of negatives scored
    lower (ties ½), a negative's V01 the share of positives scored higher (ties ½); AUC = mean V10 =
    mean V01 (Mann–Whitney). The difference's variance is var(ΔV10)/m + var(ΔV01)/n, Δ the
    challenger's placement minus the champion's on the same request — the paired form, so the
    shared traffic cancels as in a paired bootstrap. Placements come from midranks (Sun & Xu 2014:
    placement = midrank among all − midrank within the class), i.e. one sort per model and class
    in the warehouse: O(n log n), ties exact. Log loss: the mean per-request difference with its
    paired (CLT) standard error. Identical models give an interval of exactly [0, 0].
    """
    m, n = pos.count, neg.count
    total = m + n
    mn = float(m) * float(n)
    auc_a, auc_b = pos.twice_a / 2 / mn, pos.twice_b / 2 / mn
    diff = pos.twice_d / 2 / mn
    # ΔV10 = Δplacement / n over positives; ΔV01 = −Δplacement / m over negatives
    var10 = _sample_var(pos.twice_d, pos.twice_dd, m) / 4 / (float(n) ** 2)
    var01 = _sample_var(neg.twice_d, neg.twice_dd, n) / 4 / (float(m) ** 2)
    se = math.sqrt(var10 / m + var01 / n) if m >= 2 and n >= 2 else float("nan")
    loss_d = pos.loss_d + neg.loss_d
    loss_se = math.sqrt(_sample_var(loss_d, pos.loss_dd + neg.loss_dd, total) / total)
    return PairedComparison(
        n=total, positives=m, auc_champion=auc_a, auc_challenger=auc_b,
        auc_diff=normal_interval(diff, se, confidence),
        log_loss_champion=(pos.loss_a + neg.loss_a) / total,
        log_loss_challenger=(pos.loss_b + neg.loss_b) / total,
        log_loss_diff=normal_interval(loss_d / total, loss_se, confidence), method="DeLong")


def delong_single(pos: ClassSums, neg: ClassSums) -> tuple[float, float, float, float]:
    """(AUC, its DeLong variance, mean log loss, the variance of that mean) of one model, from
    the champion-side (``a``) sums: for groups that saw different requests (a canary)."""
    m, n = pos.count, neg.count
    mn = float(m) * float(n)
    var10 = _sample_var(pos.twice_a, pos.twice_aa, m) / 4 / (float(n) ** 2)
    var01 = _sample_var(neg.twice_a, neg.twice_aa, n) / 4 / (float(m) ** 2)
    total = m + n
    loss = pos.loss_a + neg.loss_a
    return (pos.twice_a / 2 / mn, var10 / m + var01 / n, loss / total,
            _sample_var(loss, pos.loss_aa + neg.loss_aa, total) / total)


def _interval(estimate: float, samples: np.ndarray, confidence: float) -> Interval:
    valid = samples[np.isfinite(samples)]
    if valid.size < 2 or not math.isfinite(estimate):
        return Interval(estimate, float("nan"), float("nan"), float("nan"))
    alpha = 1 - confidence
    low, high = np.quantile(valid, [alpha / 2, 1 - alpha / 2])
    return Interval(float(estimate), float(low), float(high), float(np.std(valid, ddof=1)))


def paired_bootstrap(champion: np.ndarray, challenger: np.ndarray, y: np.ndarray, *,
                     resamples: int, confidence: float, rng: np.random.Generator
                     ) -> PairedComparison:
    """AUC and log-loss differences (challenger − champion) with percentile intervals.

    Each resample draws n requests with replacement and scores both models on the same draw.
    Memory is bounded by ``MAX_BATCH_CELLS`` drawn indices at a time, whatever n and ``resamples``.
    """
    a = np.asarray(champion, dtype=float)
    b = np.asarray(challenger, dtype=float)
    y = np.asarray(y, dtype=float)
    n = y.size
    ranked_a, ranked_b = _Ranked(a, y), _Ranked(b, y)
    loss_delta = log_losses(b, y) - log_losses(a, y)
    auc_a, auc_b = float(ranked_a.auc(_identity(n))[0]), float(ranked_b.auc(_identity(n))[0])
    ll_a, ll_b = float(log_losses(a, y).mean()), float(log_losses(b, y).mean())
    auc_samples, ll_samples = [], []
    for draws in _draw_batches(rng, n, resamples):
        auc_samples.append(ranked_b.auc(draws) - ranked_a.auc(draws))
        ll_samples.append(loss_delta[draws].mean(axis=1))
    auc_draws = np.concatenate(auc_samples)
    return PairedComparison(
        n=int(n), positives=int(y.sum()), auc_champion=auc_a, auc_challenger=auc_b,
        auc_diff=_interval(auc_b - auc_a, auc_draws, confidence),
        log_loss_champion=ll_a, log_loss_challenger=ll_b,
        log_loss_diff=_interval(ll_b - ll_a, np.concatenate(ll_samples), confidence),
        resamples=resamples, valid_resamples=int(np.isfinite(auc_draws).sum()),
    )


def independent_bootstrap(control: tuple[np.ndarray, np.ndarray], treated: tuple[np.ndarray, np.ndarray],
                          *, resamples: int, confidence: float, rng: np.random.Generator) -> dict:
    """Treated minus control on different requests (a canary): each group resampled on its own."""
    out: dict = {}
    draws_of = {}
    for name, (score, y) in (("control", control), ("treated", treated)):
        score, y = np.asarray(score, dtype=float), np.asarray(y, dtype=float)
        ranked, losses = _Ranked(score, y), log_losses(score, y)
        out[f"auc_{name}"] = float(ranked.auc(_identity(y.size))[0])
        out[f"log_loss_{name}"] = float(losses.mean())
        aucs, lls = [], []
        for draws in _draw_batches(rng, y.size, resamples):
            aucs.append(ranked.auc(draws))
            lls.append(losses[draws].mean(axis=1))
        draws_of[name] = (np.concatenate(aucs), np.concatenate(lls))
    out["auc_diff"] = _interval(out["auc_treated"] - out["auc_control"],
                                draws_of["treated"][0] - draws_of["control"][0], confidence)
    out["log_loss_diff"] = _interval(out["log_loss_treated"] - out["log_loss_control"],
                                     draws_of["treated"][1] - draws_of["control"][1], confidence)
    return out


@dataclass(frozen=True)
class McNemar:
    champion_only: int  # champion right, challenger wrong
    challenger_only: int  # challenger right, champion wrong
    statistic: float
    p_value: float
    method: str


def mcnemar(champion_only: int, challenger_only: int) -> McNemar:
    """McNemar's test of equal decision accuracy from the two discordant counts (two-sided)."""
    b, c = int(champion_only), int(challenger_only)
    discordant = b + c
    if discordant == 0:
        return McNemar(b, c, 0.0, 1.0, "no discordant pairs")
    if discordant < EXACT_MCNEMAR_BELOW:
        from scipy.stats import binom

        p = min(1.0, 2.0 * float(binom.cdf(min(b, c), discordant, 0.5)))
        return McNemar(b, c, float(min(b, c)), p, "exact binomial")
    from scipy.stats import chi2

    statistic = (abs(b - c) - 1.0) ** 2 / discordant
    return McNemar(b, c, float(statistic), float(chi2.sf(statistic, 1)),
                   "chi-square, continuity corrected")
