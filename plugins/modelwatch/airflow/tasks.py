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
    from modelwatch.runner import Window

    end: datetime = context["data_interval_end"]
    return Window(end - cfg.schedule.window, end)


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


def record_alerts(cfg: MonitorConfig, context: dict[str, Any]) -> dict:
    from modelwatch.airflow.connections import airflow_connection_url
    from modelwatch.runner import step_record_alerts

    window = window_of(cfg, context)
    alerts = _run(lambda: step_record_alerts(cfg, window, airflow_connection_url))
    for alert in alerts:
        log.info("[%s] %s -> %s (%s)", alert.severity, alert.title, alert.channel, alert.owner)
    log.info("%d open alert(s) for window %s", len(alerts), window)
    return {"open_alerts": len(alerts)}
