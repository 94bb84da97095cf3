"""The promotion gate: may the challenger replace the champion, and if not, why not.

Evaluated at every run. Quality criteria judge the *evidence period*: the ``gate.lookback`` of
requests ending ``labels.delay`` before the window's end — requests whose labels are mature — with
the labels that had arrived by the window's end. Service criteria judge the current window (how
the challenger runs now).

One row per criterion, ``gate_<criterion>``, ``ok`` or ``alert`` with the reason in
``details.reason``; ``skipped`` when the criterion does not apply (no latency column, no segment
large enough to test) — ``details.blocks_promotion`` says whether that skip fails the gate. Then
``promotion_gate``: value 1 (pass) or 0 (fail), details listing the failing criteria, their
reasons and the failing slices by name.
"""

from __future__ import annotations

from datetime import datetime

from modelwatch.config.schema import MonitorConfig
from modelwatch.metrics import MetricRow
from modelwatch.shadow.agreement import WindowComparison, coverage
from modelwatch.shadow.labelled import LabelledResult
from modelwatch.shadow.rows import AUC_CRITERION, finite, row, skipped


def evidence_period(cfg: MonitorConfig, window_end: datetime) -> tuple[datetime, datetime]:
    end = window_end - cfg.labels.delay
    return end - cfg.shadow.gate.lookback, end


def evidence_windows(cfg: MonitorConfig, start: datetime, end: datetime) -> list[datetime]:
    """Starts of the ``schedule.window``-long windows of the evidence period (counted back from
    its end, so a look-back that is not a whole number of windows loses the partial one)."""
    length = cfg.schedule.window
    starts, t = [], end - length
    while t >= start:
        starts.append(t)
        t -= length
    return sorted(starts) or [start]


def _criterion(name: str, ok: bool, value: float, threshold: float, reason: str, details: dict
               ) -> MetricRow:
    return row(f"gate_{name}", value, "ok" if ok else "warn", threshold=threshold,
               details={**details, "reason": reason, "blocks_promotion": not ok})


def _not_evaluable(name: str, reason: str, details: dict, *, blocks: bool) -> MetricRow:
    return skipped(f"gate_{name}", reason, details={**details, "blocks_promotion": blocks})


def _fmt_ci(interval) -> str:
    return f"{interval.estimate:+.4f} [{interval.low:+.4f}, {interval.high:+.4f}]"


def gate_rows(cfg: MonitorConfig, evidence: LabelledResult, current: WindowComparison,
              *, versions: dict[str, str | None], window: tuple[datetime, datetime]) -> list[MetricRow]:
    """Criterion rows then ``promotion_gate``; ``window`` is the current window (service criteria)."""
    gate = cfg.shadow.gate
    base = {"evidence_start": evidence.start.isoformat(), "evidence_end": evidence.end.isoformat(),
            "as_of": evidence.as_of.isoformat()}
    rows = []

    n = evidence.labelled
    rows.append(_criterion(
        "min_labelled", n >= gate.min_labelled, n, gate.min_labelled,
        f"{n} labelled requests scored by both models in the evidence period"
        + ("" if n >= gate.min_labelled else f"; need {gate.min_labelled}"),
        {**base, "paired": evidence.paired, "positives": evidence.positives}))

    rows.append(_windows_criterion(cfg, evidence, base))
    rows.append(_auc_criterion(cfg, evidence, base))

    rows.append(_slice_criterion(cfg, evidence, base))
    rows.append(_coverage_criterion(cfg, current))
    rows.append(_latency_criterion(cfg, current))

    failing = [r for r in rows if r.details.get("blocks_promotion")]
    passed = not failing
    reasons = {r.check_name.removeprefix("gate_"): r.details.get("reason") for r in failing}
    worse = [s.key for s in evidence.worse_slices]
    auc_row = next(r for r in rows if r.check_name == f"gate_{AUC_CRITERION[gate.mode]}")
    summary = ("pass: the challenger may be promoted" if passed else
               "fail: " + "; ".join(f"{k}: {v}" for k, v in reasons.items()))
    rows.append(row("promotion_gate", 1.0 if passed else 0.0, "ok" if passed else "warn",
                    threshold=1.0, details={
                        **base, "mode": gate.mode, "failing": list(reasons), "reasons": reasons,
                        "failing_slices": worse, "interval": auc_row.details.get("interval"),
                        "windows_used": evidence_used(evidence),
                        "champion_version": versions.get("champion"),
                        "challenger_version": versions.get("challenger"), "reason": summary,
                        "window_start": window[0].isoformat(), "window_end": window[1].isoformat()}))
    return rows


def evidence_used(evidence: LabelledResult) -> list[dict]:
    """The evidence period's windows that held labelled pairs, with how many."""
    return [{"window_start": w.isoformat(), "labelled": n}
            for w, n in zip(evidence.window_starts, evidence.per_window, strict=True) if n]


def _windows_criterion(cfg: MonitorConfig, evidence: LabelledResult, base: dict) -> MetricRow:
    need = cfg.shadow.gate.min_windows
    used = evidence_used(evidence)
    possible = len(evidence.window_starts)
    reason = (f"{len(used)} of the evidence period's {possible} windows hold labelled requests "
              "scored by both models")
    if len(used) < need:
        reason += f"; need {need}"
        if possible < need:
            reason += (f" (the evidence period holds only {possible}: lengthen gate.lookback or "
                       "lower gate.min_windows)")
    return _criterion("min_windows", len(used) >= need, float(len(used)), float(need), reason,
                      {**base, "windows_used": used, "windows_in_period": possible})


def _auc_criterion(cfg: MonitorConfig, evidence: LabelledResult, base: dict) -> MetricRow:
    """``gate_auc_gain`` (mode ``superior``) or ``gate_auc_noninferiority`` (``non_inferior``)."""
    gate = cfg.shadow.gate
    name = AUC_CRITERION[gate.mode]
    whole = evidence.whole
    if whole.comparison is None:
        return _not_evaluable(name, f"not evaluable: {whole.reason}", base, blocks=True)
    c = whole.comparison
    diff = c.auc_diff
    if finite(diff.low) is None:
        return _not_evaluable(name, "not evaluable: DeLong's variance needs 2 labelled requests "
                              "of each class", base, blocks=True)
    interval = {"estimate": diff.estimate, "low": diff.low, "high": diff.high, "se": diff.se,
                "confidence": cfg.shadow.confidence, "method": c.method}
    details = {**base, "mode": gate.mode, "champion": c.auc_champion, "challenger": c.auc_challenger,
               "measure": "AUC", "auc_diff": diff.estimate, "ci_low": diff.low, "ci_high": diff.high,
               "interval": interval, "labelled": whole.labelled,
               "windows_used": evidence_used(evidence)}
    at = f"AUC diff {_fmt_ci(diff)} at {cfg.shadow.confidence:.0%}: lower bound "
    if gate.mode == "superior":
        ok = diff.low > gate.min_gain
        details["p_not_better"] = c.p_not_better(gate.min_gain)
        return _criterion(name, ok, diff.low, gate.min_gain, at + (
            f"above {gate.min_gain:g}: significantly better" if ok else
            f"not above {gate.min_gain:g}: not significantly better than the champion"), details)
    ok = diff.low > -gate.auc_margin
    return _criterion(name, ok, diff.low, -gate.auc_margin, at + (
        f"above −{gate.auc_margin}" if ok else f"not above −{gate.auc_margin}"), details)


def _slice_criterion(cfg: MonitorConfig, evidence: LabelledResult, base: dict) -> MetricRow:
    gate = cfg.shadow.gate
    tested = evidence.tested_slices
    details = {**base, "margin": gate.slice_margin, "fdr": cfg.slices.fdr,
               "tested": [s.key for s in tested],
               "untested": {k: s.reason for k, s in evidence.slices.items()
                            if k != "all" and s.comparison is None}}
    if not cfg.segments:
        return _not_evaluable("no_slice_worse", "no segments configured", details, blocks=False)
    if not tested:
        return _not_evaluable(
            "no_slice_worse", f"no slice has slices.min_rows={cfg.slices.min_rows} labelled requests "
            "with both classes in the evidence period", details, blocks=False)
    worse = evidence.worse_slices
    details["worse"] = [{"slice": s.key, "auc_diff": s.comparison.auc_diff.estimate,
                         "ci_low": s.comparison.auc_diff.low, "ci_high": s.comparison.auc_diff.high,
                         "p_worse_than_margin": s.p_worse} for s in worse]
    if worse:
        reason = "challenger worse beyond the margin on " + ", ".join(
            f"{s.key} (AUC diff {_fmt_ci(s.comparison.auc_diff)})" for s in worse)
    else:
        reason = f"no slice worse by more than {gate.slice_margin} ({len(tested)} tested)"
    return _criterion("no_slice_worse", not worse, float(len(worse)), 1.0, reason, details)


def _coverage_criterion(cfg: MonitorConfig, current: WindowComparison) -> MetricRow:
    value = coverage(current.whole)
    level = cfg.shadow.coverage_alert
    if value is None:
        return _not_evaluable("coverage", "no champion-scored request in the window", {}, blocks=True)
    ok = value >= level
    return _criterion("coverage", ok, value, level,
                      f"challenger scored {value:.2%} of the window's requests"
                      + ("" if ok else f", below {level:.0%}"), {"requests": current.whole.requests})


def _latency_criterion(cfg: MonitorConfig, current: WindowComparison) -> MetricRow:
    gate = cfg.shadow.gate
    if not cfg.columns.latency_ms:
        return _not_evaluable("latency_p99", "columns.latency_ms is not configured", {}, blocks=False)
    champion = (current.latency.get("lat_a") or [None] * 3)[-1]
    challenger = (current.latency.get("lat_b") or [None] * 3)[-1]
    budgets = {}
    if gate.latency_p99_budget_ms is not None:
        budgets["absolute"] = gate.latency_p99_budget_ms
    if gate.latency_p99_max_ratio is not None and champion is not None:
        budgets["relative"] = gate.latency_p99_max_ratio * champion
    details = {"champion": champion, "challenger": challenger, "measure": "ms", "budgets": budgets}
    if not budgets:
        return _not_evaluable("latency_p99", "no latency budget configured", details, blocks=False)
    if challenger is None:
        return _not_evaluable("latency_p99", "no challenger latency logged in the window", details,
                              blocks=True)
    budget = min(budgets.values())
    ok = challenger <= budget
    return _criterion("latency_p99", ok, challenger, budget,
                      f"challenger p99 {challenger:.1f} ms "
                      + ("within" if ok else "over") + f" the budget of {budget:.1f} ms", details)
