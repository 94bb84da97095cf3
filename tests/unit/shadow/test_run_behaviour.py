"""run_shadow as a task: reruns, backfills, gaps in the shadow log, missing tables, the canary."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from modelwatch.alerts import alerts_from_metrics
from modelwatch.errors import ContractError
from modelwatch.runner import Window
from modelwatch.shadow import run_shadow, shadow_table
from modelwatch.warehouse.tables import mw_metric
from tests.unit.shadow.helpers import by_key, day, make_cfg, seed, synth

QUALITY = {"A": (1.0, 1.4), "B": (1.0, 1.4), "C": (1.0, 1.4)}


def window(d: int) -> Window:
    return Window(day(d), day(d + 1))


def stored(engine, d: int | None = None) -> list[tuple]:
    """mw_metric rows of the shadow layer without the bookkeeping columns."""
    query = sa.select(mw_metric).where(mw_metric.c.layer == "shadow")
    if d is not None:
        query = query.where(mw_metric.c.window_start == day(d))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    out = []
    for r in rows:
        details = r["details"] if isinstance(r["details"], dict) else json.loads(r["details"])
        out.append((r["window_start"], r["check_name"], r["slice"], r["value"], r["threshold"],
                    r["status"], json.dumps(details, sort_keys=True), r["model_version"]))
    return sorted(out, key=repr)


@pytest.fixture
def engine(duck_url):
    frames = synth(days=9, rows_per_day=800, quality=QUALITY, label_delay_days=(0.5, 2.5), seed=3)
    engine = seed(duck_url, frames)
    yield engine
    engine.dispose()


def close(x, y) -> bool:
    if x is None or y is None:
        return x is y
    return x == pytest.approx(y, rel=1e-9, abs=1e-12)


def same(left: list, right: list) -> None:
    """Equal up to the last bits of floating-point sums (DuckDB aggregates in parallel, so the
    summation order, and the 16th digit, can change between runs)."""
    assert len(left) == len(right)
    for a, b in zip(left, right, strict=True):
        assert (a.check_name, a.slice, a.status) == (b.check_name, b.slice, b.status)
        assert close(a.value, b.value), a
        assert a.threshold == b.threshold
        assert a.details.keys() == b.details.keys()
        for key, value in a.details.items():
            if isinstance(value, float):
                assert close(value, b.details[key]), (a, key)
            elif not isinstance(value, list):
                assert value == b.details[key], (a, key)


def test_rerun_writes_the_same_rows(engine) -> None:
    cfg = make_cfg(delay="2d", shadow={"bootstrap_resamples": 200})
    first = run_shadow(engine, cfg, window(5), "a")
    before = stored(engine)
    again = run_shadow(engine, cfg, window(5), "b")
    same(again, first)
    after = stored(engine)
    assert [r[:3] + r[5:6] for r in after] == [r[:3] + r[5:6] for r in before]  # same keys, statuses
    assert all(close(x[3], y[3]) for x, y in zip(after, before, strict=True))
    # windows 1-3 were mature by the end of window 5 (2-day delay) and evaluated once, as of it
    assert {r[0] for r in before} == {day(1), day(2), day(3), day(5)}


def test_backfill_never_rolls_matured_labels_back(engine) -> None:
    cfg = make_cfg(delay="2d", shadow={"bootstrap_resamples": 200})
    run_shadow(engine, cfg, window(2), "d2")
    run_shadow(engine, cfg, window(4), "d4")  # day 2 matures at day 5 00:00 = end of window 4
    matured = stored(engine, 2)
    pairs = next(r for r in matured if r[1] == "labelled_pairs")
    assert json.loads(pairs[6])["mature"] is True
    rerun = run_shadow(engine, cfg, window(2), "d2-again")  # a backfill of the old window
    assert "labelled_pairs" not in {r.check_name for r in rerun}
    assert "shadow_coverage" in {r.check_name for r in rerun}
    assert [r for r in stored(engine, 2) if r[1] == "labelled_pairs"] == [pairs]


def test_shadow_log_with_gaps_alerts_on_coverage_without_crashing(duck_url) -> None:
    frames = synth(days=4, rows_per_day=900, quality=QUALITY, shadow_missing={"A": 0.1, "C": 1.0}, seed=4)
    s = frames.shadow_predictions  # and nothing at all logged on day 3
    frames.shadow_predictions = s[(s.event_ts < day(3)) | (s.event_ts >= day(4))]
    engine = seed(duck_url, frames)
    cfg = make_cfg(min_rows=100)
    gaps = by_key(run_shadow(engine, cfg, window(2), "gaps"))
    empty = by_key(run_shadow(engine, cfg, window(3), "empty"))
    nothing = by_key(run_shadow(engine, cfg, window(30), "no-traffic"))
    engine.dispose()

    cov = gaps[("shadow_coverage", "all")]
    assert cov.status == "alert" and 0.55 < cov.value < 0.7
    assert gaps[("shadow_coverage", "region=C")].value == 0.0
    assert gaps[("shadow_coverage", "region=C")].status == "alert"
    assert gaps[("shadow_coverage", "region=B")].status == "ok"
    assert gaps[("decision_agreement", "region=C")].status == "skipped"
    assert gaps[("decision_agreement", "all")].status == "ok"
    assert gaps[("gate_coverage", "all")].status == "warn"

    assert empty[("shadow_coverage", "all")].value == 0.0
    assert empty[("shadow_coverage", "all")].status == "alert"
    for check in ("decision_agreement", "score_pearson", "score_spearman", "challenger_score_psi",
                  "latency_p99"):
        assert empty[(check, "all")].status == "skipped", check
    assert empty[("promotion_gate", "all")].value == 0

    assert nothing[("shadow_coverage", "all")].status == "skipped"
    assert nothing[("promotion_gate", "all")].value == 0
    for rows in (gaps, empty, nothing):  # the alert step formats value and threshold of each
        alerts = alerts_from_metrics(cfg, [r.__dict__ for r in rows.values()], day(1), day(2))
        assert alerts
        assert shadow_table(list(rows.values()))


def test_missing_table_is_a_terminal_error_and_disabled_does_nothing(duck_url) -> None:
    frames = synth(days=1, rows_per_day=50, quality=QUALITY)
    engine = seed(duck_url, frames)
    with pytest.raises(ContractError, match="tables.shadow_predictions = 'shadow_log'"):
        run_shadow(engine, make_cfg().model_copy(update={
            "tables": make_cfg().tables.model_copy(update={"shadow_predictions": "shadow_log"})}),
            window(1), "x")
    assert run_shadow(engine, make_cfg(shadow={"enabled": False}), window(1), "x") == []
    assert stored(engine) == []
    engine.dispose()


def test_canary_against_control(duck_url) -> None:
    frames = synth(days=5, rows_per_day=3000, quality={"A": (1.2, 1.2)}, label_delay_days=(0.2, 0.9), seed=8)
    p = frames.predictions
    rng = np.random.default_rng(0)
    canary = rng.random(len(p)) < 0.25
    p.loc[canary, "model_version"] = "v1-canary"
    # the canary scores worse (noise added) and slower
    p.loc[canary, "score"] = np.clip(p.loc[canary, "score"] + rng.normal(0, 0.3, canary.sum()), 0, 1)
    p.loc[canary, "latency_ms"] = p.loc[canary, "latency_ms"] * 2
    engine = seed(duck_url, frames)
    cfg = make_cfg(min_rows=100, delay="1d", shadow={"canary_version": "v1-canary",
                                                     "bootstrap_resamples": 200})
    rows = run_shadow(engine, cfg, window(3), "canary")
    engine.dispose()
    now = by_key([r for r in rows if r.details.get("window_start") in (None, day(3).isoformat())])
    assert now[("canary_traffic_share", "all")].value == pytest.approx(0.25, abs=0.02)
    p99 = now[("canary_latency_p99", "all")]
    assert p99.value > 1.5 * p99.details["champion"]
    assert now[("canary_score_psi", "all")].value > 0.05
    # the shadow comparison excludes the canary's requests
    assert now[("shadow_coverage", "all")].details["requests"] == pytest.approx(0.75 * 3000, rel=0.05)
    matured = by_key([r for r in rows if r.details.get("window_start") == day(2).isoformat()])
    diff = matured[("canary_auc_diff", "all")]
    assert diff.value < 0 and diff.details["ci_high"] < 0
    assert pd.notna(matured[("canary_log_loss_diff", "all")].value)


def test_regression_model_gets_agreement_but_no_label_based_verdict(duck_url) -> None:
    frames = synth(days=4, rows_per_day=400, quality=QUALITY, label_delay_days=(0.1, 0.5), seed=9)
    frames.labels["label"] = frames.labels["label"] * 3.5 + 0.25  # real-valued targets
    engine = seed(duck_url, frames)
    cfg = make_cfg(delay="1d", task="regression")
    rows = by_key(run_shadow(engine, cfg, window(3), "reg"))
    engine.dispose()
    assert rows[("score_pearson", "all")].status == "ok"
    assert rows[("labelled_pairs", "all")].value > 0
    assert "binary models only" in rows[("auc_diff", "all")].details["reason"]
    gate = rows[("promotion_gate", "all")]
    assert gate.value == 0 and "auc_gain" in gate.details["failing"]
