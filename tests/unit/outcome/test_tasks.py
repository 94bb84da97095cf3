"""The task registry: which outcome rows each model.task gets, and the task log's columns."""

from __future__ import annotations

from modelwatch.metrics import MetricRow
from modelwatch.outcome.tasks import TASKS, headline_checks
from tests.unit.outcome.task_configs import task_config


def test_registry_covers_the_tasks_with_performance_metrics() -> None:
    assert sorted(TASKS) == ["binary", "multiclass", "ranking", "regression"]
    assert headline_checks(task_config("regression", prediction=None)) == ("mae", "rmse", "bias")
    assert headline_checks(task_config("ranking", item="item_id")) == (
        "ndcg_at_k", "map_at_k", "recall_at_k")


def test_task_log_table_shows_the_tasks_headline_metrics() -> None:
    from modelwatch.airflow.tasks import outcome_lines

    base = {"window_start": "2026-09-01T00:00:00"}
    rows = [MetricRow("outcome", "mae", None, 1.234, None, "alert", base, "all"),
            MetricRow("outcome", "label_coverage", None, 0.9, None, "ok", base, "all"),
            MetricRow("outcome", "mae", None, 9.0, None, "ok", base, "region=EU")]
    lines = outcome_lines(rows, ("mae", "rmse")).splitlines()
    assert lines[0].split() == ["window_start", "coverage", "mae", "rmse"]
    assert lines[1].split() == ["2026-09-01T00:00", "90%", "1.234", "(alert)", "-"]
