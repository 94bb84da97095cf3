"""Plain-text tables for task logs and the CLI: what a person reads in the Airflow UI."""

from __future__ import annotations

from modelwatch.metrics import STATUS_ORDER, MetricRow


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def metrics_table(rows: list[MetricRow], *, only_flagged: bool = False, limit: int = 60) -> str:
    """Worst first; ok rows dropped when ``only_flagged``."""
    chosen = [r for r in rows if not only_flagged or STATUS_ORDER[r.status] > 0]
    chosen.sort(key=lambda r: (-STATUS_ORDER[r.status], r.layer, r.check_name, r.feature or ""))
    header = ("layer", "check", "feature", "slice", "value", "threshold", "status")
    lines = [header] + [
        (r.layer, r.check_name, r.feature or "-", r.slice, _fmt(r.value), _fmt(r.threshold),
         r.status)
        for r in chosen[:limit]
    ]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    if len(chosen) > limit:
        out.append(f"... {len(chosen) - limit} more rows")
    counts = {s: sum(r.status == s for r in rows) for s in ("alert", "warn", "ok", "skipped")}
    out.append("totals: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return "\n".join(out)
