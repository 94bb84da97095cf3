"""The data layer: catches broken pipelines before anyone looks at drift.

``run_data_layer`` checks one window of the predictions table and writes its ``mw_metric`` rows
(layer ``data``) in one transaction:

1. ``silent_default_share`` — a feature suddenly filled with one constant (0, -1, '', the
   reference mean or mode), named as such;
2. ``skew_mismatch_rate`` / ``skew_mean_abs_diff`` / ``skew_missing_share`` /
   ``skew_vector_mismatch_rate`` — served features against the offline feature store on a
   deterministic sample of request ids;
3. ``schema`` — missing, new and retyped columns against the reference's column types;
4. ``volume_vs_weekday`` — row count against reference windows of the same weekday;
5. ``out_of_range_share`` — values beyond the reference's p1/p99 with a margin;
6. ``expect_*`` — a Great Expectations suite generated from the profile (plus the monitor's own
   expectations) run as a GX Checkpoint in the warehouse, with Data Docs;

plus the bad-input checks ``non_finite_share``, ``duplicate_request_id_share`` and
``future_event_rows``. A failed check is a row (``warn``/``alert``), and so is a check that could
not be judged (``skipped`` with a named ``details.condition``); only a warehouse, GX or artifact
store *error* raises. Nothing here imports Airflow; GX is imported only when the suite runs.
"""

from __future__ import annotations

import logging
import pathlib
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from modelwatch.clock import utcnow
from modelwatch.config.schema import MonitorConfig
from modelwatch.data_layer import defaulting, integrity, ranges, schema_check, skew, volume
from modelwatch.data_layer.offline_freshness import CHECK as OFFLINE_FRESHNESS
from modelwatch.data_layer.offline_freshness import offline_freshness
from modelwatch.data_layer.reference import candidates_of, ensure_reference, range_bounds
from modelwatch.data_layer.rows import skipped
from modelwatch.data_layer.scan import FeatureSpec, dominant_version, scan, source_for
from modelwatch.data_layer.skew_psi import CHECK as SKEW_PSI
from modelwatch.data_layer.skew_psi import skew_psi_checks
from modelwatch.errors import ContractError
from modelwatch.metrics import MetricRow
from modelwatch.profile import Profile
from modelwatch.warehouse.catalog import live_columns
from modelwatch.warehouse.source import key_columns
from modelwatch.warehouse.writer import Stage, replace_metrics

if TYPE_CHECKING:  # the runner imports this package; a runtime import would be circular
    from modelwatch.window import Window

__all__ = ["CHECK_NAMES", "run_data_layer"]

CHECK_NAMES = ("silent_default_share", *skew.CHECKS, SKEW_PSI, "schema", "volume_vs_weekday",
               "out_of_range_share", "non_finite_share", "duplicate_request_id_share", "future_event_rows",
               OFFLINE_FRESHNESS)
log = logging.getLogger(__name__)


def run_data_layer(engine: sa.Engine, cfg: MonitorConfig, profile: Profile, window: Window,
                   run_id: str, artifacts_dir: pathlib.Path | None = None, *,
                   as_of: datetime | None = None, stage: Stage | None = None) -> list[MetricRow]:
    """Run every data-layer check on ``window`` and replace its ``data``-layer rows.

    Args:
        engine: the warehouse.
        cfg: the monitor; ``cfg.data_layer`` holds the settings.
        profile: the stored reference profile (``ensure_profile``).
        window: a ``runner.Window`` (naive UTC ``start``/``end``).
        run_id: written with every row.
        artifacts_dir: local root of the artifact store (Data Docs), unless the config names one.
        as_of: the run's clock, for ``future_event_rows`` and unfinished windows (default: now).
        stage: the window run this step belongs to: rows are staged until it publishes.

    Returns:
        The rows written (empty when ``data_layer.enabled`` is false).

    Raises:
        ContractError: the predictions table does not exist.
        GreatExpectationsError / GreatExpectationsUnavailable: GX could not evaluate the suite.
        WarehouseUnavailable: the warehouse or the S3 artifact store could not be reached.
    """
    settings = cfg.data_layer
    if not settings.enabled:
        return []
    as_of = as_of or utcnow()
    start, end = window.start, window.end
    reference = ensure_reference(engine, cfg, profile)
    with engine.connect() as conn:
        live = live_columns(conn, cfg.tables.predictions)
        if live is None:
            raise ContractError(f"{cfg.model.name}: table {cfg.tables.predictions!r} does not exist. Fix: "
                                "load it, or correct `tables.predictions`")
        schema_rows, diff = schema_check.schema_rows(cfg, reference["columns"], live)
        rows: list[MetricRow] = schema_rows if settings.schema_check else []
        broken = diff.broken if settings.schema_check else {
            c for c in schema_check.monitored_columns(cfg) if c not in live}
        c = cfg.columns
        if broken & set(key_columns(cfg)):
            rows += _all_skipped(cfg, "schema_changed", "a key column (request id, event time or model "
                                 "name) is missing or changed type; see the schema rows")
            return _write(engine, cfg, window, run_id, rows, None, stage)
        version = None if c.model_version in broken else dominant_version(conn, cfg, start, end)
        usable = [f for f in cfg.features if f.name not in broken]
        specs = [_spec(cfg, profile, reference, f.name, f.kind) for f in usable]
        counts = scan(conn, cfg, source_for(cfg, [f.name for f in usable], start, end), specs)
        for f in cfg.features:
            if f.name in broken:
                rows += _feature_skipped(cfg, f.name, f.kind, "schema_changed")
        if counts.rows == 0:
            for f in usable:
                rows += _feature_skipped(cfg, f.name, f.kind, "empty_window")
        else:
            rows += _feature_rows(cfg, reference, specs, counts)
        rows.append(integrity.duplicate_ids(cfg, counts))
        rows.append(integrity.future_rows(conn, cfg, as_of))
        if settings.volume.enabled:
            rows.append(volume.volume_vs_weekday(cfg, profile, counts.rows, start, end, as_of))
        if settings.skew.enabled:
            offline = live_columns(conn, cfg.tables.offline_features)
            rows += skew.skew_checks(conn, cfg, start, end, [(f.name, f.kind) for f in usable], offline,
                                     {f.name: "schema_changed" for f in cfg.features if f.name in broken})
            rows += skew_psi_checks(conn, cfg, profile, start, end, [(f.name, f.kind) for f in usable],
                                    offline)
        if settings.offline_freshness.enabled:
            rows.append(offline_freshness(conn, cfg, end, live_columns(conn, cfg.tables.offline_features)))
    rows = defaulting.corroborate(rows)  # a fill confirmed (or not) by the skew checks
    if settings.great_expectations.enabled:
        from modelwatch.data_layer.expectations import expectation_rows

        rows += expectation_rows(engine, cfg, profile, window, run_id, artifacts_dir, live, broken)
    return _write(engine, cfg, window, run_id, rows, version, stage)


def _spec(cfg: MonitorConfig, profile: Profile, reference: dict, name: str, kind: str) -> FeatureSpec:
    entry = reference["features"].get(name)
    candidates = candidates_of(entry) if entry and cfg.data_layer.defaulting.enabled else ()
    bounds = range_bounds(profile, name, cfg.data_layer.ranges.margin) if kind == "numeric" else None
    return FeatureSpec(name, kind, candidates, bounds)


def _feature_rows(cfg: MonitorConfig, reference: dict, specs: list[FeatureSpec], counts) -> list[MetricRow]:
    settings = cfg.data_layer
    rows = []
    rows_in_window = counts.rows
    for spec in specs:
        n = counts.features[spec.name]
        entry = reference["features"].get(spec.name)
        if settings.defaulting.enabled:
            if not reference["rows"] or entry is None:
                rows.append(skipped(defaulting.CHECK, spec.name, "empty_reference"))
            else:
                shares = [c["share"] for c in entry["candidates"]]
                rows.append(defaulting.silent_default(
                    cfg, spec.name, spec.kind, spec.candidates, shares, n, entry.get("valid"),
                    null_share=1.0 - n.valid(spec.kind) / rows_in_window if rows_in_window else None,
                    reference_null_share=1.0 - entry["valid"] / reference["rows"]
                    if reference["rows"] and entry.get("valid") is not None else None))
        if spec.kind == "numeric":
            rows.append(integrity.non_finite(cfg, spec.name, n))
            if settings.ranges.enabled:
                ref_share = entry.get("out_of_range_share") if entry else None
                rows.append(ranges.out_of_range(cfg, spec.name, spec.bounds, ref_share, n))
    return rows


def _feature_checks(cfg: MonitorConfig, kind: str) -> list[str]:
    s = cfg.data_layer
    checks = [defaulting.CHECK] if s.defaulting.enabled else []
    if kind == "numeric":
        checks.append("non_finite_share")
        if s.ranges.enabled:
            checks.append(ranges.CHECK)
    return checks


def _feature_skipped(cfg: MonitorConfig, name: str, kind: str, condition: str) -> list[MetricRow]:
    return [skipped(check, name, condition) for check in _feature_checks(cfg, kind)]


def _all_skipped(cfg: MonitorConfig, condition: str, message: str) -> list[MetricRow]:
    rows = [skipped(check, f.name, condition, message) for f in cfg.features
            for check in _feature_checks(cfg, f.kind)]
    rows += [skipped(check, None, condition, message) for check in (
        "duplicate_request_id_share", "future_event_rows", "volume_vs_weekday", "skew_missing_share")]
    return rows


def _write(engine: Engine, cfg: MonitorConfig, window: Window, run_id: str, rows: list[MetricRow],
           version: str | None, stage: Stage | None) -> list[MetricRow]:
    """Replace the window's data-layer rows in one transaction.

    ``replace_metrics`` replaces the check names present in ``rows``; GX check names depend on
    the suite, so every ``expect_*`` row of the window goes too (the data layer owns that name
    space, ``replace_like``), and an expectation dropped from the suite leaves no stale row.
    """
    with engine.begin() as conn:
        replace_metrics(conn, run_id=run_id, model_name=cfg.model.name, model_version=version,
                        window_start=window.start, window_end=window.end, rows=rows,
                        stage=stage, replace_like="expect\\_%")
    log.info("data layer %s %s: %d rows, %d flagged", cfg.model.name, window, len(rows),
             sum(r.status in ("warn", "alert") for r in rows))
    return rows
