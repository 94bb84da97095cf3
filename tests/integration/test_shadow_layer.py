"""The shadow layer end to end on the demo scenario: DuckDB (embedded) and PostgreSQL.

The demo's challenger (gradient boosting) scores all traffic in shadow; on this scenario it ranks
worse than the champion (it overfits the rare positives), so the gate must block it, for the AUC
reason, every day once labels have matured — while the comparison itself appears every day.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from modelwatch.demo import scenario
from modelwatch.runner import Window
from modelwatch.shadow import run_shadow, shadow_table
from modelwatch.shadow.rows import AGREEMENT_CHECKS, GATE_CHECKS, LABELLED_CHECKS
from modelwatch.warehouse.tables import create_output_tables, mw_metric

FIRST, LAST = 18, 30


@pytest.fixture(scope="module")
def data():
    return scenario.generate(rows_per_day=2000, days=30)


def seeded(url: str, data) -> sa.Engine:
    engine = sa.create_engine(url)
    create_output_tables(engine)
    scenario.seed_warehouse(engine, data)
    return engine


def window(d: int) -> Window:
    return Window(scenario.day_of(d), scenario.day_of(d) + timedelta(days=1))


def current(rows) -> dict:
    """Rows of the run's own window (the rest are past windows re-evaluated by the run)."""
    gate = next(r for r in rows if r.check_name == "promotion_gate")
    start = gate.details["window_start"]
    return {(r.check_name, r.slice): r for r in rows if r.details.get("window_start") in (None, start)}


def test_demo_comparison_every_day_and_gate_blocks_the_worse_challenger(duck_url, data, demo_cfg) -> None:
    engine = seeded(duck_url, data)
    for d in range(FIRST, LAST + 1):
        rows = run_shadow(engine, demo_cfg, window(d), f"demo_{d}")
        now = current(rows)
        for check in AGREEMENT_CHECKS + GATE_CHECKS + LABELLED_CHECKS:
            assert (check, "all") in now, (d, check)
        assert now[("shadow_coverage", "all")].value == 1.0
        assert now[("shadow_coverage", "all")].status == "ok"
        p99 = now[("latency_p99", "all")]
        assert p99.value > p99.details["champion"]  # the challenger is slower (by design)
        assert 0.2 < now[("score_spearman", "all")].value < 0.95
        assert now[("gate_min_labelled", "all")].status == "ok"
        gate = now[("promotion_gate", "all")]
        assert gate.value == 0 and "auc_gain" in gate.details["failing"], (d, gate.details)
        assert now[("gate_auc_gain", "all")].details["auc_diff"] < -0.02
    text = shadow_table(rows)
    assert "promotion gate: FAIL" in text and "re-evaluated with matured labels" in text

    with engine.connect() as conn:
        stored = conn.execute(sa.select(mw_metric.c.window_start, mw_metric.c.value, mw_metric.c.details)
                              .where(mw_metric.c.layer == "shadow",
                                     mw_metric.c.check_name == "labelled_pairs",
                                     mw_metric.c.slice == "all")).all()
    engine.dispose()
    mature = {}
    for start, value, details in stored:
        details = details if isinstance(details, dict) else json.loads(details)
        mature[start] = (details["mature"], value, details["paired"])
    # a 10-day label delay: windows 8..20 matured during runs 18..30 and were re-evaluated then
    for d in range(8, 21):
        done, labelled, paired = mature[scenario.day_of(d)]
        assert done is True and 0.9 < labelled / paired < 0.97, d  # 5 % of labels never arrive
    for d in range(FIRST, LAST - 9):
        assert mature[scenario.day_of(d)][0] is True
    assert mature[scenario.day_of(LAST)][0] is False


@pytest.mark.postgres
def test_postgres_gives_the_duckdb_numbers(pg_url, duck_url, data, demo_cfg) -> None:
    results = {}
    for name, url in (("pg", pg_url), ("duck", duck_url)):
        engine = seeded(url, data)
        assert engine.dialect.name == ("postgresql" if name == "pg" else "duckdb")
        results[name] = current(run_shadow(engine, demo_cfg, window(26), f"{name}_26"))
        engine.dispose()
    pg, duck = results["pg"], results["duck"]
    assert pg.keys() == duck.keys()
    for key, row in duck.items():
        other = pg[key]
        assert other.status == row.status, key
        if row.value is None:
            assert other.value is None, key
        else:
            assert other.value == pytest.approx(row.value, rel=1e-9, abs=1e-12), key
    gate = ("promotion_gate", "all")
    assert pg[gate].details["reason"] == duck[gate].details["reason"]
