"""What the demo prints: one line per monitored day, then a timeline of alerts per check.

Read back from the warehouse's ``mw_*`` tables, so the demo shows what the DAG stored, not what
it meant to store.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from modelwatch.config.schema import MonitorConfig
from modelwatch.warehouse.tables import mw_alert, mw_metric


def _flagged(engine: Engine, cfg: MonitorConfig, start: datetime) -> list[sa.Row]:
    query = (
        sa.select(mw_metric.c.layer, mw_metric.c.check_name, mw_metric.c.feature,
                  mw_metric.c.slice, mw_metric.c.status)
        .where(mw_metric.c.model_name == cfg.model.name, mw_metric.c.window_start == start,
               mw_metric.c.status.in_(["warn", "alert"]),
               mw_metric.c.layer != "shadow")  # the challenger's gate is summarised at the end
    )
    with engine.connect() as conn:
        return list(conn.execute(query))


def _by_feature(rows: list[sa.Row]) -> dict[str, tuple[set[str], set[str]]]:
    """feature -> (checks that fired, slices where they fired)."""
    grouped: dict[str, tuple[set[str], set[str]]] = {}
    for r in rows:
        checks, slices = grouped.setdefault(r.feature or "-", (set(), set()))
        checks.add(r.check_name)
        slices.add(r.slice)
    return grouped


def day_line(engine: Engine, cfg: MonitorConfig, day: int, start: datetime, state: str) -> str:
    rows = _flagged(engine, cfg, start)
    alerts = [r for r in rows if r.status == "alert"]
    warns = [r for r in rows if r.status == "warn"]
    features = _by_feature(alerts or warns)
    names = ", ".join(f"{feature}({len(checks)} checks, {len(slices)} slices)"
                      for feature, (checks, slices) in sorted(features.items()))
    tag = "ok   " if not rows else ("ALERT" if alerts else "warn ")
    return (f"    day {day:2d} {start:%a %Y-%m-%d} run={state.split('.')[-1]:<7} {tag} "
            f"{len(alerts):3d} alert / {len(warns):2d} warn rows  {names}")


def final_report(engine: Engine, cfg: MonitorConfig, first_day: int, last_day: int) -> str:
    from modelwatch.demo.scenario import day_of

    lo, hi = day_of(first_day), day_of(last_day) + timedelta(days=1)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(mw_metric.c.check_name, mw_metric.c.feature, mw_metric.c.window_start)
            .where(mw_metric.c.model_name == cfg.model.name, mw_metric.c.status == "alert",
                   mw_metric.c.slice == "all",
                   mw_metric.c.window_start >= lo, mw_metric.c.window_start < hi)
        ).all()
        totals = dict(conn.execute(
            sa.select(mw_metric.c.status, sa.func.count()).where(
                mw_metric.c.model_name == cfg.model.name,
                mw_metric.c.window_start >= lo, mw_metric.c.window_start < hi)
            .group_by(mw_metric.c.status)).all())
        open_alerts = conn.execute(
            sa.select(sa.func.count()).select_from(mw_alert)
            .where(mw_alert.c.model_name == cfg.model.name, mw_alert.c.status == "open")
        ).scalar_one()
    days: dict[str, set[int]] = {}
    checks: dict[str, set[str]] = {}
    for check, feature, start in rows:
        days.setdefault(feature or "-", set()).add((start - day_of(1)).days + 1)
        checks.setdefault(feature or "-", set()).add(check)
    lines = ["", "Alert timeline, whole population (scenario days on which each feature alerted):"]
    for feature, hit in sorted(days.items(), key=lambda kv: (min(kv[1]), kv[0])):
        lines.append(f"    {feature:<24} days {_ranges(sorted(hit)):<10} "
                     f"by {', '.join(sorted(checks[feature]))}")
    if not days:
        lines.append("    (none)")
    with engine.connect() as conn:
        gates = conn.execute(
            sa.select(mw_metric.c.window_start, mw_metric.c.value, mw_metric.c.details)
            .where(mw_metric.c.model_name == cfg.model.name,
                   mw_metric.c.check_name == "promotion_gate", mw_metric.c.slice == "all",
                   mw_metric.c.window_start >= lo, mw_metric.c.window_start < hi)
            .order_by(mw_metric.c.window_start)).all()
        auc = conn.execute(
            sa.select(mw_metric.c.window_start, mw_metric.c.check_name, mw_metric.c.value)
            .where(mw_metric.c.model_name == cfg.model.name, mw_metric.c.slice == "all",
                   mw_metric.c.check_name.in_(["roc_auc", "estimated_roc_auc"]),
                   mw_metric.c.window_start >= lo, mw_metric.c.window_start < hi)
            .order_by(mw_metric.c.window_start)).all()
    if gates:
        passed = sum(1 for g in gates if g.value == 1)
        last = gates[-1].details or {}
        failing = last.get("failing") if isinstance(last, dict) else None
        lines.append(f"Shadow challenger: promotion gate evaluated on {len(gates)} days, passed on "
                     f"{passed}" + (f"; last failing criteria: {', '.join(failing)}" if failing
                                    else ""))
    realized = {r.window_start: r.value for r in auc if r.check_name == "roc_auc" and r.value}
    estimated = {r.window_start: r.value for r in auc
                 if r.check_name == "estimated_roc_auc" and r.value}
    if realized or estimated:
        sample = sorted(set(realized) | set(estimated))[-12::3]
        parts = [f"day {(d - day_of(1)).days + 1}: "
                 + (f"realized {realized[d]:.3f}" if d in realized else "realized -")
                 + (f" / estimated {estimated[d]:.3f}" if d in estimated else "") for d in sample]
        lines.append("AUC (labels mature after 10 days): " + "; ".join(parts))
    lines.append("Stored in mw_metric: " + ", ".join(f"{n:,} {s}" for s, n in sorted(totals.items()))
                 + f" rows (every method x feature x slice x day); mw_alert: {open_alerts:,} open.")
    return "\n".join(lines)


def _ranges(days: list[int]) -> str:
    spans, start, prev = [], days[0], days[0]
    for d in days[1:] + [None]:
        if d is not None and d == prev + 1:
            prev = d
            continue
        spans.append(f"{start}" if start == prev else f"{start}-{prev}")
        if d is not None:
            start = prev = d
    return ", ".join(spans)
