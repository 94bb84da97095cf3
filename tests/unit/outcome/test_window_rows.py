"""A window's rows from its aggregates (pure): coverage alerts, gating, maturity, fixed check set."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from modelwatch.config.outcome import OutcomeSettings
from modelwatch.outcome import window_rows
from modelwatch.outcome.cells import Cells
from modelwatch.outcome.estimation import Calibrator
from modelwatch.outcome.label_checks import freshness_row
from modelwatch.outcome.queries import LabelStats
from modelwatch.outcome.reference import OutcomeReference
from modelwatch.outcome.windows import EvalWindow

START = datetime(2026, 9, 10)


def window(as_of_days: float) -> EvalWindow:
    return EvalWindow(0, START, START + timedelta(days=1),
                      START + timedelta(days=1 + as_of_days), timedelta(days=10))


def cells(n: int, coverage: float, seed: int = 0) -> Cells:
    rng = np.random.default_rng(seed)
    scores = 1 / (1 + np.exp(-rng.normal(-2.0, 1.2, n)))
    y = (rng.random(n) < scores).astype(float)
    y[rng.random(n) >= coverage] = np.nan
    return Cells.from_scores(scores, y, OutcomeSettings())


@pytest.fixture(scope="module")
def reference() -> OutcomeReference:
    whole = cells(20_000, 0.95, seed=1)
    return OutcomeReference({
        "mature": True,
        "calibration": Calibrator.fit(whole).to_dict(),
        "slices": {"all": {"coverage": 0.95, "metrics": {"roc_auc": {"value": 0.75, "low": 0.74,
                                                                     "high": 0.76}},
                           "positive_rate": {"value": 0.15, "low": 0.145, "high": 0.155}},
                   "region=EU": {"coverage": 0.95}},
    })


def stats(c: Cells) -> LabelStats:
    return LabelStats(rows=c.n_rows, labelled=c.n_labelled, delay_p50_hours=100.0,
                      delay_p95_hours=200.0)


def by_key(rows):
    return {(r.check_name, r.slice): r for r in rows}


def test_mature_window_with_few_labels_alerts_on_coverage(demo_cfg, reference) -> None:
    c = cells(3000, 0.30)
    rows = by_key(window_rows(demo_cfg, window(12), {"all": c}, stats(c), reference, None))
    cov = rows[("label_coverage", "all")]
    assert cov.value == pytest.approx(c.coverage)
    assert cov.status == "alert" and cov.details["shortfall"] > 0.5
    assert cov.threshold == pytest.approx(0.95 * 0.5)


def test_immature_window_is_not_judged_and_has_no_realized_values(demo_cfg, reference) -> None:
    c = cells(3000, 0.30)
    rows = window_rows(demo_cfg, window(3), {"all": c}, stats(c), reference, None)
    keyed = by_key(rows)
    assert keyed[("label_coverage", "all")].status == "ok"
    assert keyed[("label_maturity", "all")].value == pytest.approx(0.3)
    assert keyed[("roc_auc", "all")].status == "skipped"
    assert "not mature" in keyed[("roc_auc", "all")].details["reason"]
    est = keyed[("estimated_roc_auc", "all")]
    assert est.value is not None and est.details["label_coverage"] == pytest.approx(c.coverage)
    assert est.details["mature"] is False


def test_every_row_carries_coverage_and_maturity(demo_cfg, reference) -> None:
    c = cells(3000, 0.95)
    rows = window_rows(demo_cfg, window(12), {"all": c}, stats(c), reference, None)
    for r in rows:
        assert "label_maturity" in r.details and "label_coverage" in r.details, r.check_name
        assert r.details["window_start"] == START.isoformat()


def test_small_slices_are_skipped_with_the_reason(demo_cfg, reference) -> None:
    big, small = cells(3000, 0.95), cells(300, 0.95, seed=2)  # slices.min_rows = 500
    rows = by_key(window_rows(demo_cfg, window(12), {"all": big, "region=EU": small},
                              stats(big), reference, None))
    gated = rows[("roc_auc", "region=EU")]
    assert gated.status == "skipped" and "slices.min_rows=500" in gated.details["reason"]
    assert rows[("estimated_accuracy", "region=EU")].status == "skipped"
    assert rows[("roc_auc", "all")].value is not None
    assert rows[("roc_auc", "all")].details["ci_low"] < rows[("roc_auc", "all")].value


def test_check_set_is_the_same_mature_or_not(demo_cfg, reference) -> None:
    """Replace-semantics work per (layer, check): a window must always write the same checks."""
    c = cells(3000, 0.95)
    early = {r.check_name for r in window_rows(demo_cfg, window(3), {"all": c}, stats(c),
                                               reference, [])}
    late = {r.check_name for r in window_rows(demo_cfg, window(12), {"all": c}, stats(c),
                                              reference, [])}
    assert early == late
    assert {"roc_auc", "estimated_roc_auc", "estimation_error_roc_auc", "label_positive_rate",
            "kpi", "label_duplicate_share"} <= late


def test_label_drift_alerts_on_a_positive_rate_jump(demo_cfg, reference) -> None:
    c = cells(3000, 0.95)  # positive rate about 0.16 vs a reference of 0.15: inside noise
    rows = by_key(window_rows(demo_cfg, window(12), {"all": c}, stats(c), reference, None))
    assert rows[("label_positive_rate", "all")].status == "ok"
    drifted = OutcomeReference({**reference.data, "slices": {
        "all": {**reference.data["slices"]["all"],
                "positive_rate": {"value": 0.05, "low": 0.049, "high": 0.051}}}})
    rows = by_key(window_rows(demo_cfg, window(12), {"all": c}, stats(c), drifted, None))
    assert rows[("label_positive_rate", "all")].status == "alert"


def test_freshness_of_a_stalled_pipeline(demo_cfg) -> None:
    as_of = datetime(2026, 9, 30)
    row = freshness_row(demo_cfg, as_of, as_of - timedelta(days=5), {})
    assert (row.value, row.status) == (120.0, "alert")
    assert freshness_row(demo_cfg, as_of, as_of - timedelta(hours=3), {}).status == "ok"
    assert freshness_row(demo_cfg, as_of, None, {}).status == "skipped"


def test_ranking_models_get_a_fixed_check_set_even_without_rows(demo_cfg, reference) -> None:
    cfg = demo_cfg.model_copy(update={"model": demo_cfg.model.model_copy(update={"task": "ranking"})})
    c = cells(3000, 0.95)
    rows = window_rows(cfg, window(12), {}, stats(c), reference, None)
    assert {r.check_name for r in rows} == {
        "label_coverage", "label_maturity", "label_delay_p50_hours", "label_delay_p95_hours",
        "label_duplicate_share", "ndcg_at_k", "map_at_k", "recall_at_k", "catalog_coverage_at_k"}
    ndcg = next(r for r in rows if r.check_name == "ndcg_at_k")
    assert ndcg.status == "skipped" and ndcg.details["reason"] == "no scored predictions in the window"


def test_regression_models_get_a_fixed_check_set_even_without_rows(demo_cfg, reference) -> None:
    cfg = demo_cfg.model_copy(update={"model": demo_cfg.model.model_copy(update={"task": "regression"})})
    c = cells(3000, 0.95)
    checks = {r.check_name for r in window_rows(cfg, window(12), {}, stats(c), reference, None)}
    assert checks == {"label_coverage", "label_maturity", "label_delay_p50_hours",
                      "label_delay_p95_hours", "label_duplicate_share", "label_mean", "mae", "rmse",
                      "mape", "bias"}


def test_a_lookback_shorter_than_the_label_delay_is_a_config_error(demo_cfg) -> None:
    from modelwatch.errors import ConfigError
    from modelwatch.outcome import run_outcome
    from modelwatch.runner import Window

    cfg = demo_cfg.model_copy(update={"outcome": OutcomeSettings(lookback_windows=7)})
    with pytest.raises(ConfigError, match="lookback_windows to at least 12"):
        run_outcome(None, cfg, Window(START, START + timedelta(days=1)), "r")
