"""The UI's page handlers against a seeded warehouse, on DuckDB and on PostgreSQL.

The seeded days 15–24 carry the demo's covariate shift from day 20 (real drift checks), a silent
defaulting finding on day 22, a rollback on day 23, and hand-written outcome/shadow rows.
"""

from __future__ import annotations

import re

import pytest

from modelwatch.demo import scenario
from modelwatch.ui import handlers
from tests.ui_seed import (
    DEFAULTED_DAY,
    DEFAULTED_FEATURE,
    FIRST_DAY,
    LAST_DAY,
    ROLLBACK_DAY,
    seed_ui_warehouse,
)

ROOT = "/modelwatch"
DAG = "monitor_fraud_demo"


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def seeded(request, tmp_path, monkeypatch):
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    else:
        url = request.getfixturevalue("pg_url")
        import sqlalchemy as sa

        from modelwatch.warehouse.engine import engine_for_url

        engine = engine_for_url(url)
        with engine.begin() as conn:  # the module-scoped database is shared by both tests
            for (name,) in conn.execute(sa.text(
                    "select tablename from pg_tables where schemaname = 'public'")).all():
                conn.execute(sa.text(f'DROP TABLE "{name}" CASCADE'))
    monkeypatch.setenv("MODELWATCH_HOME", str(tmp_path / "home"))
    return seed_ui_warehouse(url, tmp_path, monkeypatch)


def cells(html: str) -> list[dict]:
    return [dict(zip(("feature", "window", "status"), m, strict=True)) for m in re.findall(
        r'<rect class="cell"[^>]*data-feature="([^"]+)" data-window="([^"]+)" data-status="([^"]+)"',
        html)]


def test_pages_show_the_shift_the_defaulting_and_the_decisions(seeded) -> None:
    page = handlers.model_tab(ROOT, DAG, directory=seeded.monitors_dir)
    assert page.status == 200
    grid = cells(page.html)
    days = LAST_DAY - FIRST_DAY + 1
    features = {c["feature"] for c in grid}
    assert len(grid) == len(features) * days
    alerted = {(c["feature"], c["window"][:10]) for c in grid if c["status"] == "alert"}
    day20 = f"{scenario.day_of(20):%Y-%m-%d}"
    assert {f for f, d in alerted if d == day20} == set(scenario.SHIFTED_FEATURES)
    before = {f"{scenario.day_of(d):%Y-%m-%d}" for d in range(FIRST_DAY, 20)}
    assert not any(d in before for _, d in alerted)
    marks = re.findall(r'<circle class="mark"[^>]*data-mark="([^"]+)"', page.html)
    assert marks == ["silent_default_share"]
    assert f'data-feature="{DEFAULTED_FEATURE}" data-window="{scenario.day_of(DEFAULTED_DAY).isoformat()}"' \
        in page.html
    assert 'class="event registry" fill="#1565c0" data-kind="registry" data-label="rollback' in page.html
    assert 'data-series="realized ROC AUC"' in page.html and 'data-series="estimated ROC AUC"' in page.html
    assert page.html.count('class="band"') >= 2  # intervals drawn for realized and estimated

    from modelwatch.config import load_monitor
    from modelwatch.ui import queries
    from modelwatch.ui.sources import read_engine

    cfg = load_monitor(seeded.monitors_dir / "fraud_demo.yaml")
    with read_engine(cfg).connect() as conn:
        placed = {e.label: e.at for e in queries.timeline(conn, "fraud_demo") if e.kind == "registry"}
    assert placed["rollback v1"] == seeded.windows[ROLLBACK_DAY]  # at its window, not wall clock
    assert placed["register v1.1"] == seeded.windows[ROLLBACK_DAY - 1]

    ks = handlers.model_tab(ROOT, DAG, check="ks", directory=seeded.monitors_dir)
    assert ks.status == 200 and cells(ks.html) and cells(ks.html) != grid

    overview = handlers.overview(ROOT, directory=seeded.monitors_dir)
    assert overview.status == 200
    assert f'href="{ROOT}/dags/{DAG}"' in overview.html
    assert "v1" in overview.html and "v2-challenger" in overview.html
    assert "config error" in overview.html  # broken.yaml is listed with its error, not hidden
    assert re.search(r'class="badge (page|notify)">(page|notify) \d+', overview.html)

    rid = seeded.run_ids[ROLLBACK_DAY]
    run = handlers.run_tab(ROOT, DAG, rid, directory=seeded.monitors_dir)
    assert run.status == 200
    assert "id='decision'" in run.html
    rows = re.findall(r'<tr class="check status-row-(\w+)"', run.html)
    assert rows and rows[0] == "alert"  # sorted: alerts first
    assert f'href="{ROOT}/dags/{DAG}/runs/' in run.html and "/report" in run.html

    report = handlers.report(DAG, rid, directory=seeded.monitors_dir)
    assert report.status == 200 and report.file is not None
    text = report.file.read_text()
    assert "<script src" not in text and "http" not in text.split("links:")[0]
    assert report.file.stat().st_size < 300_000
    assert 'class="cell"' in text and "Flagged features" in text

    hist = handlers.histogram(DAG, scenario.SHIFTED_FEATURES[0], seeded.windows[20].isoformat(),
                              directory=seeded.monitors_dir)
    assert hist.status == 200 and hist.html.count('class="bar reference"') >= 5
    shares = [float(s) for s in re.findall(r'current (\d+\.\d)%', hist.html)]
    assert abs(sum(shares) - 100) < 2

    assert handlers.run_tab(ROOT, DAG, "no_such_run", directory=seeded.monitors_dir).status == 404
    assert handlers.model_tab(ROOT, "retrain_fraud_demo", directory=seeded.monitors_dir).status == 404
    assert handlers.histogram(DAG, "not_a_column; drop table x", seeded.windows[20].isoformat(),
                              directory=seeded.monitors_dir).status == 404
    assert handlers.artifact(DAG, "../../etc/passwd", directory=seeded.monitors_dir).status == 404
