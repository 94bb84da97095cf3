"""How long the Monitoring tab takes to build for 90 windows × 50 features (target: < 1 s).

    .venv/bin/python benchmarks/ui_render.py [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Seeds a warehouse with what 90 daily runs of a 50-feature model store (4 drift methods × 6
slices per feature and window, outcome, shadow, decisions, alerts: ~110k ``mw_metric`` rows), then
times the model tab, the run tab and the overview as the plugin builds them (queries + HTML),
median of 5 after one warm-up, on the embedded DuckDB and on PostgreSQL. The browser's own
rendering of the page is not included (the page is static SVG; the browser test shows it).
Prints a Markdown table; docs/benchmarks.md holds the recorded results.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa
import yaml

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "plugins"))

WINDOWS, FEATURES, METHODS = 90, 50, ("psi", "ks", "jensen_shannon", "wasserstein")
SLICES = ("all", "region=EU", "region=US", "region=APAC", "customer_tier=gold", "customer_tier=std")


def write_monitor(folder: Path) -> Path:
    raw = yaml.safe_load((PROJECT / "include/monitors/fraud_demo.yaml").read_text())
    raw["model"]["name"] = "bench_ui"
    raw["features"] = [{"name": f"f{i:02d}", "kind": "numeric", "importance": 0.5}
                       for i in range(FEATURES)]
    path = folder / "bench_ui.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def seed(url: str) -> str:
    from modelwatch.metrics import MetricRow
    from modelwatch.warehouse.engine import engine_for_url
    from modelwatch.warehouse.tables import create_output_tables, mw_alert, mw_decision
    from modelwatch.warehouse.writer import replace_metrics

    engine = engine_for_url(url)
    create_output_tables(engine)
    rng = np.random.default_rng(1)
    start = datetime(2026, 1, 1)
    last_run = ""
    with engine.begin() as conn:
        for w in range(WINDOWS):
            ws = start + timedelta(days=w)
            rows = [MetricRow("data", m, f"f{i:02d}", float(rng.gamma(2, 0.02) + (0.3 if w > 60 and i < 5
                                                                                  else 0)),
                              0.25, "ok", {"method": m}, s)
                    for m in METHODS for i in range(FEATURES) for s in SLICES]
            rows += [MetricRow("outcome", "roc_auc", None, 0.8, 0.75, "ok",
                               {"ci_low": 0.77, "ci_high": 0.83}),
                     MetricRow("outcome", "label_coverage", None, 0.9, None, "ok"),
                     MetricRow("shadow", "decision_agreement", None, 0.95, 0.9, "ok")]
            last_run = f"scheduled__{ws:%Y-%m-%d}"
            replace_metrics(conn, run_id=last_run, model_name="bench_ui", model_version="v1",
                            window_start=ws, window_end=ws + timedelta(days=1), rows=rows)
            conn.execute(sa.insert(mw_decision).values(
                run_id=last_run, model_name="bench_ui", window_start=ws,
                window_end=ws + timedelta(days=1), decision="healthy", rule=None, signals={},
                decided_at=ws))
            conn.execute(sa.insert(mw_alert).values(
                alert_id=uuid.uuid4().hex, fingerprint=uuid.uuid4().hex, model_name="bench_ui",
                severity="notify", layer="data", title="feature drift: f00", summary="",
                owner="data-eng", channel="#x", window_start=ws, window_end=ws + timedelta(days=1),
                status="resolved", first_seen=ws, last_seen=ws, delivery_attempts=0))
    engine.dispose()
    return last_run


def timed(fn, repeats: int = 5) -> tuple[float, int]:
    fn()
    times, size = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        assert result.status == 200, result.html[:500]
        size = len(result.html)
    return statistics.median(times), size


def browser_render_seconds(html: str, repeats: int = 5) -> float | None:
    """Time for Debian's chromium to parse and lay out the page (``set_content`` to ``load``)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not Path("/usr/bin/chromium").exists():
        return None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        times = []
        for _ in range(repeats + 1):
            t0 = time.perf_counter()
            page.set_content(html, wait_until="load")
            page.evaluate("document.querySelectorAll('rect.cell').length")
            times.append(time.perf_counter() - t0)
        browser.close()
    return statistics.median(times[1:])


def measure(url: str, monitors: Path) -> list[tuple[str, float, int]]:
    from modelwatch.ui import handlers

    os.environ["MODELWATCH_WAREHOUSE_URL"] = url
    run_id = seed(url)
    return [
        ("model tab (90 × 50, psi)", *timed(lambda: handlers.model_tab("/modelwatch", "monitor_bench_ui",
                                                                       directory=monitors))),
        ("run tab (1,200 checks)", *timed(lambda: handlers.run_tab("/modelwatch", "monitor_bench_ui",
                                                                   run_id, directory=monitors))),
        ("overview", *timed(lambda: handlers.overview("/modelwatch", directory=monitors))),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg-url", default=os.environ.get(
        "MODELWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "monitors"
        folder.mkdir()
        write_monitor(folder)
        results = {"DuckDB (embedded)": measure(f"duckdb:///{tmp}/ui.duckdb", folder)}
        admin = sa.create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        name = f"mw_bench_ui_{os.getpid()}"
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except sa.exc.OperationalError as exc:
            print(f"(PostgreSQL skipped: {exc.orig})", file=sys.stderr)
        else:
            pg = sa.engine.make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
            try:
                results["PostgreSQL"] = measure(pg, folder)
            finally:
                from modelwatch.warehouse.engine import engine_for_url

                engine_for_url(pg).dispose()
                from modelwatch.ui.sources import _server_engine

                _server_engine(pg).dispose()
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        from modelwatch.ui import handlers

        os.environ["MODELWATCH_WAREHOUSE_URL"] = f"duckdb:///{tmp}/ui.duckdb"
        page = handlers.model_tab("/modelwatch", "monitor_bench_ui", directory=folder).html
        browser = browser_render_seconds(page)
    print("| warehouse | page | median build time | HTML size |")
    print("|---|---|---|---|")
    for warehouse, rows in results.items():
        for page, seconds, size in rows:
            print(f"| {warehouse} | {page} | {seconds * 1000:.0f} ms | {size / 1024:.0f} kB |")
    if browser is not None:
        print(f"\nChromium parse + layout of the model tab (90 × 50): {browser * 1000:.0f} ms (median of 5)")


if __name__ == "__main__":
    main()
