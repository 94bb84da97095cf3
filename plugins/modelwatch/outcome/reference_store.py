"""Reference outcome: performance, coverage and calibration on the reference's labelled rows.

Computed once per reference definition and stored in ``mw_reference_profile`` under its own key
(``outcome-<hash>``, ``outcome.reference.reference_key``), next to the drift profile. The
reference's labels are read as they stood when the reference matured (``reference.end +
labels.delay``), a fixed point in time, so the cached numbers do not depend on when they were
first computed. A run before that point computes an *immature* reference from the labels that
have arrived by its ``as_of`` and does not cache it; every row judged against it says so
(``reference_mature: false``).

A reference given as a table (no start/end) uses every label, whatever its arrival time.

Above the task registry (``outcome.tasks``) it aggregates with; what the rows are judged against
(``OutcomeReference``) lives below both, in ``outcome.reference``.
"""

from __future__ import annotations

import json
import math
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.clock import utcnow
from modelwatch.config.schema import MonitorConfig
from modelwatch.outcome.intervals import rng_for
from modelwatch.outcome.performance import gate_of
from modelwatch.outcome.queries import fetch_label_stats, joined
from modelwatch.outcome.reference import REFERENCE_FORMAT, OutcomeReference, reference_key
from modelwatch.outcome.tasks import task_of
from modelwatch.warehouse.labels import label_kind
from modelwatch.warehouse.tables import mw_reference_profile
from modelwatch.warehouse.window_stats import ALL


def bounds(cfg: MonitorConfig) -> tuple[datetime, datetime]:
    ref = cfg.reference
    if ref.start and ref.end and not ref.table:
        return ref.start.replace(tzinfo=None), ref.end.replace(tzinfo=None)
    return datetime(1970, 1, 1), datetime(9999, 1, 1)


def label_cutoff(cfg: MonitorConfig) -> datetime | None:
    """When the reference's labels are mature (None: a reference table uses all labels)."""
    ref = cfg.reference
    if ref.table or not (ref.start and ref.end):
        return None
    return ref.end.replace(tzinfo=None) + cfg.labels.delay


def compute_reference(conn: Connection, cfg: MonitorConfig, segments: dict[str, list[str]],
                      cutoff: datetime | None) -> dict:
    start, end = bounds(cfg)
    s = cfg.outcome
    source = joined(cfg, start, end, cutoff, segments, table=cfg.reference.table,
                    label_kind=label_kind(conn, cfg))
    stats = fetch_label_stats(conn, source, [start]).get(0)
    task = task_of(cfg)
    starts = [start]
    if task and task.combine and not cfg.reference.table:
        n = max(1, int((end - start) / cfg.schedule.window))
        starts = [start + cfg.schedule.window * i for i in range(n)]
    aggregates = task.fetch(conn, cfg, source, starts, segments) if task else {}
    if task and task.combine and not cfg.reference.table:
        parts: dict[str, list] = {}
        for (_, key), agg in sorted(aggregates.items()):
            parts.setdefault(key, []).append(agg)
        aggregates = {(0, key): task.combine(aggs) for key, aggs in parts.items()}
    slices = {}
    for (_, key), c in sorted(aggregates.items()):
        gate, setting = gate_of(cfg, key)
        enough = c.n_labelled >= gate
        entry = {"rows": c.n_rows, "labelled": c.n_labelled, "coverage": c.coverage}
        entry |= task.reference(c, s, rng_for(s.seed, "reference", key), gate, setting, enough)
        if not enough:
            entry["note"] = f"{c.n_labelled} labelled rows, below the gate of {gate}"
        slices[key] = entry
    if stats is not None and ALL not in slices:
        slices[ALL] = {"rows": stats.rows, "labelled": stats.labelled,
                       "coverage": stats.labelled / stats.rows if stats.rows else None}
    whole = aggregates.get((0, ALL))
    calibrator = (task.calibrate(whole) if task and task.calibrate and whole is not None
                  and s.estimate else None)
    return {
        "format": REFERENCE_FORMAT,
        "label_cutoff": cutoff.isoformat() if cutoff else None,
        "rows": stats.rows if stats else 0,
        "labelled": stats.labelled if stats else 0,
        "delay_p50_hours": stats.delay_p50_hours if stats else None,
        "delay_p95_hours": stats.delay_p95_hours if stats else None,
        "calibration": calibrator.to_dict() if calibrator else None,
        "slices": slices,
    }


def load_reference(conn: Connection, cfg: MonitorConfig, segments: dict[str, list[str]],
                   as_of: datetime) -> OutcomeReference:
    """The cached reference outcome, computing (and, once mature, caching) it when needed."""
    cutoff = label_cutoff(cfg)
    key = reference_key(cfg, segments)
    mature = cutoff is None or cutoff <= as_of
    if mature:
        stored = conn.execute(sa.select(mw_reference_profile.c.profile).where(
            mw_reference_profile.c.model_name == cfg.model.name,
            mw_reference_profile.c.profile_key == key)).scalar_one_or_none()
        if stored is not None:
            data = json.loads(stored) if isinstance(stored, str) else stored
            return OutcomeReference({**data, "mature": True})
    data = compute_reference(conn, cfg, segments, cutoff if mature else as_of)
    if mature:
        conn.execute(sa.delete(mw_reference_profile).where(
            mw_reference_profile.c.model_name == cfg.model.name,
            mw_reference_profile.c.profile_key == key))
        conn.execute(sa.insert(mw_reference_profile).values(
            model_name=cfg.model.name, profile_key=key, model_version=cfg.reference.model_version,
            reference=cfg.reference.model_dump(mode="json"), profile=_finite(data),
            created_at=utcnow()))
    return OutcomeReference({**data, "mature": mature})


def _finite(value):
    """JSON-safe copy: NaN and infinities become None (JSON has no spelling for them)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
