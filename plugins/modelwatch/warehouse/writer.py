"""Idempotent writes of a window's results.

A task owns a set of check names for a window; it replaces exactly those rows in one
transaction, so a rerun or backfill of the window leaves one row per
(model, window, layer, check, feature, slice) and a crash leaves the previous rows intact.
Delete-then-insert is used instead of dialect upserts because ``feature`` is nullable, and
NULLs never collide in a unique index on any of the target dialects.
"""

from __future__ import annotations

import math
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.clock import utcnow
from modelwatch.metrics import MetricRow
from modelwatch.warehouse.tables import mw_metric


def _clean(value):
    """JSON-safe details: NaN/inf become None, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def replace_metrics(
    conn: Connection,
    *,
    run_id: str,
    model_name: str,
    model_version: str | None,
    window_start: datetime,
    window_end: datetime,
    rows: list[MetricRow],
) -> int:
    """Replace this window's rows for every (layer, check) present in ``rows``."""
    keys = sorted({(r.layer, r.check_name) for r in rows})
    dupes = len(rows) - len({(r.layer, r.check_name, r.feature, r.slice) for r in rows})
    if dupes:
        raise ValueError(f"{dupes} duplicate metric keys in one write; each key must be unique")
    for layer, checks in _group(keys).items():
        conn.execute(
            sa.delete(mw_metric).where(
                mw_metric.c.model_name == model_name,
                mw_metric.c.window_start == window_start,
                mw_metric.c.window_end == window_end,
                mw_metric.c.layer == layer,
                mw_metric.c.check_name.in_(checks),
            )
        )
    now = utcnow()
    if rows:
        conn.execute(
            sa.insert(mw_metric),
            [
                {
                    "run_id": run_id,
                    "model_name": model_name,
                    "model_version": model_version,
                    "window_start": window_start,
                    "window_end": window_end,
                    "layer": r.layer,
                    "check_name": r.check_name,
                    "feature": r.feature,
                    "slice": r.slice,
                    "value": _clean(r.value),
                    "threshold": _clean(r.threshold),
                    "status": r.status,
                    "details": _clean(r.details),
                    "computed_at": now,
                }
                for r in rows
            ],
        )
    return len(rows)


def _group(keys: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for layer, check in keys:
        grouped.setdefault(layer, []).append(check)
    return grouped
