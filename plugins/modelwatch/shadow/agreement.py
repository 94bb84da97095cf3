"""How alike the two models behave on the same requests of one window, labels not needed.

Measured in the warehouse (``queries``) and turned into rows here: shadow coverage, decision
agreement at each model's threshold, Pearson and Spearman correlation, mean absolute score
difference, PSI and Jensen–Shannon between the two score distributions (bins: the champion's
quantiles), the share of requests whose scores differ by more than ``shadow.score_margin``, the
slices that disagree most, and latency p50/p95/p99 side by side.

Coverage is the only check here that alerts by default (a gap in the shadow log makes every other
comparison partial). The others are descriptive — a challenger is supposed to differ — and alert
only when ``thresholds`` sets constant levels for them (higher is worse).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.engine import Connection

from modelwatch.config.schema import MonitorConfig
from modelwatch.drift.methods import BinnedInput, get_method
from modelwatch.metrics import MetricRow
from modelwatch.shadow import queries
from modelwatch.shadow.queries import LATENCY_PROBS, Sums
from modelwatch.shadow.rows import ALL, informational, judged_high, judged_low, skipped, slice_key
from modelwatch.shadow.stats import pearson_from_sums

if TYPE_CHECKING:  # the runner will import this package: no import cycle at runtime
    from modelwatch.window import Window


@dataclass
class WindowComparison:
    """What the warehouse returned for one window."""

    sums: dict[tuple[str, str | None], Sums]
    spearman: tuple[int, float, float, float] = (0, 0.0, 0.0, 0.0)
    edges: list[float] = field(default_factory=list)
    hist_champion: np.ndarray | None = None
    hist_challenger: np.ndarray | None = None
    latency: dict[str, list[float] | None] = field(default_factory=dict)
    versions: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def whole(self) -> Sums:
        return self.sums.get(("all", None), Sums())

    def version(self, side: str) -> str | None:
        seen = self.versions.get(side) or {}
        return max(seen, key=seen.get) if seen else None


def measure_window(conn: Connection, cfg: MonitorConfig, window: Window) -> WindowComparison:
    """Five small queries over the joined window; the rows never leave the warehouse."""
    j = queries.joined(cfg, window.start, window.end)
    bins = cfg.drift.bins
    probs = sorted({i / bins for i in range(1, bins)} | {0.5})
    q = queries.champion_quantiles(conn, j, probs)
    if q is None:  # no paired request: only coverage (and versions) can be said
        sums = queries.agreement_sums(conn, cfg, j, 0.0)
        return WindowComparison(sums=sums, latency=queries.latency_quantiles(conn, j),
                                versions=queries.versions(conn, j))
    by_prob = dict(zip(probs, q, strict=True))
    edges = sorted({by_prob[p] for p in probs if p in {i / bins for i in range(1, bins)}})
    sums = queries.agreement_sums(conn, cfg, j, by_prob[0.5])
    hist_a, hist_b = queries.score_histograms(conn, j, edges)
    return WindowComparison(
        sums=sums, spearman=queries.spearman_sums(conn, j), edges=edges, hist_champion=hist_a,
        hist_challenger=hist_b, latency=queries.latency_quantiles(conn, j),
        versions=queries.versions(conn, j))


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def coverage(s: Sums) -> float | None:
    """Share of champion-scored requests that the challenger scored too."""
    return _ratio(s.paired, s.champion_scored)


def _coverage_details(s: Sums) -> dict:
    return {"requests": s.requests, "champion_scored": s.champion_scored, "paired": s.paired,
            "no_shadow_row": s.requests - s.shadow_rows,
            "shadow_row_without_score": s.shadow_rows - s.shadow_scored,
            "duplicated_champion_ids": s.duplicated_champion,
            "duplicated_shadow_ids": s.duplicated_shadow}


def _decision_details(cfg: MonitorConfig, s: Sums) -> dict:
    n = s.paired
    return {
        "paired": n,
        "champion": _ratio(s.both_positive + s.champion_only_positive, n),
        "challenger": _ratio(s.both_positive + s.challenger_only_positive, n),
        "measure": "positive rate",
        "both_positive": s.both_positive, "champion_only_positive": s.champion_only_positive,
        "challenger_only_positive": s.challenger_only_positive, "both_negative": s.both_negative,
        "champion_threshold": cfg.shadow.champion_threshold,
        "challenger_threshold": cfg.shadow.challenger_threshold,
    }


def decision_agreement(s: Sums) -> float | None:
    return _ratio(s.both_positive + s.both_negative, s.paired)


def _per_slice_rows(cfg: MonitorConfig, s: Sums, key: str) -> list[MetricRow]:
    """The additive checks of one slice (or of the whole window)."""
    n = s.paired
    cov = coverage(s)
    rows = [judged_low("shadow_coverage", cov, warn=cfg.shadow.coverage_warn,
                       alert=cfg.shadow.coverage_alert, details=_coverage_details(s), slice_=key)
            if s.champion_scored else
            skipped("shadow_coverage", "no champion-scored request in the window",
                    details=_coverage_details(s), slice_=key)]
    rows.append(informational("decision_agreement", decision_agreement(s),
                              _decision_details(cfg, s), key,
                              reason="no request scored by both models"))
    rows.append(informational("score_pearson",
                              pearson_from_sums(n, s.sx, s.sy, s.sxx, s.syy, s.sxy),
                              {"paired": n}, key,
                              reason="fewer than 2 paired requests, or a constant score"))
    mean_a = s.sx / n if n else None
    mean_b = s.sy / n if n else None
    rows.append(judged_high(cfg, "mean_abs_score_diff", _ratio(s.abs_diff, n),
                            {"paired": n, "mean_score_diff": None if mean_a is None else mean_b - mean_a},
                            key))
    rows.append(judged_high(cfg, "large_disagreement_share", _ratio(s.large_diff, n),
                            {"paired": n, "requests": s.large_diff, "margin": cfg.shadow.score_margin},
                            key))
    return rows


def selected_slices(cfg: MonitorConfig, counts: dict[tuple[str, object], int]) -> list[tuple[str, object]]:
    """Per segment column: the ``slices.top_n`` largest values plus those named in ``slices.values``."""
    chosen = []
    for segment in cfg.segments:
        values = sorted(((v, n) for (seg, v), n in counts.items() if seg == segment),
                        key=lambda vn: (-vn[1], str(vn[0])))
        keep = [v for v, _ in values[:cfg.slices.top_n]]
        named = set(cfg.slices.values.get(segment, []))
        keep += [v for v, _ in values[cfg.slices.top_n:] if str(v) in named]
        chosen += [(segment, v) for v in keep]
    return chosen


def agreement_rows(cfg: MonitorConfig, m: WindowComparison) -> list[MetricRow]:
    whole = m.whole
    rows = _per_slice_rows(cfg, whole, ALL)
    n, sxy, sxx, syy = m.spearman
    rho = sxy / (sxx * syy) ** 0.5 if n >= 2 and sxx > 0 and syy > 0 else None
    rows.append(informational("score_spearman", rho, {"paired": n, "method": "average ranks by "
                              "window functions in the warehouse"},
                              reason="fewer than 2 paired requests, or a constant score"))
    rows += _divergence_rows(cfg, m)
    ranked = []
    counts = {k: s.requests for k, s in m.sums.items() if k[0] != "all"}
    for segment, value in selected_slices(cfg, counts):
        s = m.sums[(segment, value)]
        key = slice_key(segment, value)
        if s.requests < cfg.slices.min_rows:
            reason = f"{s.requests} requests in slice, fewer than slices.min_rows={cfg.slices.min_rows}"
            rows += [skipped(check, reason, details={"requests": s.requests}, slice_=key)
                     for check in ("shadow_coverage", "decision_agreement", "score_pearson",
                                   "mean_abs_score_diff", "large_disagreement_share")]
            continue
        rows += _per_slice_rows(cfg, s, key)
        if s.paired >= cfg.slices.min_rows:
            ranked.append({"slice": key, "paired": s.paired,
                           "decision_disagreement": 1 - decision_agreement(s),
                           "large_disagreement_share": s.large_diff / s.paired,
                           "mean_abs_score_diff": s.abs_diff / s.paired})
    ranked.sort(key=lambda r: (-r["decision_disagreement"], -r["mean_abs_score_diff"], r["slice"]))
    top = ranked[:cfg.shadow.top_slices]
    details = {"slices": top, "ranked_by": "decision disagreement, then mean |score difference|",
               "slices_ranked": len(ranked)}
    if top:
        rows.append(informational("top_disagreement_slices", top[0]["decision_disagreement"], details))
    else:
        rows.append(skipped("top_disagreement_slices",
                            "no segments configured" if not cfg.segments else
                            f"no slice with slices.min_rows={cfg.slices.min_rows} paired requests",
                            details=details))
    rows += latency_rows(cfg, m)
    return rows


def _divergence_rows(cfg: MonitorConfig, m: WindowComparison) -> list[MetricRow]:
    rows = []
    for check, method in (("challenger_score_psi", "psi"), ("challenger_score_js", "jensen_shannon")):
        if m.hist_champion is None or m.hist_champion.sum() == 0:
            rows.append(skipped(check, "no request scored by both models"))
            continue
        edges = np.asarray(m.edges, dtype=float)
        score = get_method(method, "numeric").func(
            BinnedInput(m.hist_champion, m.hist_challenger, edges=edges if edges.size else None))
        details = {"method": method, "bins": len(m.edges) + 1,
                   "bins_from": "champion score quantiles over the paired requests"}
        rows.append(judged_high(cfg, check, score.value, details))
    return rows


def latency_rows(cfg: MonitorConfig, m: WindowComparison) -> list[MetricRow]:
    checks = [f"latency_p{round(p * 100)}" for p in LATENCY_PROBS]
    if not cfg.columns.latency_ms:
        return [skipped(c, "columns.latency_ms is not configured") for c in checks]
    champion, challenger = m.latency.get("lat_a"), m.latency.get("lat_b")
    rows = []
    for i, check in enumerate(checks):
        a = champion[i] if champion else None
        b = challenger[i] if challenger else None
        details = {"champion": a, "challenger": b, "measure": "ms",
                   "ratio": b / a if a and b is not None else None}
        if b is None:
            rows.append(skipped(check, "no challenger latency logged in the window", details=details))
        else:
            rows.append(informational(check, b, details))
    return rows


__all__ = ["WindowComparison", "agreement_rows", "coverage", "measure_window", "selected_slices"]
