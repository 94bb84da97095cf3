"""What the shadow task costs per daily window: ``runner.step_shadow`` on the demo's data.

    .venv/bin/python benchmarks/shadow_cost.py                        # 20k and 200k rows/day
    .venv/bin/python benchmarks/shadow_cost.py --sizes 20k,200k,1M --repeats 3
    .venv/bin/python benchmarks/shadow_cost.py --sizes 200k --work-dir /tmp/sc   # keep the files

Data. The demo generator (``modelwatch.demo.scenario.generate``) writes days 1–21 of
``predictions``, ``shadow_predictions`` and ``labels`` into an embedded DuckDB file per size (the
only tables the shadow step reads). Sizes above 200k rows/day are the 200k tables replicated
k times in SQL with new request ids (same scores, labels and times: the generator itself needs
~40 GB of RAM for 21 days at 1M rows/day); the comparison then sees k copies of each request, so
the statistics are those of the 200k data with k-fold ties, and the work is that of 1M rows/day.
Seeded warehouses are reused from ``--work-dir`` when present (``--reseed`` to rebuild).

Runs, each timed around ``step_shadow`` as the Airflow task calls it, on the embedded engine with
its default memory cap (``MODELWATCH_DUCKDB_MEMORY_LIMIT``, 512MB):

1. ``first``: window day 20 on an empty ``mw_metric``. Besides the window and the gate's
   evidence period (7 days, 10 days back: ``labels.delay``), it catches up every past window in
   the look-back that has matured and was never evaluated (10 windows).
2. ``steady``: window day 21, ``--repeats`` times (a rerun does the same work): the window, the
   evidence period of 7 days and the one window maturing that day (day 11) — the daily cost.

Prints a Markdown table and writes ``benchmarks/results/shadow-<date>.json``; the reading lives in
docs/shadow.md (*Measurements*). Timings are never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

BASE_ROWS = 200_000
DAYS = 21
TABLES = ("predictions", "shadow_predictions", "labels")


def parse_size(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * factor)


def seed(path: Path, rows_per_day: int) -> dict[str, int]:
    """The demo's input tables for days 1–21 at ``rows_per_day`` (see the module docstring)."""
    import sqlalchemy as sa

    from modelwatch.demo import scenario
    from modelwatch.warehouse.engine import engine_for_url
    from modelwatch.warehouse.load import load_frame
    from modelwatch.warehouse.tables import create_output_tables

    copies = 1
    if rows_per_day > BASE_ROWS:
        copies, rest = divmod(rows_per_day, BASE_ROWS)
        if rest:
            raise SystemExit(f"sizes above {BASE_ROWS} must be multiples of it (got {rows_per_day})")
    generated = scenario.generate(rows_per_day=min(rows_per_day, BASE_ROWS), days=DAYS)
    engine = engine_for_url(f"duckdb:///{path}")
    create_output_tables(engine)
    for table in TABLES:
        load_frame(engine, table, getattr(generated, table))
    del generated
    if copies > 1:
        with engine.begin() as conn:
            for table in TABLES:
                conn.execute(sa.text(
                    f"CREATE TABLE {table}_x AS SELECT * REPLACE (request_id || '_' || k::VARCHAR "
                    f"AS request_id) FROM {table}, range({copies}) AS t(k)"))
                conn.execute(sa.text(f"DROP TABLE {table}"))
                conn.execute(sa.text(f"ALTER TABLE {table}_x RENAME TO {table}"))
    with engine.connect() as conn:
        counts = {t: int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()) for t in TABLES}
    engine.dispose()
    return counts


def clear_shadow_rows(url: str) -> None:
    import sqlalchemy as sa

    from modelwatch.warehouse.engine import engine_for_url
    from modelwatch.warehouse.tables import mw_metric

    engine = engine_for_url(url)
    with engine.begin() as conn:
        conn.execute(sa.delete(mw_metric).where(mw_metric.c.layer == "shadow"))
    engine.dispose()


def timed_step(cfg, day: int, run_id: str) -> tuple[float, int]:
    from modelwatch.demo import scenario
    from modelwatch.runner import step_publish, step_shadow
    from modelwatch.window import Window

    window = Window(scenario.day_of(day), scenario.day_of(day) + timedelta(days=1))
    began = time.perf_counter()
    rows = step_shadow(cfg, window, run_id)
    elapsed = time.perf_counter() - began
    step_publish(cfg, window)  # the next run reads these rows as the previous state
    return elapsed, len(rows)


def gate_summary(url: str, day: int) -> dict:
    """The stored promotion-gate rows of a window (to compare answers before/after a change)."""
    import sqlalchemy as sa

    from modelwatch.demo import scenario
    from modelwatch.warehouse.engine import engine_for_url
    from modelwatch.warehouse.tables import mw_metric

    engine = engine_for_url(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(mw_metric.c.check_name, mw_metric.c.slice, mw_metric.c.value,
                                      mw_metric.c.status).where(
            mw_metric.c.layer == "shadow", mw_metric.c.window_start == scenario.day_of(day),
            mw_metric.c.check_name.in_(("auc_diff", "promotion_gate")),
            mw_metric.c.slice == "all")).all()
    engine.dispose()
    return {r.check_name: {"value": r.value, "status": r.status} for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20k,200k", help="rows per day, comma-separated")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of the steady window")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/modelwatch-shadow-bench"))
    parser.add_argument("--reseed", action="store_true", help="rebuild the seeded warehouses")
    parser.add_argument("--label", default="", help="a name for this run in the results file")
    args = parser.parse_args()

    from modelwatch.config import load_monitor

    args.work_dir.mkdir(parents=True, exist_ok=True)
    cfg = load_monitor(ROOT / "include" / "monitors" / "fraud_demo.yaml")
    results = []
    for size in [parse_size(s) for s in args.sizes.split(",")]:
        path = args.work_dir / f"shadow_{size}.duckdb"
        seeded = None
        if args.reseed or not path.exists():
            path.unlink(missing_ok=True)
            began = time.perf_counter()
            seeded = seed(path, size)
            print(f"seeded {size} rows/day in {time.perf_counter() - began:.0f} s: {seeded}",
                  flush=True)
        url = f"duckdb:///{path}"
        os.environ["MODELWATCH_WAREHOUSE_URL"] = url
        clear_shadow_rows(url)
        first, _ = timed_step(cfg, 20, "bench_first")
        print(f"{size} rows/day: first run (window 20, catching up) {first:.2f} s", flush=True)
        steady = []
        for i in range(args.repeats):
            seconds, n_rows = timed_step(cfg, 21, f"bench_steady_{i}")
            steady.append(seconds)
            print(f"{size} rows/day: steady run {i + 1} (window 21) {seconds:.2f} s, {n_rows} rows",
                  flush=True)
        results.append({"rows_per_day": size, "first_s": first, "steady_s": steady,
                        "steady_median_s": statistics.median(steady),
                        "gate_day_21": gate_summary(url, 21), "seeded": seeded})

    print("\n| rows/day | first run (window 20, catch-up) | steady run (window 21), median "
          f"of {args.repeats} |\n|---|---|---|")
    for r in results:
        print(f"| {r['rows_per_day']:,} | {r['first_s']:.2f} s | {r['steady_median_s']:.2f} s "
              f"({', '.join(f'{s:.2f}' for s in r['steady_s'])}) |")
    suffix = f"-{args.label}" if args.label else ""
    out = ROOT / "benchmarks" / "results" / f"shadow-{date.today().isoformat()}{suffix}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"label": args.label, "results": results}, indent=2, default=str))
    print(f"\nraw numbers: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
