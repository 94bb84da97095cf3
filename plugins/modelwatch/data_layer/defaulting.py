"""Silent defaulting: one constant suddenly fills a feature — the classic broken-join symptom.

Per feature, the share of the window's values equal to each watched constant (0, -1, '', the
reference mean and mode, …) is compared with that constant's share in the reference. The value
of ``silent_default_share`` is the largest increase. A rising share alone does not tell a fill
from a population that changed (a binary feature whose 1s go from 55 % to 80 % of rows), so the
check calls it a fill only with evidence that tells them apart (``details.evidence``):

- ``nulls_fell``: the feature's null share fell by at least half the rise (missing values are
  being filled with the constant);
- ``near_total``: the constant is in (nearly) every row;
- ``rare_before``: a value under 5 % of the reference now holds a quarter of the rows or more;
- ``skew``: the same feature disagrees with the offline feature store (``corroborate``, after
  the skew checks ran).

With evidence the row is judged and its message is a hypothesis with that evidence ("share of 0
rose from 1.0% to 64.0%; nulls fell from 30.0% to 0.0%: looks like a fill upstream"). Without,
the row stays ``ok`` with ``details.diagnosis = "population_shift"``: the drift checks report the
change, routed as drift, and no one is told a pipeline is broken when it is not.
"""

from __future__ import annotations

from dataclasses import replace

from modelwatch.config.schema import MonitorConfig
from modelwatch.data_layer.rows import judged, judged_change, pct, share, skipped
from modelwatch.data_layer.scan import Candidate, FeatureCounts
from modelwatch.metrics import MetricRow
from modelwatch.sampling import share_change_error

CHECK = "silent_default_share"


NEAR_TOTAL = 0.98
RARE_BEFORE, COMMON_NOW = 0.05, 0.25
SKEW_CHECKS = ("skew_mismatch_rate", "skew_psi")


def silent_default(cfg: MonitorConfig, name: str, kind: str, candidates: tuple[Candidate, ...],
                   reference_shares: list[float | None], counts: FeatureCounts,
                   reference_values: int | None = None, *, null_share: float | None = None,
                   reference_null_share: float | None = None) -> MetricRow:
    """The watched constant whose share rose most against the reference, judged."""
    valid = counts.valid(kind)
    if counts.non_null == 0:
        return skipped(CHECK, name, "all_null", f"{name}: every value is null in the window, so no "
                       "constant can be judged (see null_rate_increase)")
    if valid < cfg.data_layer.defaulting.min_rows:
        return skipped(CHECK, name, "too_few_rows", f"{name}: {valid} valid values in the window, fewer "
                       f"than data_layer.defaulting.min_rows={cfg.data_layer.defaulting.min_rows}",
                       values=valid)
    if not candidates:
        return judged(cfg, CHECK, name, 0.0, {"message": f"{name}: no constant watched", "values": valid})
    best = None
    for candidate, ref_share, n in zip(candidates, reference_shares, counts.candidates, strict=True):
        now = share(n, valid)
        increase = now - (ref_share or 0.0)
        if best is None or increase > best[0]:
            best = (increase, candidate, now, ref_share, n)
    increase, candidate, now, ref_share, n = best
    increase = max(increase, 0.0)
    details = {"value": candidate.value, "constant": candidate.label, "window_share": now,
               "reference_share": ref_share, "values": valid, "described": candidate.describe()}
    row = judged_change(cfg, CHECK, name, increase, details, rows=valid,
                        sampling_error=share_change_error(n, valid, ref_share, reference_values))
    if row.status not in ("warn", "alert"):
        row.details["message"] = (f"{name}: no constant above its reference share (largest rise: "
                                  f"{candidate.describe()} at {pct(now)} vs {pct(ref_share)})")
        return row
    evidence = {}
    if null_share is not None and reference_null_share is not None:
        fell = reference_null_share - null_share
        if fell >= max(0.5 * increase, 0.02):
            evidence["nulls_fell"] = (f"nulls fell from {pct(reference_null_share)} to "
                                      f"{pct(null_share)}")
    if now >= NEAR_TOTAL:
        evidence["near_total"] = f"in {pct(now)} of rows"
    if (ref_share or 0.0) < RARE_BEFORE and now >= COMMON_NOW:
        evidence["rare_before"] = f"under {pct(RARE_BEFORE)} of the reference"
    row.details["evidence"] = evidence
    return _diagnosed(row)


def corroborate(rows: list[MetricRow]) -> list[MetricRow]:
    """Add the skew checks' word to each feature's silent-default row, now that they ran: a
    feature whose online values disagree with the offline store is evidence of a fill; a skew
    check that could not run (no offline table) is said to leave it unconfirmed."""
    skew = {}  # feature -> flagged, for the skew checks that could compare it
    for r in rows:
        if r.check_name in SKEW_CHECKS and r.feature and r.status != "skipped":
            flagged = r.status in ("warn", "alert")
            skew[r.feature] = skew.get(r.feature, False) or flagged
    out = []
    for r in rows:
        if r.check_name == CHECK and "evidence" in r.details:
            evidence = dict(r.details["evidence"])
            if skew.get(r.feature):
                evidence["skew"] = "its online values disagree with the offline feature store"
            r = replace(r, details={**r.details, "evidence": evidence,
                                    "skew_checked": r.feature in skew})
            r = _diagnosed(r)
        out.append(r)
    return out


def _diagnosed(row: MetricRow) -> MetricRow:
    """The row's status and message from its evidence: a fill (judged) or a population shift
    (``ok``, left to the drift checks)."""
    d = row.details
    rise = (f"share of {d['described']} rose from {pct(d['reference_share'])} to "
            f"{pct(d['window_share'])}")
    evidence = d.get("evidence") or {}
    confirm = "" if d.get("skew_checked") else "; no offline feature table to confirm by skew"
    if evidence:
        status = d.get("judged_status", row.status)
        message = (f"likely: {row.feature} silently defaulted to {d['described']} in "
                   f"{pct(d['window_share'])} of rows (reference {pct(d['reference_share'])}); "
                   f"evidence: {', '.join(evidence.values())}{confirm} — a fill or broken join "
                   "upstream, check what produces this column")
        return replace(row, status=status, details={**d, "diagnosis": "fill", "message": message,
                                                    "judged_status": status})
    status = d.get("judged_status", row.status)
    message = (f"{row.feature}: {rise}, with no sign of a fill (nulls did not fall, not in every "
               f"row, the value was common before{confirm}): a population change, reported by "
               "the drift checks")
    return replace(row, status="ok", details={**d, "diagnosis": "population_shift",
                                              "message": message, "judged_status": status})
