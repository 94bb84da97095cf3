"""Airflow callbacks that page the infra owner about the monitoring runs themselves.

- a task that failed for good (``on_failure_callback``; retries are not failures yet),
- a run that failed without a task failing, e.g. a dagrun timeout (the DAG's
  ``on_failure_callback``; a task failure was already paged by the task's callback),
- a run still going past ``schedule.deadline`` (an Airflow deadline alert whose
  ``AsyncCallback`` runs ``deadline_missed`` in the triggerer).

Each becomes an ``alerting.incidents.Incident`` and goes through the same routing, dedup and
outbox as every metric alert. A task's success resolves its open failure; a run's success
resolves its run-level incidents. A callback never raises: a broken warehouse or Slack must not
hide the failure it reports, so errors are logged and the row stays in the outbox when it got that
far.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from modelwatch.config.schema import MonitorConfig

log = logging.getLogger(__name__)


def _safely(what: str, action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:  # a callback that raises hides the incident it was reporting
        log.exception("modelwatch %s callback could not record or send its alert", what)


def _engine(cfg: MonitorConfig):
    from modelwatch.airflow.connections import airflow_connection_url
    from modelwatch.runner import open_warehouse

    return open_warehouse(cfg, airflow_connection_url)


def _token(conn_id: str) -> str | None:
    from modelwatch.airflow.tasks import slack_token

    return slack_token(conn_id)


def _window(cfg: MonitorConfig, end: datetime) -> tuple[datetime, datetime]:
    return end - cfg.schedule.window, end


class MonitorCallbacks:
    """The callbacks of one monitor's DAG and tasks (bound to its config at parse time)."""

    def __init__(self, cfg: MonitorConfig):
        self.cfg = cfg

    def _incident(self, kind: str, context: dict[str, Any], **fields: Any):
        from modelwatch.alerting.incidents import Incident

        # a manually triggered run of an unscheduled DAG (retraining) has no data interval
        end = context.get("data_interval_end") or context.get("logical_date") or context[
            "dag_run"].run_after
        start, end = _window(self.cfg, end)
        dag_id = context["dag"].dag_id if context.get("dag") is not None else self.cfg.dag_id
        return Incident(kind=kind, dag_id=dag_id, run_id=context["run_id"], window_start=start,
                        window_end=end, **fields)

    def on_task_failure(self, context: dict[str, Any]) -> None:
        """Page: the task, its try, the error and the log link."""
        from modelwatch.alerting.incidents import error_line, page_incident

        def page() -> None:
            ti, task = context["ti"], context.get("task")
            incident = self._incident(
                "task_failed", context, task_id=ti.task_id, try_number=ti.try_number,
                max_tries=(task.retries + 1) if task is not None else None,
                error=error_line(context.get("exception")), log_url=getattr(ti, "log_url", None))
            report = page_incident(_engine(self.cfg), self.cfg, incident, token_resolver=_token)
            log.info("modelwatch paged %s about %s: %s", self.cfg.owners.infra.team,
                     incident.title(), report.table())

        _safely("task failure", page)

    def on_task_success(self, context: dict[str, Any]) -> None:
        """Resolve the task's open failure, if it has one (one read otherwise)."""
        from modelwatch.alerting.incidents import close_incident

        def resolve() -> None:
            incident = self._incident("task_failed", context, task_id=context["ti"].task_id)
            if close_incident(_engine(self.cfg), self.cfg, incident, token_resolver=_token):
                log.info("modelwatch resolved %s", incident.title())

        _safely("task success", resolve)

    def on_dag_failure(self, context: dict[str, Any]) -> None:
        """Page a run failure that no task failure explains (timeout, deadlock)."""
        from modelwatch.alerting.incidents import page_incident

        reason = str(context.get("reason") or "")
        if reason == "task_failure":  # the failed task's own callback paged it
            return
        _safely("run failure", lambda: page_incident(
            _engine(self.cfg), self.cfg,
            self._incident("run_failed", context, reason=reason or "failed"),
            token_resolver=_token))

    def on_dag_success(self, context: dict[str, Any]) -> None:
        """A finished run resolves its run-level incidents (a late run that finished)."""
        from modelwatch.alerting.incidents import close_incident

        def resolve() -> None:
            engine = _engine(self.cfg)
            for kind in ("run_failed", "deadline_missed"):
                close_incident(engine, self.cfg, self._incident(kind, context),
                               token_resolver=_token)

        _safely("run success", resolve)


def deadline_alert(cfg: MonitorConfig, source: str):
    """The DAG's ``DeadlineAlert``: queued + ``schedule.deadline``; None when turned off."""
    if cfg.schedule.deadline is None:
        return None
    from airflow.sdk.definitions.callback import AsyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

    return DeadlineAlert(reference=DeadlineReference.DAGRUN_QUEUED_AT,
                         interval=cfg.schedule.deadline,
                         callback=AsyncCallback(deadline_missed, kwargs={"config_path": source}))


def _parse_ts(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(
        value.replace("Z", "+00:00"))


def deadline_incident(cfg: MonitorConfig, context: dict[str, Any]):
    """The incident of a missed deadline from the context Airflow passes the callback: the
    DAG run as the REST API shows it, and the deadline."""
    from modelwatch.alerting.incidents import Incident

    run = context["dag_run"]
    start, end = _window(cfg, _parse_ts(run["data_interval_end"]))
    deadline = (context.get("deadline") or {}).get("deadline_time")
    reason = (f"not finished {cfg.schedule.deadline} after it was queued"
              + (f" (deadline {deadline})" if deadline else ""))
    return Incident(kind="deadline_missed", dag_id=run.get("dag_id") or cfg.dag_id,
                    run_id=run["dag_run_id"], window_start=start, window_end=end, reason=reason,
                    log_url=cfg.alerting.run_url(run.get("dag_id") or cfg.dag_id,
                                                 run["dag_run_id"]))


async def deadline_missed(config_path: str, context: dict[str, Any] | None = None,
                          **_: Any) -> None:
    """Runs in the triggerer when a monitoring run misses its deadline: page the infra owner.

    Module-level and awaitable because Airflow imports it by path in the triggerer; the blocking
    warehouse and Slack calls run in a worker thread so the triggerer's loop keeps going.
    """
    from modelwatch.alerting.incidents import page_incident
    from modelwatch.config.loader import load_monitor

    def page() -> None:
        cfg = load_monitor(config_path)
        page_incident(_engine(cfg), cfg, deadline_incident(cfg, context or {}),
                      token_resolver=_token)

    await asyncio.to_thread(_safely, "deadline", page)
