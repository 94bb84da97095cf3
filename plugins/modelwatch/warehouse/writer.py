"""Idempotent writes of a window's results, published whole.

A task owns a set of check names for a window; it replaces exactly those rows, so a rerun or
backfill of the window leaves one row per (model, window, layer, check, feature, slice).
Delete-then-insert is used instead of dialect upserts because ``feature`` is nullable, and
NULLs never collide in a unique index on any of the target dialects.

A monitoring run is several steps, and in Airflow several processes, so no single database
transaction can hold a window. Each step therefore *stages* its rows (``Stage``: the run's
window and the step's name) in ``mw_metric_staged``, in its own transaction, and
``publish_window`` moves everything staged for the run into ``mw_metric`` in one transaction
once the layers are done. A run killed anywhere before that leaves ``mw_metric`` exactly as the
previous run left it; its staged rows are replaced by the rerun's. Without a ``Stage`` (a layer
called on its own, as a library) the rows go straight to ``mw_metric``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.clock import utcnow
from modelwatch.metrics import MetricRow
from modelwatch.warehouse.tables import mw_metric, mw_metric_staged

_METRIC_COLUMNS = [c.name for c in mw_metric.columns]


@dataclass(frozen=True)
class Stage:
    """A step of a window run: its rows wait in ``mw_metric_staged`` until the run publishes."""

    step: str
    run_start: datetime
    run_end: datetime


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
    stage: Stage | None = None,
    replace_like: str | None = None,
) -> int:
    """Replace this window's rows for every (layer, check) present in ``rows``.

    ``replace_like`` (a LIKE pattern with ``\\`` as escape) also removes the window's other rows
    of those layers whose check name matches: a name space the writer owns whole, such as the
    data layer's ``expect_*`` rows, whose names follow the GX suite. With ``stage`` the rows are
    staged for ``publish_window`` instead of written.
    """
    keys = sorted({(r.layer, r.check_name) for r in rows})
    dupes = len(rows) - len({(r.layer, r.check_name, r.feature, r.slice) for r in rows})
    if dupes:
        raise ValueError(f"{dupes} duplicate metric keys in one write; each key must be unique")
    table = mw_metric if stage is None else mw_metric_staged
    for layer, checks in _group(keys).items():
        owned = table.c.check_name.in_(checks)
        if replace_like is not None:
            owned = owned | table.c.check_name.like(replace_like, escape="\\")
        where = [table.c.model_name == model_name, table.c.window_start == window_start,
                 table.c.window_end == window_end, table.c.layer == layer, owned]
        if stage is not None:
            where += [table.c.run_window_start == stage.run_start,
                      table.c.run_window_end == stage.run_end]
        conn.execute(sa.delete(table).where(*where))
    now = utcnow()
    staged = {} if stage is None else {
        "run_window_start": stage.run_start, "run_window_end": stage.run_end,
        "step": stage.step, "replace_like": replace_like}
    if rows:
        conn.execute(
            sa.insert(table),
            [
                {
                    **staged,
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


def _superseded(stage: Stage, model_name: str):
    """``mw_metric`` rows the run of ``stage`` has staged a replacement for (as ``publish_window``
    will replace them)."""
    m, s = mw_metric, mw_metric_staged
    return sa.exists().where(
        s.c.model_name == model_name, s.c.run_window_start == stage.run_start,
        s.c.run_window_end == stage.run_end, s.c.model_name == m.c.model_name,
        s.c.window_start == m.c.window_start, s.c.window_end == m.c.window_end,
        s.c.layer == m.c.layer,
        sa.or_(s.c.check_name == m.c.check_name,
               sa.and_(s.c.replace_like.is_not(None),
                       m.c.check_name.like(s.c.replace_like, escape="\\"))))


def visible_metrics(model_name: str, stage: Stage | None = None) -> sa.FromClause:
    """``mw_metric`` as the run of ``stage`` sees it: what is published, with the rows its earlier
    steps staged in place of those they replace (the outcome layer correlates KPIs with the
    window checks' rows of the same run). Without a stage, ``mw_metric`` itself."""
    if stage is None:
        return mw_metric
    m, s = mw_metric, mw_metric_staged
    published = sa.select(*(m.c[name] for name in _METRIC_COLUMNS)).where(
        m.c.model_name == model_name, ~_superseded(stage, model_name))
    staged = sa.select(*(s.c[name] for name in _METRIC_COLUMNS)).where(
        s.c.model_name == model_name, s.c.run_window_start == stage.run_start,
        s.c.run_window_end == stage.run_end)
    return sa.union_all(published, staged).subquery("mw_metric_as_staged")


def publish_window(conn: Connection, *, model_name: str, run_start: datetime,
                   run_end: datetime) -> int:
    """Move every row the run of ``[run_start, run_end)`` staged into ``mw_metric``: one
    transaction (the caller's), three statements whatever the number of rows.

    Each staged (window, layer, check) replaces its rows in ``mw_metric``, and a staged
    ``replace_like`` pattern removes that (window, layer)'s other matching names, exactly as a
    direct ``replace_metrics`` would have. Returns the number of rows published.
    """
    m, s = mw_metric, mw_metric_staged
    of_run = sa.and_(s.c.model_name == model_name, s.c.run_window_start == run_start,
                     s.c.run_window_end == run_end)
    replaced = _superseded(Stage("publish", run_start, run_end), model_name)
    # counted, not taken from the INSERT's rowcount, which drivers report differently
    moved = conn.execute(sa.select(sa.func.count()).select_from(s).where(of_run)).scalar_one()
    conn.execute(sa.delete(m).where(m.c.model_name == model_name, replaced))
    conn.execute(sa.insert(m).from_select(
        _METRIC_COLUMNS, sa.select(*(s.c[name] for name in _METRIC_COLUMNS)).where(of_run)))
    conn.execute(sa.delete(s).where(of_run))
    return moved


def _group(keys: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for layer, check in keys:
        grouped.setdefault(layer, []).append(check)
    return grouped
