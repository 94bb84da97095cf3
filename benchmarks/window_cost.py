"""What one daily monitoring window costs, task by task, as the Airflow DAG runs it.

    .venv/bin/python benchmarks/window_cost.py                                 # 20k and 200k rows/day
    .venv/bin/python benchmarks/window_cost.py --sizes 20k,200k,1M --dialects duckdb
    .venv/bin/python benchmarks/window_cost.py --sizes 20k --dialects postgresql --pg-admin-url URL

Why: issue #19 sets targets for the whole window (1M rows/day: ≤ 5 s on DuckDB, ≤ 30 s on
PostgreSQL; 20k rows/day: ≤ 2 s warm; peak RSS ≤ 1 GiB at 1M), and the per-layer benchmarks
(drift_vs_peers.py, shadow_cost.py) each time one step only.

Data. The demo generator (``modelwatch.demo.scenario.generate``) writes days 1–21 of every input
table (predictions, shadow_predictions, labels, offline_features, kpis) into a fresh warehouse per
size and dialect: a DuckDB file, or a new PostgreSQL database (dropped at the end). Sizes above
200k rows/day are the 200k tables replicated k times in SQL with new request ids, as in
shadow_cost.py (the generator needs ~40 GB of RAM at 1M rows/day). Seeding is timed and reported
apart: it stands for the warehouse already holding the data.

Runs, on the demo's monitor (include/monitors/fraud_demo.yaml, its warehouse pointed at the seeded
one through ``MODELWATCH_WAREHOUSE_URL``; ``MODELWATCH_HOME`` under ``--work-dir``; no Slack
token, so alerts are logged, not sent):

1. ``profile``: ``step_profile(rebuild=True)`` once (once per model version, not per window).
2. ``warm``: window day 19 untimed (imports, caches, the previous window's state), then window
   day 20 (steady period) step by step in the DAG's order, each step timed with perf_counter.
3. ``cold``: window day 21 in a fresh ``python -m modelwatch.cli run`` child, timed whole
   (imports included); its peak RSS is the ``VmHWM`` the child reports at its end (``ru_maxrss``
   of the children carries this script's own peak over fork and exec, see benchmarks/README.md).

Prints a Markdown table per dialect (rows: steps and total; columns: sizes) and writes
``benchmarks/results/window-<date>.json`` (git-ignored); the reading lives in docs/benchmarks.md.
Timings are never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

CONFIG = ROOT / "include" / "monitors" / "fraud_demo.yaml"
BASE_ROWS = 200_000
DAYS = 21
WARMUP_DAY, WARM_DAY, COLD_DAY = 19, 20, 21
REPLICATED = ("predictions", "shadow_predictions", "labels", "offline_features")
STEPS = ("window_checks", "data_layer", "outcome", "shadow", "publish", "alerts", "decide", "report")
CHILD = """
import sys, time
from modelwatch.cli import main
began = time.perf_counter()
code = main(sys.argv[1:])
elapsed = time.perf_counter() - began
hwm = next(line for line in open('/proc/self/status') if line.startswith('VmHWM'))
print(f'@@ {code} {elapsed} {int(hwm.split()[1])}')
"""


def parse_size(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * factor)


def create_pg_database(admin_url: str, size: int) -> str:
    """A fresh database on the server of ``admin_url``; returns its URL."""
    import sqlalchemy as sa

    name = f"mw_window_{size}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return str(sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False))


def fresh_duckdb(path: Path) -> str:
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    return f"duckdb:///{path}"


def drop_pg_database(admin_url: str, url: str) -> None:
    import sqlalchemy as sa

    from modelwatch.warehouse.engine import engine_for_url

    engine_for_url(url).dispose()
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.engine.make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def replicate(engine, copies: int) -> None:
    """Each request-keyed table ``copies`` times, the request ids suffixed by the copy number."""
    import sqlalchemy as sa

    for table in REPLICATED:
        columns = [c["name"] for c in sa.inspect(engine).get_columns(table)]
        select = ", ".join("request_id || '_' || CAST(k AS VARCHAR) AS request_id" if c == "request_id"
                           else f'"{c}"' for c in columns)
        series = (f"range({copies}) AS t(k)" if engine.dialect.name == "duckdb"
                  else f"generate_series(0, {copies - 1}) AS t(k)")
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE TABLE {table}_x AS SELECT {select} FROM {table}, {series}"))
            conn.execute(sa.text(f"DROP TABLE {table}"))
            conn.execute(sa.text(f"ALTER TABLE {table}_x RENAME TO {table}"))


def seed(url: str, generated, copies: int) -> dict[str, int]:
    """Write the generated scenario into the warehouse at ``url``; returns row counts."""
    import sqlalchemy as sa

    from modelwatch.demo import scenario
    from modelwatch.warehouse.engine import engine_for_url

    engine = engine_for_url(url)
    scenario.seed_warehouse(engine, generated)
    if copies > 1:
        replicate(engine, copies)
    with engine.connect() as conn:
        return {t: int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar())
                for t in (*REPLICATED, "kpis")}


def window_of(day: int):
    from modelwatch.demo import scenario
    from modelwatch.window import Window

    return Window(scenario.day_of(day), scenario.day_of(day) + timedelta(days=1))


def run_steps(cfg, day: int, run_id: str) -> dict[str, float]:
    """One window, step by step in the DAG's order (``runner.run_window``); seconds per step."""
    from modelwatch import runner

    window = window_of(day)
    calls = {
        "window_checks": lambda: runner.step_window_checks(cfg, window, run_id),
        "data_layer": lambda: runner.step_data_layer(cfg, window, run_id),
        "outcome": lambda: runner.step_outcome(cfg, window, run_id),
        "shadow": lambda: runner.step_shadow(cfg, window, run_id),
        "publish": lambda: runner.step_publish(cfg, window),
        "alerts": lambda: runner.step_alerts(cfg, window, run_id),
        "decide": lambda: runner.step_decide(cfg, window, run_id),
        "report": lambda: runner.step_report(cfg, window, run_id),
    }
    seconds = {}
    for step in STEPS:
        began = time.perf_counter()
        calls[step]()
        seconds[step] = time.perf_counter() - began
    return seconds


def cold_window(day: int, url: str) -> dict:
    """``modelwatch run`` for window ``day`` in a fresh interpreter: wall time, exit code, VmHWM."""
    window = window_of(day)
    command = [sys.executable, "-c", CHILD, "run", str(CONFIG), "--start", window.start.isoformat(),
               "--end", window.end.isoformat(), "--run-id", f"bench_cold_{day}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "MODELWATCH_WAREHOUSE_URL": url}
    began = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - began
    marker = [line for line in done.stdout.splitlines() if line.startswith("@@ ")]
    if not marker:
        raise RuntimeError(f"cold window failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    code, inside, hwm_kb = marker[-1].split()[1:]
    return {"wall_s": wall, "in_process_s": float(inside), "exit_code": int(code),
            "peak_rss_mib": int(hwm_kb) / 1024, "stderr_tail": done.stderr[-1500:] if int(code) else ""}


def measure(cfg, url: str) -> dict:
    """Profile, warm window and cold window on the seeded warehouse at ``url``."""
    from modelwatch.runner import step_profile

    os.environ["MODELWATCH_WAREHOUSE_URL"] = url
    began = time.perf_counter()
    step_profile(cfg, rebuild=True)
    profile_s = time.perf_counter() - began
    run_steps(cfg, WARMUP_DAY, "bench_warmup")
    warm = run_steps(cfg, WARM_DAY, "bench_warm")
    return {"profile_s": profile_s, "warm_s": warm, "warm_total_s": sum(warm.values()),
            "cold": cold_window(COLD_DAY, child_copy(url))}


def child_copy(url: str) -> str:
    """The URL the cold child opens: an embedded file admits one process and this one keeps its
    engine open, so the child gets a copy of the file (and its WAL); a server is shared."""
    import shutil

    import sqlalchemy as sa

    if not url.startswith("duckdb:"):
        return url
    source = Path(sa.engine.make_url(url).database)
    target = source.with_name(f"cold_{source.name}")
    for suffix in ("", ".wal"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
        if source.with_name(source.name + suffix).exists():
            shutil.copyfile(source.with_name(source.name + suffix), target.with_name(target.name + suffix))
    return f"duckdb:///{target}"


def table(dialect: str, results: list[dict]) -> str:
    mine = [r for r in results if r["dialect"] == dialect]
    lines = [f"\n{dialect}: warm window (day {WARM_DAY}), seconds per step; cold window (day "
             f"{COLD_DAY}) in a fresh process", "",
             "| step | " + " | ".join(f"{r['rows_per_day']:,} rows/day" for r in mine) + " |",
             "|---|" + "---|" * len(mine)]
    for step in STEPS:
        lines.append(f"| {step} | " + " | ".join(f"{r['warm_s'][step]:.2f}" for r in mine) + " |")
    lines += ["| **total (warm)** | " + " | ".join(f"**{r['warm_total_s']:.2f}**" for r in mine) + " |",
              "| profile (once, not per window) | " + " | ".join(f"{r['profile_s']:.2f}" for r in mine)
              + " |",
              "| cold window, whole (fresh process) | " + " | ".join(
                  f"{r['cold']['wall_s']:.2f}" for r in mine) + " |",
              "| cold window, peak RSS (MiB) | " + " | ".join(
                  f"{r['cold']['peak_rss_mib']:.0f}" for r in mine) + " |",
              "| seeding (not counted) | " + " | ".join(f"{r['seed_s']:.0f}" for r in mine) + " |"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20k,200k", help="rows per day, comma-separated")
    parser.add_argument("--dialects", default="duckdb,postgresql", help="duckdb, postgresql or both")
    parser.add_argument("--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="a server where this script may create and drop databases")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/modelwatch-window-bench"))
    parser.add_argument("--label", default="", help="a name for this run in the results file")
    args = parser.parse_args()

    args.work_dir.mkdir(parents=True, exist_ok=True)
    os.environ["MODELWATCH_HOME"] = str(args.work_dir / "home")
    os.environ.pop("MODELWATCH_SLACK_TOKEN", None)
    from modelwatch.config import load_monitor
    from modelwatch.demo import scenario

    cfg = load_monitor(CONFIG)
    dialects = args.dialects.split(",")
    results = []
    for size in [parse_size(s) for s in args.sizes.split(",")]:
        copies, rest = divmod(size, BASE_ROWS) if size > BASE_ROWS else (1, 0)
        if rest:
            raise SystemExit(f"sizes above {BASE_ROWS} must be multiples of it (got {size})")
        began = time.perf_counter()
        generated = scenario.generate(rows_per_day=min(size, BASE_ROWS), days=DAYS)
        generate_s = time.perf_counter() - began
        for dialect in dialects:
            url = (fresh_duckdb(args.work_dir / f"window_{size}.duckdb") if dialect == "duckdb"
                   else create_pg_database(args.pg_admin_url, size))
            try:
                began = time.perf_counter()
                counts = seed(url, generated, copies)
                seed_s = generate_s + time.perf_counter() - began
                print(f"{dialect} {size:,} rows/day: seeded in {seed_s:.0f} s {counts}", flush=True)
                result = {"dialect": dialect, "rows_per_day": size, "seed_s": seed_s, "seeded": counts,
                          **measure(cfg, url)}
            finally:
                if dialect == "postgresql":
                    drop_pg_database(args.pg_admin_url, url)
            print(f"{dialect} {size:,} rows/day: warm {result['warm_total_s']:.2f} s "
                  f"{ {k: round(v, 2) for k, v in result['warm_s'].items()} }, cold "
                  f"{result['cold']['wall_s']:.2f} s (exit {result['cold']['exit_code']}), "
                  f"{result['cold']['peak_rss_mib']:.0f} MiB", flush=True)
            results.append(result)
        del generated
    for dialect in dialects:
        print(table(dialect, results))
    suffix = f"-{args.label}" if args.label else ""
    out = ROOT / "benchmarks" / "results" / f"window-{date.today().isoformat()}{suffix}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"label": args.label, "cpus": os.cpu_count(), "results": results},
                              indent=2, default=str))
    print(f"\nraw numbers: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
