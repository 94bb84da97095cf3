"""A window is published whole (``warehouse/writer``): on DuckDB and on the real PostgreSQL server,
staged rows are invisible in ``mw_metric`` until ``publish_window``, which replaces exactly what a
direct write would have replaced, in one transaction; a failed publish leaves the previous rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from modelwatch.metrics import MetricRow
from modelwatch.warehouse.tables import create_output_tables, mw_metric, mw_metric_staged
from modelwatch.warehouse.writer import Stage, publish_window, replace_metrics, visible_metrics

START = datetime(2026, 3, 9)
END = START + timedelta(days=1)
OLDER = (START - timedelta(days=1), START)


def _write(conn, run_id, rows, *, stage=None, window=(START, END), replace_like=None):
    replace_metrics(conn, run_id=run_id, model_name="m", model_version="v1",
                    window_start=window[0], window_end=window[1], rows=rows, stage=stage,
                    replace_like=replace_like)


def _metric(check: str, value: float, layer: str = "data", feature: str | None = "x"):
    return MetricRow(layer, check, feature, value, 1.0, "ok", {})


def _published(engine) -> dict[tuple, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(mw_metric.c.window_start, mw_metric.c.layer,
                                      mw_metric.c.check_name, mw_metric.c.value,
                                      mw_metric.c.run_id)).all()
    return {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows}


@pytest.fixture
def engine(input_engine):
    create_output_tables(input_engine)
    with input_engine.begin() as conn:
        conn.execute(sa.delete(mw_metric))
        conn.execute(sa.delete(mw_metric_staged))
        _write(conn, "old", [_metric("psi", 0.1), _metric("expect_a", 1.0),
                             _metric("expect_b", 1.0), _metric("kept", 5.0)])
        _write(conn, "old", [_metric("roc_auc", 0.8, "outcome", None)], window=OLDER)
    return input_engine


def test_staged_rows_stay_invisible_until_published_then_replace_what_a_write_would(engine):
    stage_data = Stage("data_validation", START, END)
    stage_outcome = Stage("outcome", START, END)
    with engine.begin() as conn:
        _write(conn, "new", [_metric("psi", 0.3), _metric("expect_a", 0.0)], stage=stage_data,
               replace_like="expect\\_%")
        _write(conn, "new", [_metric("roc_auc", 0.6, "outcome", None)], stage=stage_outcome,
               window=OLDER)
    before = _published(engine)
    assert {run for _, run in before.values()} == {"old"}  # a reader mid-run: the previous rows
    assert len(before) == 5

    with engine.connect() as conn:  # the run's own later steps see its staged rows
        view = visible_metrics("m", stage_outcome)
        seen = dict(conn.execute(sa.select(view.c.check_name, view.c.value)
                                 .where(view.c.window_start == START)).all())
    assert seen == {"psi": 0.3, "expect_a": 0.0, "kept": 5.0}

    with engine.begin() as conn:
        assert publish_window(conn, model_name="m", run_start=START, run_end=END) == 3
    after = _published(engine)
    assert after == {
        (START, "data", "psi"): (0.3, "new"),
        (START, "data", "expect_a"): (0.0, "new"),  # expect_b left the suite: gone, as direct
        (START, "data", "kept"): (5.0, "old"),  # a check nobody restaged stays
        (OLDER[0], "outcome", "roc_auc"): (0.6, "new"),  # older windows re-evaluated by the run
    }
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(mw_metric_staged)).scalar() == 0


def test_a_restaged_step_replaces_its_own_staged_rows_and_other_runs_are_untouched(engine):
    stage = Stage("window_checks", START, END)
    other = Stage("window_checks", END, END + timedelta(days=1))
    with engine.begin() as conn:
        _write(conn, "killed", [_metric("psi", 9.0)], stage=stage)
        _write(conn, "next-day", [_metric("psi", 7.0)], stage=other, window=(END, other.run_end))
    with engine.begin() as conn:  # the rerun of the step
        _write(conn, "rerun", [_metric("psi", 0.2)], stage=stage)
        assert publish_window(conn, model_name="m", run_start=START, run_end=END) == 1
    assert _published(engine)[(START, "data", "psi")] == (0.2, "rerun")
    with engine.connect() as conn:
        left = conn.execute(sa.select(mw_metric_staged.c.run_id)).scalars().all()
    assert left == ["next-day"]


def test_a_publish_that_fails_midway_leaves_the_previous_rows(engine):
    stage = Stage("window_checks", START, END)
    with engine.begin() as conn:
        _write(conn, "new", [_metric("psi", 0.4)], stage=stage)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        publish_window(conn, model_name="m", run_start=START, run_end=END)
        raise RuntimeError("killed between the publish's statements")
    assert _published(engine)[(START, "data", "psi")] == (0.1, "old")
    with engine.begin() as conn:
        assert publish_window(conn, model_name="m", run_start=START, run_end=END) == 1
    assert _published(engine)[(START, "data", "psi")] == (0.4, "new")
