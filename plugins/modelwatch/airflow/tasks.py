"""What each monitor task does when it runs: read the data interval, call one runner step, log.

Kept apart from the DAG factory so that nothing here is imported while a DAG file is parsed: the
runner pulls in SQLAlchemy, pandas and the warehouse drivers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from modelwatch.config.schema import MonitorConfig
from modelwatch.errors import ModelwatchError

log = logging.getLogger(__name__)
T = TypeVar("T")


@contextmanager
def airflow_errors() -> Iterator[None]:
    """Terminal modelwatch errors fail the task without retries; transient ones are retried."""
    try:
        yield
    except ModelwatchError as exc:
        if exc.terminal:
            from airflow.exceptions import AirflowFailException

            raise AirflowFailException(str(exc)) from exc
        raise


def window_of(cfg: MonitorConfig, context: dict[str, Any]):
    """The monitored window: ``schedule.window`` ending at the run's data interval end."""
    from modelwatch.window import Window

    end: datetime = context["data_interval_end"]
    return Window(end - cfg.schedule.window, end)


def require_succeeded(context: dict[str, Any], *task_ids: str) -> None:
    """Skip this task unless ``task_ids`` succeeded in this run (they returned their XCom).

    The layer tasks run whatever the *previous layer* did (``trigger_rule="all_done"``: one
    failing layer must not silence the others), but nothing can be measured without the
    reference profile, and no decision is made without the window checks: then this task is
    skipped — not failed, so the one failure is paged once.
    """
    from airflow.exceptions import AirflowSkipException

    missing = [t for t in task_ids if context["ti"].xcom_pull(task_ids=t) is None]
    if missing:
        raise AirflowSkipException(f"skipped: {', '.join(missing)} did not succeed in this run "
                                   "(its failure is paged on its own)")


def _run(step: Callable[[], T]) -> T:
    with airflow_errors():
        return step()


def reference_profile(cfg: MonitorConfig, context: dict[str, Any]) -> dict:
    from modelwatch.airflow.connections import airflow_connection_url
    from modelwatch.runner import step_profile

    profile = _run(lambda: step_profile(cfg, airflow_connection_url))
    data = profile.data
    log.info("reference profile %s of %s: %s rows, %d numeric and %d categorical columns",
             profile.profile_key[:12], cfg.model.name, data["rows"], len(data["numeric"]),
             len(data["categorical"]))
    return {"profile_key": profile.profile_key, "reference_rows": data["rows"]}


def window_checks(cfg: MonitorConfig, context: dict[str, Any]) -> dict:
    from modelwatch.airflow.connections import airflow_connection_url
    from modelwatch.runner import step_window_checks
    from modelwatch.summary import metrics_table

    window = window_of(cfg, context)
    rows = _run(lambda: step_window_checks(cfg, window, context["run_id"],
                                           airflow_connection_url))
    log.info("checks of %s for window %s\n%s", cfg.model.name, window, metrics_table(rows))
    return {"window": str(window), "checks": len(rows),
            "alert": sum(r.status == "alert" for r in rows),
            "warn": sum(r.status == "warn" for r in rows)}


def outcome(cfg: MonitorConfig, context: dict[str, Any]) -> dict:
    from modelwatch.airflow.connections import airflow_connection_url
    from modelwatch.runner import step_outcome

    window = window_of(cfg, context)
    rows = _run(lambda: step_outcome(cfg, window, context["run_id"], airflow_connection_url))
    from modelwatch.outcome.tasks import headline_checks

    log.info("outcome of %s as of %s: %d rows\n%s", cfg.model.name, window.end, len(rows),
             outcome_lines(rows, headline_checks(cfg)))
    return {"rows": len(rows), "alert": sum(r.status == "alert" for r in rows)}


def outcome_lines(rows: list, columns: tuple[str, ...] = ("roc_auc", "estimated_roc_auc")) -> str:
    """One line per evaluated window: label coverage and the task's headline metrics, status."""
    by_window: dict[str, dict] = {}
    for r in rows:
        if r.slice != "all":
            continue
        entry = by_window.setdefault(r.details.get("window_start", "?"), {})
        entry[r.check_name] = r
    lines = ["window_start         coverage  " + " ".join(c.ljust(18) for c in columns).rstrip()]
    for start, checks in sorted(by_window.items()):
        def fmt(name: str, checks: dict = checks) -> str:
            row = checks.get(name)
            if row is None or row.value is None:
                return "-".ljust(18)
            return f"{row.value:.3f} ({row.status})".ljust(18)
        coverage = checks.get("label_coverage")
        cov = "-" if coverage is None or coverage.value is None else f"{coverage.value:.0%}"
        lines.append(f"{start[:16]:<20} {cov:<9} " + " ".join(fmt(c) for c in columns))
    return "\n".join(lines)


def data_validation(cfg: MonitorConfig, context: dict[str, Any]) -> dict:
    from modelwatch.airflow.connections import airflow_connection_url
    from modelwatch.runner import step_data_layer
    from modelwatch.summary import metrics_table

    window = window_of(cfg, context)
    rows = _run(lambda: step_data_layer(cfg, window, context["run_id"], airflow_connection_url))
    log.info("data layer of %s for window %s\n%s", cfg.model.name, window,
             metrics_table(rows, only_flagged=True))
    docs = next((r.details["data_docs"] for r in rows if r.details.get("data_docs")), None)
    if docs:
        log.info("Great Expectations Data Docs: %s", docs)
    return {"checks": len(rows), "alert": sum(r.status == "alert" for r in rows),
            "data_docs": docs}


def shadow(cfg: MonitorConfig, context: dict[str, Any]) -> dict:
    from modelwatch.airflow.connections import airflow_connection_url
    from modelwatch.runner import step_shadow
    from modelwatch.shadow import shadow_table

    window = window_of(cfg, context)
    rows = _run(lambda: step_shadow(cfg, window, context["run_id"], airflow_connection_url))
    log.info("shadow comparison of %s for window %s\n%s", cfg.model.name, window,
             shadow_table(rows))
    gate = next((r for r in rows if r.check_name == "promotion_gate"), None)
    return {"checks": len(rows), "promotion_gate": None if gate is None else gate.value}


def slack_token(conn_id: str) -> str | None:
    from airflow.sdk import Connection

    return Connection.get(conn_id).password


def publish(cfg: MonitorConfig, context: dict[str, Any]) -> dict:
    """Move the rows the window's layers staged into ``mw_metric``, in one transaction."""
    from modelwatch.airflow.connections import airflow_connection_url
    from modelwatch.runner import step_publish

    window = window_of(cfg, context)
    published = _run(lambda: step_publish(cfg, window, airflow_connection_url))
    log.info("published %d rows of %s for window %s", published, cfg.model.name, window)
    return {"published": published}


def record_alerts(cfg: MonitorConfig, context: dict[str, Any]) -> dict:
    """Group, store and deliver the window's alerts (Slack when configured; else logged)."""
    from modelwatch.airflow.connections import airflow_connection_url
    from modelwatch.runner import step_alerts

    window = window_of(cfg, context)
    report = _run(lambda: step_alerts(cfg, window, context["run_id"], airflow_connection_url,
                                      token_resolver=slack_token, dag_id=context["dag"].dag_id))
    log.info("alerts of %s for window %s\n%s", cfg.model.name, window, report.table())
    return {"open": report.open_groups, "delivered": report.delivered, "failed": report.failed}


def decide(cfg: MonitorConfig, context: dict[str, Any]) -> str:
    """Branch callable: returns the task id of the chosen action."""
    from modelwatch.airflow.connections import airflow_connection_url
    from modelwatch.runner import step_decide

    window = window_of(cfg, context)
    decision = _run(lambda: step_decide(cfg, window, context["run_id"], airflow_connection_url))
    log.info("%s for window %s: %s", cfg.model.name, window, decision.summary())
    context["ti"].xcom_push(key="decision", value={
        "action": decision.action, "rule": decision.rule, "reason": decision.summary()})
    return decision.action


def _reason(context: dict[str, Any]) -> str:
    pushed = context["ti"].xcom_pull(task_ids="decide", key="decision") or {}
    return pushed.get("reason", "decision")


def rollback(cfg: MonitorConfig, context: dict[str, Any]) -> dict:
    from modelwatch.airflow.connections import airflow_connection_url
    from modelwatch.runner import step_rollback

    change = _run(lambda: step_rollback(cfg, window_of(cfg, context), _reason(context),
                                        airflow_connection_url, token_resolver=slack_token,
                                        dag_id=context["dag"].dag_id))
    log.info("rollback of %s: %s (applied=%s)", cfg.model.name, change.detail, change.applied)
    return {"applied": change.applied, "champion": change.champion, "detail": change.detail}


def promote(cfg: MonitorConfig, context: dict[str, Any]) -> dict:
    from modelwatch.airflow.connections import airflow_connection_url
    from modelwatch.runner import step_promote

    change = _run(lambda: step_promote(cfg, window_of(cfg, context), _reason(context),
                                       airflow_connection_url, token_resolver=slack_token,
                                       dag_id=context["dag"].dag_id))
    log.info("promotion of %s: %s (applied=%s)", cfg.model.name, change.detail, change.applied)
    return {"applied": change.applied, "champion": change.champion, "detail": change.detail}


def report(cfg: MonitorConfig, context: dict[str, Any]) -> dict:
    """Render and store the window's report; the log names where it is and how to open it."""
    from modelwatch.airflow.connections import airflow_connection_url
    from modelwatch.runner import step_report

    dag_id = context["dag"].dag_id
    stored = _run(lambda: step_report(cfg, window_of(cfg, context), context["run_id"],
                                      airflow_connection_url, dag_id=dag_id))
    log.info("report of %s (%d kB): %s%s; in the UI: %s", cfg.model.name,
             stored.size_bytes // 1024, stored.local_path,
             f", {stored.s3_uri}" if stored.s3_uri else "",
             cfg.alerting.report_url(dag_id, context["run_id"]))
    return {"local": str(stored.local_path), "s3": stored.s3_uri, "bytes": stored.size_bytes}


def retrain(cfg: MonitorConfig, context: dict[str, Any]) -> dict:
    """Body of the retraining DAG: the window and reason come from the triggering run's conf."""
    from datetime import datetime

    from modelwatch.airflow.connections import airflow_connection_url
    from modelwatch.runner import step_retrain
    from modelwatch.window import Window

    conf = context["dag_run"].conf or {}
    if "window_start" not in conf:
        end = context["data_interval_end"]
        window = Window(end - cfg.schedule.window, end)
    else:
        window = Window(datetime.fromisoformat(conf["window_start"]),
                        datetime.fromisoformat(conf["window_end"]))
    reason = conf.get("reason", "manual retrain")
    trained, change = _run(lambda: step_retrain(cfg, window, reason, airflow_connection_url))
    log.info("retrained %s: version %s (%s), registered: %s", cfg.model.name, trained.version,
             trained.metrics, change.detail)
    return {"version": trained.version, "artifact_uri": trained.artifact_uri,
            "metrics": trained.metrics}


def alert_review(directory: str, context: dict[str, Any]) -> dict:
    """Body of the weekly review DAG: one review per monitor file, for the week that ended at the
    data interval's end. A broken monitor file is logged and skipped (its own DAG shows it)."""
    from datetime import UTC, timedelta
    from pathlib import Path

    from modelwatch.airflow.connections import airflow_connection_url
    from modelwatch.alerting.review import review_table, run_review
    from modelwatch.config.loader import load_monitor, monitor_files
    from modelwatch.errors import ConfigError
    from modelwatch.runner import open_warehouse

    # the week of whole days ending at the midnight before the run (the DAG runs at 06:00)
    end = datetime.combine(context["data_interval_end"].astimezone(UTC).date(), datetime.min.time())
    start = end - timedelta(days=7)
    summary = {}
    for source in monitor_files(Path(directory)):
        try:
            cfg = load_monitor(source)
        except ConfigError as exc:
            log.warning("alert review skips %s: %s", source, exc)
            continue
        report = _run(lambda cfg=cfg: run_review(open_warehouse(cfg, airflow_connection_url), cfg,
                                                 start, end, token_resolver=slack_token))
        log.info("alert review of %s, %s – %s:\n%s", cfg.model.name, start, end,
                 review_table(report.rows))
        summary[cfg.model.name] = {"rules": len(report.rows), "posted": report.posted,
                                   "suggestions": sum(1 for r in report.rows if r.suggestion)}
    return summary
