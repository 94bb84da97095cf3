"""The outcome layer: delayed labels, realized and estimated performance, label drift, KPIs.

``run_outcome`` is the one entry point. As of the end of the run's window (never the wall
clock) it re-evaluates every window of the lookback, so labels that land late update the window
they belong to, and writes each window's rows (layer ``outcome``) with replace-semantics, all in
one transaction. See docs/outcome.md for the checks, their statistics and their limits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from modelwatch.config.schema import MonitorConfig
from modelwatch.errors import ConfigError
from modelwatch.metrics import MetricRow
from modelwatch.outcome.cells import Cells
from modelwatch.outcome.kpi_correlation import correlation_rows, metrics_of
from modelwatch.outcome.kpi_history import KpiHistory, load_kpi_history
from modelwatch.outcome.kpis import kpi_rows
from modelwatch.outcome.label_checks import coverage_rows, freshness_row, window_label_rows
from modelwatch.outcome.queries import LabelStats, fetch_kpis, fetch_label_stats, joined
from modelwatch.outcome.reference import OutcomeReference
from modelwatch.outcome.reference_store import load_reference
from modelwatch.outcome.tasks import task_of, unsupported_rows
from modelwatch.outcome.thresholds import LAYER
from modelwatch.outcome.windows import EvalWindow, plan_windows
from modelwatch.warehouse.labels import label_kind
from modelwatch.warehouse.window_stats import ALL
from modelwatch.warehouse.writer import Stage, replace_metrics

if TYPE_CHECKING:  # the runner imports this package; importing it back would be a cycle
    from modelwatch.window import Window

__all__ = ["LAYER", "run_outcome"]


def _segments(engine: sa.Engine, cfg: MonitorConfig) -> dict[str, list[str]]:
    """The slice values of the drift profile, so outcome slices are the drift slices."""
    if not cfg.segments:
        return {}
    from modelwatch.profile import ensure_profile

    values = ensure_profile(engine, cfg).data.get("segments", {})
    return {s: list(values[s]) for s in cfg.segments if s in values}


def _check_lookback(cfg: MonitorConfig) -> None:
    span = cfg.schedule.window * cfg.outcome.lookback_windows
    if span <= cfg.labels.delay:
        needed = int(cfg.labels.delay / cfg.schedule.window) + 2
        raise ConfigError(
            f"{cfg.model.name}: outcome.lookback_windows={cfg.outcome.lookback_windows} windows of "
            f"{cfg.schedule.window} do not reach past labels.delay={cfg.labels.delay}, so no window "
            f"would ever be evaluated with mature labels. Fix: set outcome.lookback_windows to at "
            f"least {needed}")


def _bases(w: EvalWindow, cells: dict[str, Cells], stats: LabelStats) -> dict[str, dict]:
    """Details every row of a slice carries: window, as-of, maturity and label coverage."""
    bases = {}
    for key, c in cells.items():
        bases[key] = {**w.details(), "rows": c.n_rows, "labelled_rows": c.n_labelled,
                      "label_coverage": c.coverage}
    if ALL not in bases:
        bases[ALL] = {**w.details(), "rows": stats.rows, "labelled_rows": stats.labelled,
                      "label_coverage": stats.labelled / stats.rows if stats.rows else None}
    return bases


def window_rows(cfg: MonitorConfig, w: EvalWindow, cells: dict[str, Cells], stats: LabelStats,
                ref: OutcomeReference, kpis: list[dict] | None,
                kpi_history: KpiHistory | None = None) -> list[MetricRow]:
    """Every outcome row of one window (pure: aggregates in, rows out).

    ``cells`` are the task's aggregates per slice (``Cells`` for binary models, see
    ``outcome/tasks.py`` for the others). ``kpi_history``: the stored KPI rows KPIs are judged
    on (none: configured KPIs are not judged).
    """
    bases = _bases(w, cells, stats)
    rows = coverage_rows(cfg, w, cells, stats, ref, bases[ALL])
    rows += window_label_rows(cfg, w, stats, bases[ALL])
    task = task_of(cfg)
    rows += task.rows(cfg, w, cells, ref, bases) if task else unsupported_rows(cfg, bases)
    if kpis is not None:
        rows += kpi_rows(kpis, cfg.outcome.kpi_segment, bases[ALL], cfg.outcome.kpis, kpi_history,
                         w.start, w.end, cfg.schedule.window)
    return rows


def _kpi_since(cfg: MonitorConfig, first: datetime) -> datetime:
    """Earliest window start the KPI judging and correlations of the lookback can read."""
    week = timedelta(weeks=1)
    spans = [s.history_windows * (week if s.seasonal == "weekday" else cfg.schedule.window)
             for s in cfg.outcome.kpis.values()]
    spans.append(cfg.outcome.kpi_correlation.windows * cfg.schedule.window)
    return first - max(spans)


def run_outcome(engine: sa.Engine, cfg: MonitorConfig, window: Window, run_id: str,
                stage: Stage | None = None) -> list[MetricRow]:
    """Evaluate the outcome layer as of ``window.end`` and write every evaluated window's rows.

    Windows: the ``outcome.lookback_windows`` windows of ``schedule.window`` ending at
    ``window.end``. Those holding predictions (and always the run's own window) are written with
    ``replace_metrics`` for that window, layer ``outcome``, in one transaction. A window whose
    labels matured (``end + labels.delay <= as_of``) gets realized metrics (binary, regression,
    multiclass, see ``outcome/tasks.py``); every window gets estimated ones (binary); labels count
    only if ``label_ts <= as_of``. Each row's details carry its ``window_start``/``window_end``,
    so the returned list can be told apart by window. With ``stage`` (the window run this step
    belongs to) the rows are staged until the run publishes them.

    Returns:
        Every row written, oldest window first.
    """
    if not cfg.outcome.enabled:
        return []
    _check_lookback(cfg)
    as_of = window.end
    segments = _segments(engine, cfg)
    windows = plan_windows(as_of, cfg.schedule.window, cfg.outcome.lookback_windows,
                           cfg.labels.delay)
    starts = [w.start for w in windows]
    written: list[MetricRow] = []
    with engine.begin() as conn:
        ref = load_reference(conn, cfg, segments, as_of)
        source = joined(cfg, starts[0], as_of, as_of, segments, label_kind=label_kind(conn, cfg))
        stats = fetch_label_stats(conn, source, starts)
        task = task_of(cfg)
        cells = task.fetch(conn, cfg, source, starts, segments) if task else {}
        kpis = fetch_kpis(conn, cfg, starts, as_of) if cfg.tables.kpis else None
        corr_metrics = metrics_of(cfg.model.task, cfg.outcome.kpi_correlation)
        kpi_history = None if kpis is None else load_kpi_history(
            conn, cfg.model.name, corr_metrics, _kpi_since(cfg, starts[0]), as_of, stage)
        by_window: dict[int, dict] = {}
        for (widx, key), c in cells.items():
            by_window.setdefault(widx, {})[key] = c
        newest = max((s.newest_label_ts for s in stats.values() if s.newest_label_ts), default=None)
        for w in windows:
            w_stats = stats.get(w.index, LabelStats())
            last = w.index == len(windows) - 1
            if w_stats.rows == 0 and not last:
                continue
            rows = window_rows(cfg, w, by_window.get(w.index, {}), w_stats, ref,
                               None if kpis is None else kpis.get(w.index, []), kpi_history)
            if last:
                rows.append(freshness_row(cfg, as_of, newest, {**w.details()}))
            if kpi_history is not None:  # as mw_metric will hold it once this window is written
                kpi_history.record(rows, w.start, w.end)
                rows += correlation_rows(kpi_history, corr_metrics, cfg.outcome.kpi_correlation,
                                         w.start, w.end, cfg.schedule.window, {**w.details()})
            version = max(w_stats.versions, key=w_stats.versions.get) if w_stats.versions else None
            replace_metrics(conn, run_id=run_id, model_name=cfg.model.name, model_version=version,
                            window_start=w.start, window_end=w.end, rows=rows, stage=stage)
            written += rows
    return written
