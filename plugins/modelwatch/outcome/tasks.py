"""What the outcome layer measures for each kind of model (``model.task``), in one registry.

Each ``OutcomeTask`` says how to aggregate a window in the warehouse (``fetch``: one query over the
lookback, per window and slice), which rows a window gets from those aggregates (``rows``: pure),
and what the reference stores per slice to judge them against (``reference``). The aggregates of
every task expose ``n_rows``, ``n_labelled`` and ``coverage``, which the label rows use.

| task | aggregates | performance rows | label drift |
|---|---|---|---|
| binary | score cells (``cells.py``) | realized + estimated + estimation error | positive rate |
| regression | error sums (``regression.py``) | mae, rmse, mape, bias | label mean |
| multiclass | confusion matrix (``multiclass.py``) | accuracy, macro_f1, weighted_f1, log_loss | class mix |
| ranking | top-k sums (``ranking_task.py``) | ndcg/map/recall/catalog_coverage ``_at_k`` | — |

A task missing here gets its label rows and KPIs, and one ``skipped`` row saying its
performance metrics are not implemented.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from modelwatch.config.outcome import OutcomeSettings
from modelwatch.config.schema import MonitorConfig
from modelwatch.metrics import MetricRow
from modelwatch.outcome import multiclass, ranking_task, regression
from modelwatch.outcome.binary import positive_rate, realized_metrics
from modelwatch.outcome.estimation import Calibrator
from modelwatch.outcome.label_checks import class_mix_rows, label_mean_rows, positive_rate_rows
from modelwatch.outcome.performance import (
    estimated_rows,
    estimation_error_rows,
    realized_rows,
    task_realized_rows,
)
from modelwatch.outcome.queries import fetch_cells
from modelwatch.outcome.reference import OutcomeReference
from modelwatch.outcome.thresholds import skipped
from modelwatch.outcome.windows import EvalWindow
from modelwatch.warehouse.window_stats import ALL

UNSUPPORTED_CHECK = "realized_performance"


@dataclass(frozen=True)
class OutcomeTask:
    fetch: Callable  # (conn, cfg, source, starts, segments) -> {(window index, slice): aggregate}
    rows: Callable[..., list[MetricRow]]  # (cfg, window, {slice: aggregate}, ref, bases)
    reference: Callable[..., dict]  # (aggregate, settings, rng, gate, setting, enough) -> entry;
    # enough: the slice has the labelled rows its gate asks for (metrics are stored only then)
    calibrate: Callable | None = None  # (whole-population aggregate) -> Calibrator
    headline: tuple[str, ...] = ()  # the checks a task log shows per window
    # (aggregates of one slice, one per reference window) -> one aggregate. Set when a metric
    # grows with the window's traffic (catalog coverage), so the reference is read per window of
    # schedule.window and its value is comparable with one monitored window's
    combine: Callable | None = None


# --- binary ---------------------------------------------------------------------------------------
def _binary_rows(cfg: MonitorConfig, w: EvalWindow, cells: dict, ref: OutcomeReference,
                 bases: dict[str, dict]) -> list[MetricRow]:
    rows = positive_rate_rows(cfg, w, cells, ref, bases)
    realized, realized_values = realized_rows(cfg, w, cells, ref, bases)
    estimated, estimated_values = estimated_rows(cfg, w, cells, ref, bases)
    rows += realized + estimated
    rows += estimation_error_rows(w, realized_values, estimated_values, bases)
    return rows


def _binary_reference(c, s: OutcomeSettings, rng: np.random.Generator, gate: int, setting: str,
                      enough: bool) -> dict:
    entry = {"positives": c.n_positives}
    if enough:
        metrics = realized_metrics(c, s, rng)
        entry["metrics"] = {m: v.as_dict() for m, v in metrics.items() if v.value is not None}
        entry["positive_rate"] = positive_rate(c, s.confidence).as_dict()
    return entry


# --- regression -----------------------------------------------------------------------------------
def _regression_metrics(agg, s: OutcomeSettings, rng, gate: int, setting: str):
    return regression.regression_metrics(agg, s, gate, setting)


def _regression_rows(cfg: MonitorConfig, w: EvalWindow, sums: dict, ref: OutcomeReference,
                     bases: dict[str, dict]) -> list[MetricRow]:
    rows = label_mean_rows(cfg, w, sums, ref, bases)
    return rows + task_realized_rows(cfg, w, sums, ref, bases, regression.REALIZED,
                                     _regression_metrics)


def _regression_reference(agg, s: OutcomeSettings, rng, gate: int, setting: str, enough: bool
                          ) -> dict:
    if not enough:
        return {}
    metrics = regression.regression_metrics(agg, s, gate, setting)
    mean = regression.label_mean(agg, s.confidence)
    return {"metrics": {m: v.as_dict() for m, v in metrics.items() if v.value is not None},
            "label_mean": {**mean.as_dict(), "std": mean.details.get("std")}}


# --- multiclass -----------------------------------------------------------------------------------
def _multiclass_rows(cfg: MonitorConfig, w: EvalWindow, confusions: dict, ref: OutcomeReference,
                     bases: dict[str, dict]) -> list[MetricRow]:
    rows = class_mix_rows(cfg, w, confusions, ref, bases)
    return rows + task_realized_rows(cfg, w, confusions, ref, bases, multiclass.REALIZED,
                                     multiclass.multiclass_metrics)


def _multiclass_reference(agg, s: OutcomeSettings, rng, gate: int, setting: str, enough: bool
                          ) -> dict:
    if not enough:
        return {}
    metrics = multiclass.multiclass_metrics(agg, s, rng, gate, setting)
    support = agg.matrix.sum(axis=1)
    return {"metrics": {m: v.as_dict() for m, v in metrics.items() if v.value is not None},
            "class_shares": {k: float(v / agg.n_labelled) for k, v in zip(agg.classes, support,
                                                                          strict=True)}}


# --- ranking --------------------------------------------------------------------------------------
def _ranking_rows(cfg: MonitorConfig, w: EvalWindow, sums: dict, ref: OutcomeReference,
                  bases: dict[str, dict]) -> list[MetricRow]:
    return task_realized_rows(cfg, w, sums, ref, bases, ranking_task.REALIZED,
                              ranking_task.ranking_metrics,
                              unit="labelled requests (with at least one labelled item)")


def _ranking_reference(agg, s: OutcomeSettings, rng, gate: int, setting: str, enough: bool
                       ) -> dict:
    if not enough:
        return {}
    metrics = ranking_task.ranking_metrics(agg, s, rng, gate, setting)
    if agg.window_coverage is None:  # a reference table: no windows a day's coverage compares to
        metrics.pop("catalog_coverage_at_k")
    return {"metrics": {m: v.as_dict() for m, v in metrics.items() if v.value is not None}}


TASKS: dict[str, OutcomeTask] = {
    "binary": OutcomeTask(fetch_cells, _binary_rows, _binary_reference, Calibrator.fit,
                          ("roc_auc", "estimated_roc_auc")),
    "regression": OutcomeTask(regression.fetch_regression, _regression_rows, _regression_reference,
                              headline=("mae", "rmse", "bias")),
    "multiclass": OutcomeTask(multiclass.fetch_confusion, _multiclass_rows, _multiclass_reference,
                              headline=("accuracy", "macro_f1")),
    "ranking": OutcomeTask(ranking_task.fetch_ranking, _ranking_rows, _ranking_reference,
                           headline=("ndcg_at_k", "map_at_k", "recall_at_k"),
                           combine=ranking_task.RankingSums.combine),
}


def task_of(cfg: MonitorConfig) -> OutcomeTask | None:
    return TASKS.get(cfg.model.task)


def headline_checks(cfg: MonitorConfig) -> tuple[str, ...]:
    """The checks a compact per-window table of this model shows (label coverage aside)."""
    task = task_of(cfg)
    return task.headline if task else (UNSUPPORTED_CHECK,)


def unsupported_rows(cfg: MonitorConfig, bases: dict[str, dict]) -> list[MetricRow]:
    """The one row a task without performance metrics gets: skipped, with the reason."""
    reason = (f"realized performance for model.task {cfg.model.task!r} is not implemented "
              f"(implemented: {sorted(TASKS)}); label rows and KPIs are still produced")
    return [skipped(UNSUPPORTED_CHECK, reason, **bases.get(ALL, {}))]
