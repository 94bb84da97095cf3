"""``kill -9`` of ``modelwatch run`` at points across a window: each step's rows are all there or
none (the step's one transaction), never half a step; the next run completes the window with the
same figures as an uninterrupted run.

What this does not give (yet): atomicity *across* steps. Each step commits on its own — in
Airflow they are separate tasks — so a reader between two steps sees the new window checks beside
the previous run's outcome rows, each of them whole. docs/warehouse.md says so.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from datetime import timedelta

import sqlalchemy as sa

from modelwatch.demo import scenario
from modelwatch.warehouse.engine import engine_for_url
from modelwatch.warehouse.tables import create_output_tables, mw_metric
from tests.conftest import DEMO_YAML

DAY = 31
KILL_AFTER = (1.5, 3.0, 4.5, 6.0, 8.0)  # seconds into a ~10 s window: inside different steps


def _run(url: str, run_id: str, env: dict) -> subprocess.Popen:
    start = scenario.day_of(DAY)
    return subprocess.Popen(
        [sys.executable, "-m", "modelwatch.cli", "run", str(DEMO_YAML), "--start",
         start.isoformat(), "--end", (start + timedelta(days=1)).isoformat(), "--run-id", run_id,
         "--json"], env={**env, "MODELWATCH_WAREHOUSE_URL": url},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _rows(url: str) -> dict[tuple, list]:
    engine = engine_for_url(url)
    start = scenario.day_of(DAY)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(mw_metric.c.layer, mw_metric.c.check_name, mw_metric.c.feature,
                                      mw_metric.c.slice, mw_metric.c.value, mw_metric.c.run_id)
                            .where(mw_metric.c.window_start == start)).all()
    engine.dispose()
    groups: dict[tuple, list] = defaultdict(list)
    for layer, check, feature, slice_, value, run_id in rows:
        groups[(layer, check)].append((feature, slice_, value, run_id))
    return groups


def test_kill_minus_nine_leaves_whole_steps_and_the_rerun_completes(tmp_path):
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    engine = engine_for_url(url)
    create_output_tables(engine)
    scenario.seed_warehouse(engine, scenario.generate(rows_per_day=2000, days=DAY + 1))
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if k != "MODELWATCH_SLACK_TOKEN"}
    env["MODELWATCH_HOME"] = str(tmp_path / "home")

    first = _run(url, "first", env)
    assert first.wait(timeout=300) == 0, first.stderr.read().decode()[-2000:]
    baseline = _rows(url)
    assert sum(len(v) for v in baseline.values()) > 500

    killed_inside = 0
    for i, after in enumerate(KILL_AFTER):
        proc = _run(url, f"killed{i}", env)
        time.sleep(after)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_inside += 1
        proc.wait(timeout=60)
        now = _rows(url)
        assert now.keys() == baseline.keys(), f"kill at {after}s: a step's rows vanished"
        for key, rows in now.items():
            assert len(rows) == len(baseline[key]), (after, key)
            assert len({r[3] for r in rows}) == 1, f"kill at {after}s: {key} holds two runs' rows"
    assert killed_inside >= 3  # the points did land inside the run

    rerun = _run(url, "rerun", env)
    assert rerun.wait(timeout=300) == 0, rerun.stderr.read().decode()[-2000:]
    after = _rows(url)
    assert after.keys() == baseline.keys()
    for key, rows in after.items():
        assert {r[3] for r in rows} == {"rerun"}
        values = sorted((r[0] or "", r[1], r[2]) for r in rows)
        expected = sorted((r[0] or "", r[1], r[2]) for r in baseline[key])
        assert [v[:2] for v in values] == [e[:2] for e in expected], key
        for (_, _, v), (_, _, e) in zip(values, expected, strict=True):
            assert (v is None and e is None) or abs(v - e) <= 1e-9 * max(1.0, abs(e)), (key, v, e)
