"""``run_shadow``: one window's champion/challenger comparison, its promotion gate, and the
re-evaluation of past windows whose labels have matured since.

Time is the window's, never the wall clock: labels count when ``label_ts <= window.end``
(``as_of``), so a rerun of a window gives the same rows, whenever it runs.

Label maturity. A window's label-based rows (``labelled_pairs``, ``auc_diff``, ``log_loss_diff``,
``mcnemar``, and the canary's) are written twice: by the window's own run (labels so far, usually
few; ``details.mature`` false) and once more by the first run at or after ``window.end +
labels.delay`` (``details.mature`` true, final). Each run therefore looks back over
``2 × ceil(labels.delay / window length)`` windows and re-evaluates those that are mature and were
last evaluated before maturing — normally exactly one; more after missed runs (a rerun of a run
recomputes what that run computed, so it returns the same rows). A window's
label-based rows are never replaced by ones computed as of an *earlier* time (``details.as_of`` is
compared), so backfilling an old window after newer runs cannot roll matured results back.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.config.schema import MonitorConfig
from modelwatch.metrics import MetricRow
from modelwatch.shadow import queries
from modelwatch.shadow.agreement import agreement_rows, measure_window
from modelwatch.shadow.canary import canary_labelled_rows, canary_rows
from modelwatch.shadow.gate import evidence_period, evidence_windows, gate_rows
from modelwatch.shadow.labelled import compare_labelled, labelled_rows
from modelwatch.shadow.rows import LAYER
from modelwatch.warehouse.tables import create_output_tables, mw_metric
from modelwatch.warehouse.writer import Stage, replace_metrics

if TYPE_CHECKING:
    from modelwatch.window import Window


def _stored_as_of(conn: Connection, cfg: MonitorConfig, windows: list[Window]
                  ) -> dict[tuple[datetime, datetime], datetime]:
    """When each window's label-based rows were last computed as of (from ``labelled_pairs``)."""
    if not windows:
        return {}
    query = sa.select(mw_metric.c.window_start, mw_metric.c.window_end, mw_metric.c.details).where(
        mw_metric.c.model_name == cfg.model.name, mw_metric.c.layer == LAYER,
        mw_metric.c.check_name == "labelled_pairs", mw_metric.c.slice == "all",
        mw_metric.c.window_start >= min(w.start for w in windows),
        mw_metric.c.window_end <= max(w.end for w in windows))
    out = {}
    for start, end, details in conn.execute(query):
        if isinstance(details, str):
            details = json.loads(details)
        as_of = (details or {}).get("as_of")
        if as_of:
            out[(start, end)] = datetime.fromisoformat(as_of)
    return out


def _labelled(conn: Connection, cfg: MonitorConfig, start: datetime, end: datetime, as_of: datetime,
              *, mature: bool) -> tuple[list[MetricRow], int]:
    """Label-based rows of one window, and how many paired requests it had."""
    sums = queries.labelled_sums(conn, cfg, start, end, as_of)
    result = compare_labelled(cfg, sums, start=start, end=end, as_of=as_of)
    rows = labelled_rows(cfg, result, mature=mature)
    if cfg.shadow.canary_version:
        rows += canary_labelled_rows(conn, cfg, start, end, as_of)
    return rows, sums.paired


def _challenger_version(conn: Connection, cfg: MonitorConfig, start: datetime, end: datetime
                        ) -> str | None:
    seen = queries.versions(conn, queries.joined(cfg, start, end))["challenger"]
    return max(seen, key=seen.get) if seen else None


def run_shadow(engine: sa.Engine, cfg: MonitorConfig, window: Window, run_id: str,
               stage: Stage | None = None) -> list[MetricRow]:
    """Compare champion and challenger for ``window``; write and return the rows (layer ``shadow``).

    One transaction; one ``replace_metrics`` call per evaluated window (the current one, then each
    past window re-evaluated with matured labels). Rows of ``mw_metric`` carry the challenger's
    version as ``model_version``. With ``stage`` the rows are staged until the run publishes.

    Raises:
        ContractError: a configured input table does not exist (terminal: fix config or data).
    """
    if not cfg.shadow.enabled:
        return []
    from modelwatch.window import Window

    as_of = window.end
    length = window.end - window.start
    delay = cfg.labels.delay
    horizon = 2 * max(1, math.ceil(delay / length))
    past = [Window(window.start - k * length, window.end - k * length) for k in range(1, horizon + 1)]
    create_output_tables(engine)
    written: list[MetricRow] = []
    with engine.begin() as conn:
        queries.check_tables(conn, cfg)
        queries.planner_guard(conn)
        stored = _stored_as_of(conn, cfg, [window, *past])

        current = measure_window(conn, cfg, window)
        rows = agreement_rows(cfg, current)
        previous = stored.get((window.start, window.end))
        if previous is None or previous <= as_of:
            rows += _labelled(conn, cfg, window.start, window.end, as_of,
                              mature=window.end + delay <= as_of)[0]
        ev_start, ev_end = evidence_period(cfg, window.end)
        evidence = compare_labelled(
            cfg, queries.labelled_sums(conn, cfg, ev_start, ev_end, as_of,
                                       starts=evidence_windows(cfg, ev_start, ev_end)),
            start=ev_start, end=ev_end, as_of=as_of)
        versions = {"champion": current.version("champion"),
                    "challenger": current.version("challenger")}
        rows += gate_rows(cfg, evidence, current, versions=versions,
                          window=(window.start, window.end))
        if cfg.shadow.canary_version:
            rows += canary_rows(conn, cfg, window)
        replace_metrics(conn, run_id=run_id, model_name=cfg.model.name,
                        model_version=versions["challenger"], window_start=window.start,
                        window_end=window.end, rows=rows, stage=stage)
        written += rows

        for w in past:
            matured_at = w.end + delay
            last = stored.get((w.start, w.end))
            if matured_at > as_of:
                continue  # not mature yet: keeps the rows of its own run
            if last is not None and (last > as_of or matured_at <= last < as_of):
                continue  # final rows from another run (a rerun of this one recomputes them)
            rows, paired = _labelled(conn, cfg, w.start, w.end, as_of, mature=True)
            if not paired and last is None:
                continue  # nothing was ever there to compare
            replace_metrics(conn, run_id=run_id, model_name=cfg.model.name,
                            model_version=_challenger_version(conn, cfg, w.start, w.end),
                            window_start=w.start, window_end=w.end, rows=rows, stage=stage)
            written += rows
    return written
