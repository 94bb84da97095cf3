"""Decisions on matured-label findings: a realized drop found under an older window's keys."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from modelwatch.decisions.engine import Signal, _load_history, evaluate
from modelwatch.metrics import MetricRow
from modelwatch.warehouse.engine import engine_for_url
from modelwatch.warehouse.tables import create_output_tables
from modelwatch.warehouse.writer import replace_metrics

DAY = timedelta(days=1)
D0 = datetime(2026, 9, 20)


def realized(slice_: str = "all", status: str = "alert", share: float | None = 1.0,
             check: str = "roc_auc") -> Signal:
    """The demo's headline realized metric of window D0-10d, as the run of D0 found it."""
    return Signal("outcome", check, None, slice_, status, None, matured=D0 - 10 * DAY,
                  share=share)


@pytest.fixture
def cfg(demo_cfg):
    return demo_cfg


def test_a_sustained_realized_drop_of_the_whole_population_retrains(cfg) -> None:
    one = evaluate(cfg, {D0: [realized()]}, [], D0, DAY)
    assert one.action == "alert_only"  # one matured window: told, not yet retrained
    assert one.signals["matured labels"] == ["roc_auc on all (window 2026-09-10)"]
    two = evaluate(cfg, {D0 - DAY: [realized()], D0: [realized()]}, [], D0, DAY)
    assert (two.action, two.rule) == ("retrain", "retrain_on_realized_drop")
    assert two.signals["outcome.realized_drop>=alert"] == ["all"]
    vetoed = [realized(), Signal("data", "silent_default_share", "amount", "all", "alert", "v1")]
    assert evaluate(cfg, {D0 - DAY: vetoed, D0: vetoed}, [], D0, DAY).action == "alert_only"


def test_a_large_slice_retrains_and_a_small_one_alerts_its_owner_with_the_slice(cfg) -> None:
    large = [realized("region=NA", share=0.4)]
    decision = evaluate(cfg, {D0 - DAY: large, D0: large}, [], D0, DAY)
    assert decision.action == "retrain"
    assert decision.signals["outcome.realized_drop>=alert"] == ["region=NA (40% of rows)"]
    small = [realized("region=LATAM", share=0.05)]
    decision = evaluate(cfg, {D0 - DAY: small, D0: small}, [], D0, DAY)
    assert decision.action == "alert_only"
    assert decision.signals["matured labels"] == ["roc_auc on region=LATAM (window 2026-09-10)"]
    # a warn, or a metric that is not the headline one, retrains nothing
    for weak in ([realized(status="warn")], [realized(check="pr_auc")]):
        assert evaluate(cfg, {D0 - DAY: weak, D0: weak}, [], D0, DAY).rule is None


def test_history_gives_each_run_the_label_findings_of_the_window_it_matured(cfg, duck_url):
    engine = engine_for_url(duck_url)
    create_output_tables(engine)

    def write(day: datetime, version: str, rows: list[MetricRow]) -> None:
        with engine.begin() as conn:
            replace_metrics(conn, run_id="r", model_name=cfg.model.name, model_version=version,
                            window_start=day, window_end=day + DAY, rows=rows)

    auc = [MetricRow("outcome", "roc_auc", None, 0.53, 0.74, "alert", {"rows": 1000}),
           MetricRow("outcome", "roc_auc", None, 0.5, 0.74, "alert", {"rows": 300},
                     "region=NA"),
           MetricRow("outcome", "estimated_roc_auc", None, 0.8, 0.74, "ok", {})]
    for back in (10, 11):  # the windows the runs of D0 and D0 - 1 matured, served by v1
        write(D0 - back * DAY, "v1", auc)
    for day in (D0 - DAY, D0):  # the runs' own windows, served by v2
        write(day, "v2", [MetricRow("data", "psi", "amount", 0.01, 0.25, "ok", {})])
    with engine.connect() as conn:
        history = _load_history(conn, cfg, D0)
    found = [s for s in history[D0] if s.matured]
    assert {(s.check_name, s.slice, s.matured) for s in found} == {
        ("roc_auc", "all", D0 - 10 * DAY), ("roc_auc", "region=NA", D0 - 10 * DAY)}
    assert {s.share for s in found} == {1.0, 0.3}
    # an older window's served version is not this window's (no fake version_changed)
    assert all(s.model_version is None for s in found)
    assert [s.matured for s in history[D0 - DAY] if s.matured] == [D0 - 11 * DAY] * 2
    decision = evaluate(cfg, history, [], D0, DAY)
    assert (decision.action, decision.rule) == ("retrain", "retrain_on_realized_drop")
    engine.dispose()
