"""``kill -9`` of ``modelwatch run`` at points across a window: ``mw_metric`` holds one run's rows
only — the previous run's while the killed run's steps sat staged, or all of the killed run's once
it had published — never a mix, and never half a step; the next run completes the window with
the same figures as an uninterrupted run and leaves nothing staged.
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
from modelwatch.warehouse.tables import create_output_tables, mw_metric, mw_metric_staged
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
    """Every mw_metric row (the run's window and the older windows outcome and shadow re-wrote),
    by (window, layer, check)."""
    engine = engine_for_url(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(
            mw_metric.c.window_start, mw_metric.c.layer, mw_metric.c.check_name,
            mw_metric.c.feature, mw_metric.c.slice, mw_metric.c.value, mw_metric.c.run_id)).all()
    engine.dispose()
    groups: dict[tuple, list] = defaultdict(list)
    for start, layer, check, feature, slice_, value, run_id in rows:
        groups[(start, layer, check)].append((feature, slice_, value, run_id))
    return groups


def _staged(url: str) -> int:
    engine = engine_for_url(url)
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(mw_metric_staged)).scalar()
    engine.dispose()
    return count


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

    killed_inside = killed_with_staged_rows = 0
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
        runs = {r[3] for rows in now.values() for r in rows}
        assert len(runs) == 1, f"kill at {after}s: mw_metric mixes the rows of runs {runs}"
        killed_with_staged_rows += _staged(url) > 0
    assert killed_inside >= 3  # the points did land inside the run
    assert killed_with_staged_rows >= 2  # ... and some while steps' rows waited to be published

    rerun = _run(url, "rerun", env)
    assert rerun.wait(timeout=300) == 0, rerun.stderr.read().decode()[-2000:]
    after = _rows(url)
    assert after.keys() == baseline.keys()
    assert _staged(url) == 0
    for key, rows in after.items():
        assert {r[3] for r in rows} == {"rerun"}
        if key[0] != scenario.day_of(DAY):
            continue  # older windows' kpi_correlation reads the history the first run extended
        values = sorted((r[0] or "", r[1], r[2]) for r in rows)
        expected = sorted((r[0] or "", r[1], r[2]) for r in baseline[key])
        assert [v[:2] for v in values] == [e[:2] for e in expected], key
        for (_, _, v), (_, _, e) in zip(values, expected, strict=True):
            assert (v is None and e is None) or abs(v - e) <= 1e-9 * max(1.0, abs(e)), (key, v, e)
