"""The monitoring steps. The Airflow tasks and the ``modelwatch`` CLI both call these, and only these.

A step is a transaction keyed by its window: it reads one window of the warehouse, stages its
results with replace-semantics and returns a small summary (safe for XCom). ``step_publish``
then moves everything the layers staged into ``mw_metric`` in one transaction, before alerts and
decisions read it: a window is published whole or not at all (``warehouse/writer``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from modelwatch.alerts import AlertRow, record_alerts
from modelwatch.checks.change_points import change_point_checks
from modelwatch.checks.data_quality import data_quality_checks
from modelwatch.checks.drift import drift_checks
from modelwatch.checks.model import confidence_checks
from modelwatch.checks.seasonal import load_seasonal_history
from modelwatch.config.schema import MonitorConfig
from modelwatch.metrics import MetricRow
from modelwatch.profile import Profile, ensure_profile
from modelwatch.warehouse.contract import Finding, ensure_inputs, usable_features
from modelwatch.warehouse.engine import ConnectionResolver, get_engine
from modelwatch.warehouse.samples import window_samples
from modelwatch.warehouse.tables import create_output_tables
from modelwatch.warehouse.window_stats import compute_window_stats
from modelwatch.warehouse.writer import Stage, publish_window, replace_metrics
from modelwatch.window import Window

__all__ = ["Window", "RunResult", "run_window"]


@dataclass
class RunResult:
    model_name: str
    window: Window
    metrics: list[MetricRow] = field(default_factory=list)
    alerts: list[AlertRow] = field(default_factory=list)
    decision: object | None = None
    delivery: object | None = None

    def to_json(self) -> dict:
        decision = self.decision
        return {
            "model_name": self.model_name,
            "window_start": self.window.start.isoformat(),
            "window_end": self.window.end.isoformat(),
            "metrics": [m.__dict__ for m in self.metrics],
            "alerts": [a.__dict__ for a in self.alerts],
            "delivery": None if self.delivery is None else self.delivery.__dict__,
            "decision": None if decision is None else {
                "action": decision.action, "rule": decision.rule, "signals": decision.signals,
                "suppressed": decision.suppressed},
        }


def open_warehouse(cfg: MonitorConfig, resolver: ConnectionResolver | None = None) -> Engine:
    engine = get_engine(cfg.warehouse, resolver)
    create_output_tables(engine)
    return engine


def step_profile(cfg: MonitorConfig, resolver: ConnectionResolver | None = None,
                 *, rebuild: bool = False) -> Profile:
    """Load the reference profile, computing it once per reference definition."""
    return ensure_profile(open_warehouse(cfg, resolver), cfg, rebuild=rebuild)


def unreadable_feature_row(finding: Finding) -> MetricRow:
    """A feature the window checks could not read: skipped, with the contract's words (the data
    layer's schema check is the row that pages)."""
    return MetricRow("data", "feature_readable", finding.column, None, None, "skipped",
                     {"condition": "schema_changed", "message": str(finding)})


def stage_of(step: str, window: Window) -> Stage:
    """Where ``step`` of the run of ``window`` stages its rows until ``step_publish``."""
    return Stage(step, window.start, window.end)


def step_window_checks(cfg: MonitorConfig, window: Window, run_id: str,
                       resolver: ConnectionResolver | None = None) -> list[MetricRow]:
    """One aggregation pass over the window, then data-quality and drift checks, one write."""
    engine = open_warehouse(cfg, resolver)
    profile = ensure_profile(engine, cfg)
    cfg, unusable = usable_features(engine, cfg)
    with engine.begin() as conn:
        stats = compute_window_stats(conn, cfg, window.start, window.end, profile.plan())
        history = load_seasonal_history(conn, cfg, window.start, window.end)
        samples = window_samples(conn, cfg, window.start, window.end, stats,
                                 profile.data["segments"]) if profile.has_sample else {}
        rows = [*data_quality_checks(cfg, stats, profile, window.end),
                *drift_checks(cfg, stats, profile, history, samples),
                *confidence_checks(cfg, stats, profile)]
        rows += change_point_checks(conn, cfg, profile, window.start, rows)
        rows += [unreadable_feature_row(finding) for finding in unusable]
        replace_metrics(conn, run_id=run_id, model_name=cfg.model.name,
                        model_version=stats.dominant_version, window_start=window.start,
                        window_end=window.end, rows=rows, stage=stage_of("window_checks", window))
    return rows


def step_data_layer(cfg: MonitorConfig, window: Window, run_id: str,
                    resolver: ConnectionResolver | None = None) -> list[MetricRow]:
    """Silent defaulting, training-serving skew, schema, volume, ranges, Great Expectations."""
    from modelwatch.data_layer import run_data_layer
    from modelwatch.paths import modelwatch_home

    if not cfg.data_layer.enabled:
        return []
    engine = open_warehouse(cfg, resolver)
    profile = ensure_profile(engine, cfg)
    return run_data_layer(engine, cfg, profile, window, run_id,
                          artifacts_dir=modelwatch_home() / "artifacts",
                          stage=stage_of("data_validation", window))


def step_shadow(cfg: MonitorConfig, window: Window, run_id: str,
                resolver: ConnectionResolver | None = None) -> list[MetricRow]:
    """Champion vs challenger on the same requests, and the promotion gate."""
    from modelwatch.shadow import run_shadow

    if not cfg.shadow.enabled:
        return []
    engine = open_warehouse(cfg, resolver)
    ensure_inputs(engine, cfg, ("predictions", "shadow_predictions", "labels"), step="shadow")
    return run_shadow(engine, cfg, window, run_id, stage_of("shadow", window))


def step_alerts(cfg: MonitorConfig, window: Window, run_id: str,
                resolver: ConnectionResolver | None = None, *, token_resolver=None,
                dag_id: str | None = None):
    """Group the window's crossings per owner and root cause, store them, send what is due."""
    from modelwatch.alerting import deliver_alerts

    return deliver_alerts(open_warehouse(cfg, resolver), cfg, window, run_id,
                          dag_id=dag_id or cfg.dag_id, token_resolver=token_resolver)


def step_outcome(cfg: MonitorConfig, window: Window, run_id: str,
                 resolver: ConnectionResolver | None = None) -> list[MetricRow]:
    """Delayed labels: realized performance of matured windows, estimates for the rest."""
    from modelwatch.outcome import run_outcome

    if not cfg.outcome.enabled:
        return []
    engine = open_warehouse(cfg, resolver)
    ensure_inputs(engine, cfg, ("predictions", "labels", *(("kpis",) if cfg.tables.kpis else ())),
                  step="outcome")
    return run_outcome(engine, cfg, window, run_id, stage_of("outcome", window))


def step_publish(cfg: MonitorConfig, window: Window,
                 resolver: ConnectionResolver | None = None) -> int:
    """Publish what the window's layers staged: one transaction, whatever failed before.

    A layer that failed staged nothing, so its rows in ``mw_metric`` stay those of the previous
    run (its failure is paged on its own); the layers that succeeded are published together.
    Returns the number of rows published.
    """
    engine = open_warehouse(cfg, resolver)
    with engine.begin() as conn:
        return publish_window(conn, model_name=cfg.model.name, run_start=window.start,
                              run_end=window.end)


def step_record_alerts(cfg: MonitorConfig, window: Window,
                       resolver: ConnectionResolver | None = None) -> list[AlertRow]:
    engine = open_warehouse(cfg, resolver)
    with engine.begin() as conn:
        return record_alerts(conn, cfg, window.start, window.end)


def run_window(cfg: MonitorConfig, window: Window, run_id: str,
               resolver: ConnectionResolver | None = None) -> RunResult:
    """Every step for one window, in the DAG's order (what ``modelwatch run`` does).

    Like the DAG, one failing layer (data validation, outcome, shadow) never silences the others:
    the failure is paged to the infra owner as that step's incident, the remaining layers run,
    the window's findings are grouped, sent and decided on, and then the first failure is raised
    (so the command still exits non-zero with its named error).
    """
    step_profile(cfg, resolver)
    metrics = step_window_checks(cfg, window, run_id, resolver)
    failures: list[tuple[str, Exception]] = []
    for name, step in (("data_validation", step_data_layer), ("outcome", step_outcome),
                       ("shadow", step_shadow)):
        try:
            metrics += step(cfg, window, run_id, resolver)
        except Exception as exc:  # noqa: BLE001 - re-raised below, after the other layers
            failures.append((name, exc))
            _page_step_failure(cfg, window, run_id, name, exc, resolver)
    step_publish(cfg, window, resolver)
    report = step_alerts(cfg, window, run_id, resolver)
    decision = step_decide(cfg, window, run_id, resolver)
    step_report(cfg, window, run_id, resolver)
    if failures:
        raise failures[0][1]
    return RunResult(cfg.model.name, window, metrics, [], decision, report)


def _page_step_failure(cfg: MonitorConfig, window: Window, run_id: str, step: str,
                       error: Exception, resolver: ConnectionResolver | None) -> None:
    """The infra owner hears of a failed step once, as the Airflow task's failure would page."""
    import logging

    from modelwatch.alerting.incidents import Incident, error_line, page_incident

    try:
        page_incident(open_warehouse(cfg, resolver), cfg, Incident(
            kind="task_failed", dag_id=cfg.dag_id, run_id=run_id, window_start=window.start,
            window_end=window.end, task_id=step, try_number=1, max_tries=1,
            error=error_line(error)))
    except Exception:  # noqa: BLE001 - the step's own error is the one to report
        logging.getLogger(__name__).exception("could not page the failure of %s", step)


def step_report(cfg: MonitorConfig, window: Window, run_id: str,
                resolver: ConnectionResolver | None = None, *, dag_id: str | None = None):
    """Render the window's self-contained HTML report and store it (local folder, S3)."""
    from modelwatch.paths import modelwatch_home
    from modelwatch.profile import load_profile
    from modelwatch.ui.report import build_report, store_report

    engine = open_warehouse(cfg, resolver)
    settings = cfg.data_layer.artifacts
    artifacts_dir = modelwatch_home() / "artifacts"
    links = {"Airflow run": cfg.alerting.run_url(dag_id or cfg.dag_id, run_id),
             "model tab": cfg.alerting.model_tab_url(dag_id or cfg.dag_id)}
    with engine.connect() as conn:
        html = build_report(conn, cfg, load_profile(conn, cfg), window.start, window.end, run_id,
                            links=links)
    return store_report(settings, artifacts_dir, cfg.model.name, window.start, window.end, html)


def step_decide(cfg: MonitorConfig, window: Window, run_id: str,
                resolver: ConnectionResolver | None = None):
    """Evaluate the decision rules over every layer's metrics; upsert ``mw_decision``."""
    from modelwatch.decisions import decide

    return decide(open_warehouse(cfg, resolver), cfg, window, run_id)


def step_rollback(cfg: MonitorConfig, window: Window, reason: str,
                  resolver: ConnectionResolver | None = None, *, token_resolver=None,
                  dag_id: str | None = None):
    """Champion -> previous in the configured registry backend; audited, once per window; the
    model owner is told (once, whatever the retries)."""
    return _registry_action("rollback", cfg, window, reason, resolver, token_resolver, dag_id)


def step_promote(cfg: MonitorConfig, window: Window, reason: str,
                 resolver: ConnectionResolver | None = None, *, token_resolver=None,
                 dag_id: str | None = None):
    """Challenger -> champion in the configured registry backend; audited, once per window; the
    model owner is told (once, whatever the retries)."""
    return _registry_action("promote", cfg, window, reason, resolver, token_resolver, dag_id)


def _registry_action(action: str, cfg: MonitorConfig, window: Window, reason: str,
                     resolver: ConnectionResolver | None, token_resolver, dag_id: str | None):
    from modelwatch.alerting.actions import notify_registry_events
    from modelwatch.registry import get_backend

    engine = open_warehouse(cfg, resolver)
    backend = get_backend(cfg.registry, engine)
    change = getattr(backend, action)(cfg.model.name, window.start, reason)
    notify_registry_events(engine, cfg, dag_id=dag_id, token_resolver=token_resolver)
    return change


def step_retrain(cfg: MonitorConfig, window: Window, reason: str,
                 resolver: ConnectionResolver | None = None):
    """Run the retraining target and register its model as challenger."""
    from modelwatch.retraining import RetrainRequest, retrain_and_register

    request = RetrainRequest(cfg.model.name, window.start, window.end, reason)
    return retrain_and_register(open_warehouse(cfg, resolver), cfg, request)
