"""The shadow comparison as text an ML engineer reads in the task log.

Whole-population rows of the current window with champion and challenger side by side, flagged
slices only (the count of the others), the gate's verdict with its reasons, then one line per past
window re-evaluated with matured labels.
"""

from __future__ import annotations

from modelwatch.metrics import STATUS_ORDER, MetricRow
from modelwatch.shadow.rows import ALL

HEADER = ("check", "slice", "champion", "challenger", "measure", "value", "interval", "threshold",
          "status")


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _interval(r: MetricRow) -> str:
    low, high = r.details.get("ci_low"), r.details.get("ci_high")
    return "-" if low is None or high is None else f"[{low:+.4f}, {high:+.4f}]"


def _line(r: MetricRow) -> tuple[str, ...]:
    d = r.details
    return (r.check_name, r.slice, _fmt(d.get("champion")), _fmt(d.get("challenger")),
            d.get("measure", ""), _fmt(r.value), _interval(r), _fmt(r.threshold), r.status)


def _render(lines: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines]


def _is_gate(check: str) -> bool:
    return check.startswith("gate_") or check == "promotion_gate"


def _short(iso: str | None) -> str:
    return "?" if not iso else iso.replace("T", " ")[:16]


def shadow_table(rows: list[MetricRow]) -> str:
    """A compact text table of ``run_shadow``'s rows (the current window first)."""
    if not rows:
        return "shadow: no rows (shadow.enabled is false, or nothing to compare)"
    gate = next((r for r in rows if r.check_name == "promotion_gate"), None)
    starts = [r.details.get("window_start") for r in rows if r.details.get("window_start")]
    current = gate.details.get("window_start") if gate else (max(starts) if starts else None)
    now = [r for r in rows if r.details.get("window_start") in (None, current)]
    past = [r for r in rows if r.details.get("window_start") not in (None, current)]

    out = []
    if gate:
        d = gate.details
        out.append(f"shadow comparison, window {_short(d.get('window_start'))} → "
                   f"{_short(d.get('window_end'))} UTC: champion {d.get('champion_version')} vs "
                   f"challenger {d.get('challenger_version')}")
    shown = [r for r in now if not _is_gate(r.check_name)
             and (r.slice == ALL or STATUS_ORDER[r.status] > 0)]
    hidden = [r for r in now if r.slice != ALL and r not in shown]
    out += _render([HEADER] + [_line(r) for r in shown])
    if hidden:
        out.append(f"({len(hidden)} more slice rows, none flagged: see mw_metric, layer 'shadow')")
    if gate:
        d = gate.details
        verdict = "PASS" if gate.value == 1 else "FAIL"
        out.append(f"promotion gate: {verdict} (evidence {_short(d.get('evidence_start'))} → "
                   f"{_short(d.get('evidence_end'))}, labels as of {_short(d.get('as_of'))})")
        for r in now:
            if r.check_name.startswith("gate_"):
                mark = "x" if r.details.get("blocks_promotion") else "ok" if r.status == "ok" else "-"
                out.append(f"  [{mark}] {r.check_name.removeprefix('gate_')}: "
                           f"{r.details.get('reason', '')}")
    by_window: dict[str, list[MetricRow]] = {}
    for r in past:
        by_window.setdefault(r.details["window_start"], []).append(r)
    if by_window:
        out.append("re-evaluated with matured labels:")
    for start in sorted(by_window):
        window_rows = {(r.check_name, r.slice): r for r in by_window[start]}
        pairs = window_rows.get(("labelled_pairs", ALL))
        parts = [f"  {_short(start)} → {_short(by_window[start][0].details.get('window_end'))}"]
        if pairs is not None and pairs.value is not None:
            parts.append(f"{int(pairs.value)} labelled / {pairs.details.get('paired')} paired")
        for check, label in (("auc_diff", "AUC diff"), ("log_loss_diff", "log loss diff"),
                             ("mcnemar", "McNemar p")):
            r = window_rows.get((check, ALL))
            if r is not None and r.value is not None:
                ci = _interval(r)
                parts.append(f"{label} {r.value:+.4f}" + ("" if ci == "-" else f" {ci}")
                             if check != "mcnemar" else f"{label}={r.value:.3g}")
        flagged = sorted({r.slice for r in by_window[start] if STATUS_ORDER[r.status] > 0})
        if flagged:
            parts.append("flagged: " + ", ".join(flagged))
        out.append("; ".join(parts))
    return "\n".join(out)
