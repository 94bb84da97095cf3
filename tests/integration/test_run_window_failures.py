"""``modelwatch run`` (``runner.run_window``): one failing layer never silences the others.

The labels table is gone on the pipeline-bug day of the demo scenario: outcome and shadow fail
with the named contract error, yet the data findings of that day are grouped into alerts, a
decision is recorded, each failed step is an infra incident naming its cause, and the run then
raises the first failure (the CLI exits non-zero with it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from modelwatch.config import load_monitor
from modelwatch.demo import scenario
from modelwatch.errors import ContractError
from modelwatch.warehouse.engine import engine_for_url
from modelwatch.warehouse.load import drop_tables
from modelwatch.warehouse.tables import create_output_tables, mw_alert, mw_decision
from modelwatch.window import Window
from tests.conftest import DEMO_YAML


def test_a_failing_step_is_paged_and_the_rest_of_the_window_still_runs(duck_url, monkeypatch):
    from modelwatch.runner import run_window

    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", duck_url)
    monkeypatch.delenv("MODELWATCH_SLACK_TOKEN", raising=False)
    engine = engine_for_url(duck_url)
    create_output_tables(engine)
    scenario.seed_warehouse(engine, scenario.generate(rows_per_day=1000, days=32))
    drop_tables(engine, "labels")
    cfg = load_monitor(DEMO_YAML)
    day = scenario.day_of(31)
    with pytest.raises(ContractError, match=r"labels \(tables\.labels\): no such table or view"):
        run_window(cfg, Window(day, day + timedelta(days=1)), "cli__bug_day")
    with engine.connect() as conn:
        alerts = conn.execute(sa.select(mw_alert.c.layer, mw_alert.c.title)).all()
        decisions = conn.execute(sa.select(sa.func.count()).select_from(mw_decision)).scalar()
    infra = sorted(title for layer, title in alerts if layer == "airflow")
    assert infra == ["monitoring task failed: outcome (try 1 of 1)",
                     "monitoring task failed: shadow (try 1 of 1)"]
    assert any(layer == "data" for layer, _ in alerts), alerts  # the bug day's data findings
    assert decisions == 1
